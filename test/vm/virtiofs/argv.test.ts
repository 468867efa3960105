import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderKernelCmdline, renderQemuArgs } from '../../../src/vm/qemuArgs.js';
import { resolveVmSpec, type VmOptions } from '../../../src/vm/spec.js';
import { fuseOptValue, renderUsernsDaemonArgs, renderVirtiofsdArgs } from '../../../src/vm/virtiofs/argv.js';
import { nsenterArgs } from '../../../src/vm/image/toolRunner.js';
import type { VirtiofsDaemon } from '../../../src/vm/virtiofs/daemon.js';
import { baseVmOptions } from '../vmOptions.js';

const qemuDaemon: VirtiofsDaemon = { path: '/usr/lib/qemu/virtiofsd', flavour: 'qemu', version: '7.2.22' };
const rustDaemon: VirtiofsDaemon = { path: '/usr/libexec/virtiofsd', flavour: 'rust', version: '1.13.2' };

const base: VmOptions = {
  ...baseVmOptions,
  fstestsImage: '',
  virtiofs: {
    daemon: qemuDaemon,
    rootTree: '/cache/kt/rootfs/h',
    fstestsDir: '/home/me/xfstests-dev',
    shares: [
      { tag: 'data', path: '/srv/data', readOnly: true },
      { tag: 'out', path: '/home/me/out', readOnly: false },
    ],
  },
};

/** Golden argv files: one argument per line; KT_UPDATE_GOLDEN=1 rewrites them. */
function expectGolden(name: string, argv: string[]): void {
  const file = new URL(`../golden/${name}.argv`, import.meta.url);
  const text = argv.join('\n') + '\n';
  if (process.env.KT_UPDATE_GOLDEN) fs.writeFileSync(file, text);
  expect(text).toBe(fs.readFileSync(file, 'utf8'));
}

describe('--rootfs virtiofs: QEMU', () => {
  it('boots without root and fstests disks, with shared memory and one vhost-user-fs device per share', () => {
    const spec = resolveVmSpec(base);
    expect(spec.disks.map((d) => d.serial)).toEqual(['test', 'scratch']);
    expectGolden('direct-tcg-virtiofs', renderQemuArgs(spec));
  });

  it('tells guest/init which tag is root, which is fstests and how to mount each share', () => {
    expect(renderKernelCmdline(resolveVmSpec(base))).toBe(
      'console=ttyS0,115200 rdinit=/init panic=-1 oops=panic nmi_watchdog=0 loglevel=5 random.trust_cpu=on cryptomgr.notests ' +
        'kt.hostname=kt-20261122-010203-ab12-vm1 kt.sshkey=AAAAC3NzaC1lZDI1NTE5AAAAIKtKeyBlob ' +
        'kt.root=virtiofs:kt-root kt.fstests=virtiofs:kt-fstests kt.share=data:ro kt.share=out:rw',
    );
  });

  it('doubles the commas of socket paths in -chardev values', () => {
    const argv = renderQemuArgs(resolveVmSpec({ ...base, baseDir: '/tmp/kt,x' }));
    const chardevs = argv.filter((_, i) => argv[i - 1] === '-chardev' && argv[i]!.includes('vfs'));
    expect(chardevs).toEqual([
      'socket,id=vfs0,path=/tmp/kt,,x/vm1/virtiofs-kt-root.sock',
      'socket,id=vfs1,path=/tmp/kt,,x/vm1/virtiofs-kt-fstests.sock',
      'socket,id=vfs2,path=/tmp/kt,,x/vm1/virtiofs-data.sock',
      'socket,id=vfs3,path=/tmp/kt,,x/vm1/virtiofs-out.sock',
    ]);
  });

  it('keeps the image boot as it was when virtiofs is not asked for', () => {
    const { virtiofs: _unused, ...image } = base;
    const argv = renderQemuArgs(resolveVmSpec({ ...image, fstestsImage: '/cache/kt/fstests/f.img' }));
    expect(argv.join(' ')).not.toMatch(/memory-backend|vhost-user|virtiofs/);
    expect(argv[argv.indexOf('-machine') + 1]).toBe('q35');
  });
});

describe('virtiofsd command lines', () => {
  const shares = resolveVmSpec(base).virtiofs!.shares;

  it("QEMU's C daemon: -o options, cache=always for the root tree, auto for the user's trees", () => {
    expectGolden('virtiofsd-qemu-shares', shares.flatMap((s) => [...renderVirtiofsdArgs(qemuDaemon, s), '--']));
  });

  it('the Rust daemon: long options, --readonly for read-only shares', () => {
    expectGolden('virtiofsd-rust-shares', shares.flatMap((s) => [...renderVirtiofsdArgs(rustDaemon, s), '--']));
  });

  it('without root: the daemon as root of the user namespace, in a mount namespace with its own /run', () => {
    const tools = { nsenter: '/usr/bin/nsenter', unshare: '/usr/bin/unshare' };
    const argv = renderUsernsDaemonArgs(renderVirtiofsdArgs(qemuDaemon, shares[0]!), tools, 4242);
    expectGolden('virtiofsd-qemu-userns', argv);
    // The same nsenter options the rootless image build uses (src/vm/image/toolRunner.ts).
    expect(argv.slice(1, 5)).toEqual(nsenterArgs(4242));
  });

  it("escapes commas and backslashes in QEMU's -o source= (fuse_opt), and leaves the Rust daemon's argument as it is", () => {
    expect(fuseOptValue('/home/a,b/x\\y')).toBe('/home/a\\,b/x\\\\y');
    const share = { ...shares[2]!, source: '/home/a,b/data' };
    expect(renderVirtiofsdArgs(qemuDaemon, share)).toContain('source=/home/a\\,b/data');
    expect(renderVirtiofsdArgs(rustDaemon, share)).toContain('--shared-dir=/home/a,b/data');
  });
});
