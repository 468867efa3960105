// docs/kernel.md explains every option kt asks for: a new requirement without a word there fails.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { requirementsFor, type KconfigContext } from '../../src/kconfig/requirements.js';

const doc = fs.readFileSync(new URL('../../docs/kernel.md', import.meta.url), 'utf8');

const base: KconfigContext = {
  backend: 'direct',
  rootfs: 'image',
  transport: 'virtio-serial',
  suite: { name: 'all', sections: ['xfs', 'ext4', 'btrfs', 'ext2'].map((fstyp) => ({ name: fstyp, fstyp, mkfsOptions: '-O quota,encrypt,verity,casefold', mountOptions: '-o usrquota,dax', env: { SCRATCH_RTDEV: '/dev/vdz', USE_KMEMLEAK: 'yes' } })) },
  modulesStaged: true,
  extraModules: true,
};

describe('docs/kernel.md', () => {
  it('names every option of every context', () => {
    const contexts: KconfigContext[] = [base, { ...base, backend: 'nixos' }, { ...base, rootfs: 'virtiofs' }, { ...base, transport: 'tcp' }];
    const symbols = new Set(contexts.flatMap((c) => requirementsFor(c).flatMap((r) => [r.symbol, ...r.anyOf ?? [], ...r.dependsOn.map((d) => d.split('=')[0]!)])));
    const missing = [...symbols].filter((s) => !new RegExp(`\\b${s}\\b`).test(doc));
    expect(missing).toEqual([]);
  });
});
