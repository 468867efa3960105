/**
 * VmSpec: every decision about one VM, made once by a pure function (docs/architecture.md, "The VM layer", step 1).
 * renderQemuArgs turns it into argv; nothing in here touches the host.
 */
import type { UsernsPlan } from './image/userns.js';
import type { VirtiofsShareSpec } from './virtiofs/argv.js';
import type { VirtiofsDaemon } from './virtiofs/daemon.js';

/** A disk attached as virtio-blk; the guest sees /dev/disk/by-id/virtio-<serial>. */
export interface DiskSpec {
  /** qemu drive id and guest-visible serial (fstests config uses /dev/disk/by-id/virtio-<serial>). */
  serial: string;
  /** Host path of the raw image. */
  path: string;
  /** Guest writes go to a throw-away overlay; the file itself is never modified. */
  snapshot: boolean;
  /** Size in bytes for disks kt creates (sparse); undefined for existing images. */
  sizeBytes?: number;
  /**
   * The image's format: raw (the default), or qcow2 for an overlay a VM owns over a shared raw
   * image, which outlives QEMU (snapshot=on's overlay does not): the benchmark's restore row
   * saves a guest with its disks and starts it again from them (src/bench/restoreBench.ts).
   */
  format?: 'raw' | 'qcow2';
  /**
   * A disk kt creates (sizeBytes) starts as a copy of this file when it exists and has that size,
   * instead of empty: a TEST_DEV filesystem made once in an earlier VM (src/cli/testDevTemplates.ts,
   * docs/speed.md "TEST_DEV made once"). prepareHost says which disks did (PreparedHost.fromTemplate).
   */
  template?: string;
}

export type Accel = 'kvm' | 'tcg';

/** What every backend's VM spec holds: identity, guest access, crash handling. */
export interface GuestSpecBase {
  /** Name unique on the host, also the guest hostname: kt-<run>-vm<N>. */
  name: string;
  accel: Accel;
  /** Extra kernel parameters from the user (--append). */
  extraCmdline: string[];
  /** Per-VM private directory: sockets, disks, console log. */
  dir: string;
  /** ssh-ed25519 public key blob (base64, no spaces) the guest authorises for root. */
  sshKeyBlob: string;
  /**
   * Transport: a virtio-serial port (no guest network) or a 127.0.0.1 host forward on a
   * restricted user network. Port 0: QEMU binds a free port itself, kt reads it back over QMP.
   */
  transport: { kind: 'virtio-serial'; socket: string } | { kind: 'tcp'; port: number };
  /** QMP control socket. */
  qmpSocket: string;
  /** Seconds of silence before the guest's hung-task detector reports (0 = kernel default). */
  hungTaskTimeoutSec: number;
  /** Stop the VM on panic (pvpanic) so kt can take a memory dump instead of letting it exit. */
  pauseOnPanic: boolean;
}

export interface VmSpec extends GuestSpecBase {
  /** q35: PCIe virtio, pvpanic-pci; microvm hung once in four TCG boots on kt's build hosts. */
  machine: 'q35';
  cpus: number;
  memoryMiB: number;
  kernel: string;
  /** `kernel` is an uncompressed kernel booted by its PVH entry (src/vm/pvh/pvhKernel.ts), not a bzImage. */
  pvhEntry?: boolean;
  initramfs: string;
  /** Root image first, then TEST, SCRATCH, fstests, ... (with virtiofs: TEST, SCRATCH, ...). */
  disks: DiskSpec[];
  /**
   * --rootfs virtiofs (docs/virtiofs.md): root and fstests tree are host directories served by
   * one virtiofsd each (and each --share), guest RAM is shared memory for vhost-user.
   */
  virtiofs?: {
    daemon: VirtiofsDaemon;
    shares: VirtiofsShareSpec[];
    /** The root image whose manifest.json pins the guest's ssh host key (the tree is unpacked from it). */
    hostKeyImage: string;
    /** Not root: the daemons run as root of this user namespace (src/vm/virtiofs/argv.ts usernsInnerArgs). */
    userns?: UsernsPlan;
  };
  /** Modules kt-init loads in the background (kt.modules=); unset: its default list. */
  guestModules?: string[];
}

/** Tags of kt's own shares; a --share may not take them (src/config/shareFlags.ts refuses `kt-*`). */
export const VIRTIOFS_ROOT_TAG = 'kt-root';
export const VIRTIOFS_FSTESTS_TAG = 'kt-fstests';

/** What --rootfs virtiofs serves, decided by the CLI (src/cli/virtiofsRun.ts). */
export interface VirtiofsOptions {
  daemon: VirtiofsDaemon;
  /** The image's tree, unpacked once per image hash (src/vm/virtiofs/rootTree.ts). */
  rootTree: string;
  /** The user's fstests tree, served as it is: no fstests image. */
  fstestsDir: string;
  /** --share TAG:PATH[:ro], in the order given. */
  shares: readonly { tag: string; path: string; readOnly: boolean }[];
  /** Not root: the user namespace the daemons run in (src/vm/virtiofs/decision.ts). */
  userns?: UsernsPlan;
}

/** What the CLI/config decided for the run, the input of resolveVmSpec. */
export interface VmOptions {
  runId: string;
  index: number;
  accel: Accel;
  cpus: number;
  memoryMiB: number;
  kernel: string;
  /** See VmSpec.pvhEntry. */
  pvhEntry?: boolean;
  initramfs: string;
  rootImage: string;
  fstestsImage: string;
  testSizeBytes: number;
  /** A file to start the TEST disk from (DiskSpec.template). */
  testTemplate?: string;
  scratchSizeBytes: number;
  /** More empty sparse disks for the sections of the run (external log, realtime, scratch pool). */
  extraDisks?: readonly { serial: string; sizeBytes: number }[];
  extraCmdline: string[];
  baseDir: string;
  sshKeyBlob: string;
  transport: 'virtio-serial' | 'tcp';
  /**
   * Host port of the tcp transport's forward. Leave it unset (or 0): QEMU then binds a free
   * port itself and kt reads it back, where a port probed by the caller could be taken by
   * another process before QEMU binds it.
   */
  tcpPort?: number;
  hungTaskTimeoutSec: number;
  vmcore: boolean;
  /** Boot from host directories over virtiofs instead of the root and fstests images. */
  virtiofs?: VirtiofsOptions;
  /** Modules the guest loads in the background (guestModulesFor): the run's filesystems. */
  guestModules?: readonly string[];
}

/** The module of each filesystem kt makes (ext2 and ext3 are served by ext4's driver). */
const FS_MODULE: Readonly<Record<string, string>> = { xfs: 'xfs', ext2: 'ext4', ext3: 'ext4', ext4: 'ext4', btrfs: 'btrfs' };

/**
 * The modules a guest loads while the host connects: the filesystems under test, and loop and
 * dm_mod, whose device nodes (/dev/loop-control, /dev/mapper/control) exist only once they are
 * loaded, while a mount loads its filesystem by itself (request_module, fs/filesystems.c). Not
 * loading btrfs in an xfs run saves ~1.5 s of guest CPU under TCG (docs/speed.md).
 */
export function guestModulesFor(fstyps: readonly string[]): string[] {
  const modules = fstyps.map((t) => FS_MODULE[t] ?? t).filter((m) => /^[a-z0-9_]+$/.test(m));
  return [...new Set([...modules, 'loop', 'dm_mod'])];
}

/** The shares of a virtiofs VM: root, fstests, then the user's, each with its socket and log in the VM's dir. Pure. */
export function virtiofsShares(dir: string, v: VirtiofsOptions): VirtiofsShareSpec[] {
  const share = (tag: string, source: string, readOnly: boolean, role: VirtiofsShareSpec['role']): VirtiofsShareSpec => ({
    tag,
    source,
    socket: `${dir}/virtiofs-${tag}.sock`,
    readOnly,
    role,
    log: `${dir}/virtiofsd-${tag}.log`,
  });
  return [
    share(VIRTIOFS_ROOT_TAG, v.rootTree, true, 'root'),
    share(VIRTIOFS_FSTESTS_TAG, v.fstestsDir, true, 'fstests'),
    ...v.shares.map((s) => share(s.tag, s.path, s.readOnly, 'share')),
  ];
}

/** Turns run options into one VM's spec. Pure: paths are computed, nothing is created. */
export function resolveVmSpec(opts: VmOptions): VmSpec {
  const name = `kt-${opts.runId}-vm${opts.index}`;
  const dir = `${opts.baseDir}/vm${opts.index}`;
  return {
    name,
    accel: opts.accel,
    machine: 'q35',
    cpus: opts.cpus,
    memoryMiB: opts.memoryMiB,
    kernel: opts.kernel,
    ...(opts.pvhEntry ? { pvhEntry: true } : {}),
    initramfs: opts.initramfs,
    extraCmdline: opts.extraCmdline,
    disks: [
      ...(opts.virtiofs ? [] : [{ serial: 'kt-root', path: opts.rootImage, snapshot: true }]),
      // fstests' sample local.config names its devices /dev/disk/by-id/virtio-{test,scratch}.
      { serial: 'test', path: `${dir}/test.img`, snapshot: false, sizeBytes: opts.testSizeBytes, ...(opts.testTemplate ? { template: opts.testTemplate } : {}) },
      { serial: 'scratch', path: `${dir}/scratch.img`, snapshot: false, sizeBytes: opts.scratchSizeBytes },
      ...(opts.virtiofs ? [] : [{ serial: 'fstests', path: opts.fstestsImage, snapshot: true }]),
      ...(opts.extraDisks ?? []).map((d) => ({ serial: d.serial, path: `${dir}/${d.serial}.img`, snapshot: false, sizeBytes: d.sizeBytes })),
    ],
    ...(opts.virtiofs
      ? {
          virtiofs: {
            daemon: opts.virtiofs.daemon,
            shares: virtiofsShares(dir, opts.virtiofs),
            hostKeyImage: opts.rootImage,
            ...(opts.virtiofs.userns ? { userns: opts.virtiofs.userns } : {}),
          },
        }
      : {}),
    ...resolveGuestAccess(dir, opts),
    ...(opts.guestModules ? { guestModules: [...opts.guestModules] } : {}),
  };
}

/** The fields every backend derives alike from the run's options and the VM's directory. */
export function resolveGuestAccess(
  dir: string,
  opts: { sshKeyBlob: string; transport: 'virtio-serial' | 'tcp'; tcpPort?: number; hungTaskTimeoutSec: number; vmcore: boolean },
): Pick<GuestSpecBase, 'dir' | 'sshKeyBlob' | 'transport' | 'qmpSocket' | 'hungTaskTimeoutSec' | 'pauseOnPanic'> {
  return {
    dir,
    sshKeyBlob: opts.sshKeyBlob,
    transport:
      opts.transport === 'tcp'
        ? { kind: 'tcp', port: opts.tcpPort ?? 0 }
        : { kind: 'virtio-serial', socket: `${dir}/ssh.sock` },
    qmpSocket: `${dir}/qmp.sock`,
    hungTaskTimeoutSec: opts.hungTaskTimeoutSec,
    pauseOnPanic: opts.vmcore,
  };
}
