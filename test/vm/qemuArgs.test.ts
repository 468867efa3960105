import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderKernelCmdline, renderQemuArgs } from '../../src/vm/qemuArgs.js';
import { guestModulesFor, resolveVmSpec, type VmOptions } from '../../src/vm/spec.js';
import { baseVmOptions } from './vmOptions.js';

const base: VmOptions = baseVmOptions;

/** A user whose home and TMPDIR have commas in their names. */
const commaOptions: VmOptions = {
  ...base,
  kernel: '/home/a,b/.cache/kt/images/h/vmlinuz',
  initramfs: '/home/a,b/.cache/kt/images/h/initramfs.cpio.gz',
  rootImage: '/home/a,b/.cache/kt/images/h/root.img',
  fstestsImage: '/home/a,b/.cache/kt/fstests/f.img',
  baseDir: '/tmp/kt,x',
};

/** Golden argv files: one argument per line; KT_UPDATE_GOLDEN=1 rewrites them. */
function expectGolden(name: string, argv: string[]): void {
  const file = new URL(`./golden/${name}.argv`, import.meta.url);
  const text = argv.join('\n') + '\n';
  if (process.env.KT_UPDATE_GOLDEN) fs.writeFileSync(file, text);
  expect(text).toBe(fs.readFileSync(file, 'utf8'));
}

describe('renderQemuArgs', () => {
  it('renders a TCG VM with a virtio-serial ssh port', () => {
    expectGolden('direct-tcg-virtio-serial', renderQemuArgs(resolveVmSpec(base)));
  });

  it('renders a KVM VM with a restricted user network, a 127.0.0.1 forward on a port QEMU picks, and vmcore support', () => {
    const spec = resolveVmSpec({ ...base, index: 2, accel: 'kvm', transport: 'tcp', vmcore: true });
    expect(spec.transport).toEqual({ kind: 'tcp', port: 0 });
    expectGolden('direct-kvm-tcp-vmcore', renderQemuArgs(spec));
    const netdev = renderQemuArgs(spec)[renderQemuArgs(spec).indexOf('-netdev') + 1];
    expect(netdev).toBe('user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:0-:22');
  });

  it('forwards a fixed port when one is given', () => {
    const argv = renderQemuArgs(resolveVmSpec({ ...base, transport: 'tcp', tcpPort: 40123 }));
    expect(argv).toContain('user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40123-:22');
  });

  it('doubles every comma of the paths it puts into -drive, -chardev, -qmp and -device values', () => {
    const argv = renderQemuArgs(resolveVmSpec(commaOptions));
    expectGolden('direct-tcg-comma-paths', argv);
    const values = argv.filter((_, i) => ['-drive', '-chardev', '-qmp', '-netdev', '-device', '-name'].includes(argv[i - 1] ?? ''));
    const withPaths = values.filter((v) => v.includes('/'));
    expect(withPaths).toHaveLength(6); // 4 drives, qmp, ssh socket
    for (const v of withPaths) {
      // Every path holds "a,b" or "kt,x": doubled, with nothing but single commas between keys.
      expect(v).not.toMatch(/a,b|kt,x/);
      expect(v).toMatch(/a,,b|kt,,x/);
    }
    // -kernel and -initrd are plain file names to QEMU (no key=value parsing): left as they are.
    expect(argv[argv.indexOf('-kernel') + 1]).toBe('/home/a,b/.cache/kt/images/h/vmlinuz');
    expect(argv[argv.indexOf('-initrd') + 1]).toBe('/home/a,b/.cache/kt/images/h/initramfs.cpio.gz');
  });

  it('attaches TEST and SCRATCH as sparse private disks and shares root and fstests read-only', () => {
    const spec = resolveVmSpec(base);
    expect(spec.disks.map((d) => [d.serial, d.snapshot])).toEqual([
      ['kt-root', true],
      ['test', false],
      ['scratch', false],
      ['fstests', true],
    ]);
    expect(spec.disks[1]!.path).toBe('/tmp/kt-x/vm1/test.img');
  });

  it('gives two VMs of one run different names, dirs and sockets', () => {
    const a = resolveVmSpec(base);
    const b = resolveVmSpec({ ...base, index: 2 });
    expect(a.name).not.toBe(b.name);
    expect(a.qmpSocket).not.toBe(b.qmpSocket);
    expect(a.dir).not.toBe(b.dir);
  });
});

describe('renderKernelCmdline', () => {
  it('passes the per-run key, the hostname and user extras last', () => {
    const spec = resolveVmSpec({ ...base, extraCmdline: ['xfs.debug=1'], hungTaskTimeoutSec: 30 });
    expect(renderKernelCmdline(spec)).toBe(
      'console=ttyS0,115200 rdinit=/init panic=-1 oops=panic nmi_watchdog=0 loglevel=5 random.trust_cpu=on cryptomgr.notests ' +
        'kt.hostname=kt-20261122-010203-ab12-vm1 kt.sshkey=AAAAC3NzaC1lZDI1NTE5AAAAIKtKeyBlob ' +
        'kt.hung_task_timeout=30 xfs.debug=1',
    );
  });

  it('names the filesystems of the run as the modules the guest loads while the host connects', () => {
    const spec = resolveVmSpec({ ...base, guestModules: guestModulesFor(['xfs', 'ext3', 'ext4', 'xfs']) });
    expect(renderKernelCmdline(spec)).toContain(' kt.modules=xfs,ext4,loop,dm_mod');
    // Without the option the guest keeps its own default list.
    expect(renderKernelCmdline(resolveVmSpec(base))).not.toContain('kt.modules');
  });
});

describe('guestModulesFor', () => {
  it('maps filesystems to their modules and always adds loop and dm_mod, once each', () => {
    expect(guestModulesFor(['btrfs'])).toEqual(['btrfs', 'loop', 'dm_mod']);
    expect(guestModulesFor(['ext2', 'ext4'])).toEqual(['ext4', 'loop', 'dm_mod']);
    // A name that is no module name never reaches the kernel cmdline.
    expect(guestModulesFor(['xfs', 'a b', 'x,y'])).toEqual(['xfs', 'loop', 'dm_mod']);
  });
});
