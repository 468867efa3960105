/**
 * VmSpec: every decision about one VM, made once by a pure function (docs/architecture.md, "The VM layer", step 1).
 * renderQemuArgs turns it into argv; nothing in here touches the host.
 */

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
  initramfs: string;
  /** Root image first, then TEST, SCRATCH, fstests, ... */
  disks: DiskSpec[];
}

/** What the CLI/config decided for the run, the input of resolveVmSpec. */
export interface VmOptions {
  runId: string;
  index: number;
  accel: Accel;
  cpus: number;
  memoryMiB: number;
  kernel: string;
  initramfs: string;
  rootImage: string;
  fstestsImage: string;
  testSizeBytes: number;
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
    initramfs: opts.initramfs,
    extraCmdline: opts.extraCmdline,
    disks: [
      { serial: 'kt-root', path: opts.rootImage, snapshot: true },
      // fstests' sample local.config names its devices /dev/disk/by-id/virtio-{test,scratch}.
      { serial: 'test', path: `${dir}/test.img`, snapshot: false, sizeBytes: opts.testSizeBytes },
      { serial: 'scratch', path: `${dir}/scratch.img`, snapshot: false, sizeBytes: opts.scratchSizeBytes },
      { serial: 'fstests', path: opts.fstestsImage, snapshot: true },
      ...(opts.extraDisks ?? []).map((d) => ({ serial: d.serial, path: `${dir}/${d.serial}.img`, snapshot: false, sizeBytes: d.sizeBytes })),
    ],
    ...resolveGuestAccess(dir, opts),
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
