// The run boots its own copy of the user's kernel, so a rebuild during the run changes no VM
// of it (src/cli/machines.ts pinBootKernel).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunConfig } from '../../src/config/runConfig.js';
import { pinBootKernel, pinnedKernelPath, type DirectArtifacts } from '../../src/cli/machines.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-pin-'));
  dirs.push(d);
  return d;
}
const image: DirectArtifacts = { kernel: '/c/kt/images/h/vmlinuz', boot: { path: '/c/kt/images/h/vmlinux', entry: 'pvh' }, initramfs: 'i', rootImage: 'r', fstestsImage: 'f' };

describe('the kernel a run boots', () => {
  it("is kt's image kernel in place: an image directory never changes", () => {
    expect(pinnedKernelPath({} as RunConfig, image, '/tmp/kt-x')).toBeUndefined();
    expect(pinBootKernel({} as RunConfig, image, '/tmp/kt-x', () => {})).toBe(image);
  });

  it("is a copy of the user's, made at the start: a rebuild afterwards changes nothing the run boots", () => {
    const tree = tmp();
    const run = tmp();
    const elf = path.join(tree, 'vmlinux.bin');
    fs.writeFileSync(elf, 'build 1');
    const config = { kernel: path.join(tree, 'bzImage') } as RunConfig;
    const direct = pinBootKernel(config, { ...image, boot: { path: elf, entry: 'pvh' } }, run, () => {})!;
    expect(direct.boot).toEqual({ path: path.join(run, 'kernel', 'vmlinux.bin'), entry: 'pvh' });
    fs.writeFileSync(elf, 'build 2');
    expect(fs.readFileSync(direct.boot!.path, 'utf8')).toBe('build 1');
  });

  it('is the file in place, with a warning, when it cannot be copied', () => {
    const run = tmp();
    const config = { kernel: path.join(run, 'gone', 'bzImage') } as RunConfig;
    const said: string[] = [];
    const direct = { ...image, boot: { path: config.kernel!, entry: 'bzImage' as const } };
    expect(pinBootKernel(config, direct, run, (l) => said.push(l))).toBe(direct);
    expect(said).toEqual([`could not copy ${config.kernel} into the run (ENOENT): VMs boot it in place, so do not rebuild during the run`]);
  });
});
