/**
 * renderQemuArgs / renderKernelCmdline: VmSpec → argv, pure and golden-tested
 * (test/vm/golden/*.argv). `kt run --dry-run` prints exactly this.
 */
import { qemuOptValue as v } from './qemuOptValue.js';
import type { Accel, DiskSpec, VmSpec } from './spec.js';
import type { VirtiofsShareSpec } from './virtiofs/argv.js';

/** Per-accelerator settings as a table, not as branches spread over the renderer. */
const ACCEL_TABLE: Record<Accel, { accel: string; cpu: string }> = {
  // KVM: expose the host CPU; the guest kernel then uses the same features as on metal.
  kvm: { accel: 'kvm', cpu: 'host' },
  // TCG: "max" enables every feature TCG can emulate; multi-threaded TCG uses one host
  // thread per vCPU (QEMU docs, "Multi-threaded TCG").
  tcg: { accel: 'tcg,thread=multi', cpu: 'max' },
};

/**
 * The parameters that make the boot faster; the benchmark's quiet bare boot uses the same list
 * (src/bench/bootBench.ts), so kt's boot is not compared against a kernel doing work kt skips.
 */
export const BOOT_SPEED_PARAMS: readonly string[] = [
  // Boot quietly: levels 0-4 only (every crash report and WARNING), without the ~400 KERN_INFO
  // boot lines a TCG serial port prints slowly. kt raises the level to 7 before tests run
  // (runner/guestCommands.ts), and dmesg keeps everything regardless.
  'loglevel=5',
  // Seed the random pool from the CPU at once (RDRAND): sshd's key exchange never waits for entropy.
  'random.trust_cpu=on',
  // No self-test of every crypto algorithm as it registers (crypto/testmgr.c `notests`; ignored
  // under fips=1): 0.4-0.7 s of a bare TCG boot (docs/speed.md). What a test can see of it: dmesg
  // says "alg: self-tests disabled", /proc/crypto "selftest: passed" for untested algorithms,
  // and a broken implementation (or emulation of its instructions) is not replaced by the
  // generic one. `--append cryptomgr.notests=0` brings the tests back (docs/kernel.md).
  'cryptomgr.notests',
];

export function renderKernelCmdline(spec: VmSpec): string {
  const params = [
    // The kernel console goes to the first serial port, which kt reads for crash detection.
    'console=ttyS0,115200',
    // kt's own initramfs (src/vm/image): loads virtio modules, mounts root by serial.
    'rdinit=/init',
    // panic=-1: reboot at once on panic; with -no-reboot QEMU exits (docs/fstests.md §7).
    'panic=-1',
    // Give crashes a clean, complete console report instead of a reboot loop or a hang.
    'oops=panic',
    'nmi_watchdog=0',
    ...BOOT_SPEED_PARAMS,
    `kt.hostname=${spec.name}`,
    `kt.sshkey=${spec.sshKeyBlob}`,
  ];
  if (spec.hungTaskTimeoutSec > 0) params.push(`kt.hung_task_timeout=${spec.hungTaskTimeoutSec}`);
  // --rootfs virtiofs: guest/init mounts these tags instead of the kt-root disk (docs/virtiofs.md).
  for (const share of spec.virtiofs?.shares ?? []) params.push(virtiofsCmdlineParam(share));
  // Only the run's filesystems load while the host connects (guest/kt-init, docs/speed.md).
  if (spec.guestModules) params.push(`kt.modules=${spec.guestModules.join(',')}`);
  return [...params, ...spec.extraCmdline].join(' ');
}

function virtiofsCmdlineParam(share: VirtiofsShareSpec): string {
  if (share.role === 'root') return `kt.root=virtiofs:${share.tag}`;
  if (share.role === 'fstests') return `kt.fstests=virtiofs:${share.tag}`;
  return `kt.share=${share.tag}:${share.readOnly ? 'ro' : 'rw'}`;
}

/**
 * vhost-user devices need the guest's RAM in memory the daemon can map: a memfd backend with
 * share=on as the machine's RAM (QEMU docs, "QEMU virtio-fs shared file system daemon":
 * "-object memory-backend-memfd,...,share=on"; -machine memory-backend= instead of a NUMA node
 * leaves the guest's topology as it is). One chardev and vhost-user-fs-pci per share.
 */
function renderVirtiofs(spec: VmSpec): string[] {
  if (!spec.virtiofs) return [];
  const args = ['-object', `memory-backend-memfd,id=mem,size=${spec.memoryMiB}M,share=on`];
  spec.virtiofs.shares.forEach((share, i) => {
    args.push(
      '-chardev', `socket,id=vfs${i},path=${v(share.socket)}`,
      '-device', `vhost-user-fs-pci,chardev=vfs${i},tag=${v(share.tag)}`,
    );
  });
  return args;
}

function renderDisk(disk: DiskSpec): string[] {
  const id = v(`disk-${disk.serial}`);
  // Every value kt did not write itself goes through qemuOptValue: paths come from the user's
  // cache dir and TMPDIR and may hold commas.
  const drive = [`if=none`, `id=${id}`, `file=${v(disk.path)}`, `format=${disk.format ?? 'raw'}`];
  if (disk.snapshot) {
    // Guest writes go to a temporary overlay; the image is shared by every VM and never changes.
    drive.push('snapshot=on');
  } else {
    // Ephemeral TEST/SCRATCH disks: nothing survives the VM, so host flushes are wasted time.
    drive.push('cache=unsafe', 'discard=unmap');
  }
  return ['-drive', drive.join(','), '-device', `virtio-blk-pci,drive=${id},serial=${v(disk.serial)}`];
}

export function renderQemuArgs(spec: VmSpec, qemuBinary = 'qemu-system-x86_64'): string[] {
  const accel = ACCEL_TABLE[spec.accel];
  const args = [
    qemuBinary,
    '-name', v(spec.name),
    '-machine', spec.virtiofs ? `${spec.machine},memory-backend=mem` : spec.machine,
    '-accel', accel.accel,
    '-cpu', accel.cpu,
    '-smp', String(spec.cpus),
    '-m', `${spec.memoryMiB}M`,
    // No default NIC, VGA, floppy, CD-ROM or monitor: only what is listed below exists.
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    // A guest reboot (panic=-1) ends QEMU, which kt observes as the VM's exit.
    '-no-reboot',
    '-kernel', spec.kernel,
    '-initrd', spec.initramfs,
    '-append', renderKernelCmdline(spec),
    // ttyS0 = kernel console on QEMU's stdout, read line by line by kt (never used for commands).
    '-chardev', 'stdio,id=console,signal=off',
    '-serial', 'chardev:console',
    '-qmp', `unix:${v(spec.qmpSocket)},server=on,wait=off`,
    // pvpanic: the guest tells QEMU it panicked (docs/fstests.md §7: QEMU then exits 1, or pauses
    // for a memory dump with --vmcore).
    '-device', 'pvpanic-pci',
    '-action', `panic=${spec.pauseOnPanic ? 'pause' : 'exit-failure'}`,
    // vmcoreinfo lets dump-guest-memory write a dump that crash(8)/drgn can open.
    ...(spec.pauseOnPanic ? ['-device', 'vmcoreinfo'] : []),
    '-device', 'virtio-rng-pci',
  ];
  for (const disk of spec.disks) args.push(...renderDisk(disk));
  args.push(...renderVirtiofs(spec));
  if (spec.transport.kind === 'virtio-serial') {
    args.push(
      '-device', 'virtio-serial-pci,id=vser0',
      '-chardev', `socket,id=ssh,path=${v(spec.transport.socket)},server=on,wait=off`,
      // The guest serves sshd -i on the port named kt.ssh (guest/kt-sshd).
      '-device', 'virtserialport,bus=vser0.0,chardev=ssh,name=kt.ssh',
    );
  } else {
    args.push(
      // restrict=on: the guest can reach neither the host nor anything beyond it; only the
      // host forward below still connects (QEMU docs, -netdev user: "This option does not
      // affect any explicitly set forwarding rules"). The forward is bound to 127.0.0.1 only,
      // so nothing outside this host reaches the guest's sshd. Port 0 lets QEMU's own bind()
      // pick the port, which kt then reads back over QMP (src/vm/usernet.ts).
      '-netdev', `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${spec.transport.port}-:22`,
      '-device', 'virtio-net-pci,netdev=net0',
    );
  }
  return args;
}
