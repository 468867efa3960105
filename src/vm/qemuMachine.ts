/**
 * The `direct` backend: kernel + kt initramfs + root image, booted by QEMU itself.
 */
import { isKtError } from '../errors.js';
import { BootError, ConsoleBootedMachine, type BootFailureMarker } from './bootedMachine.js';
import { imageHostKey, type HostKeyTrust } from './hostKey.js';
import { keepCopy } from './diskCopy.js';
import { prepareHost, type PreparedHost } from './prepareHost.js';
import { renderQemuArgs } from './qemuArgs.js';
import type { VmSpec } from './spec.js';
import { startVirtiofsDaemons, type RunningDaemons } from './virtiofs/launch.js';

export { BootError, READY_MARKER } from './bootedMachine.js';

export interface QemuMachineOptions {
  spec: VmSpec;
  /** Short name in the run (vm1). */
  name: string;
  /** Where the console log is written (inside the run directory). */
  consoleLogPath: string;
  privateKey: string;
  /**
   * The guest's ssh host key ("ssh-ed25519 AAAA... kt-guest") and where it came from (for
   * error messages). Default: the `sshHostKey` recorded in the manifest.json beside the root
   * image (src/vm/hostKey.ts): the image's own key, made when it was built. A guest offering
   * any other key fails the boot with E_BOOT_HOST_KEY.
   */
  hostKey?: { key: string; source: string };
  bootTimeoutMs: number;
  /** Keep the VM's disks after dispose (--keep). */
  keep: boolean;
  qemuBinary?: string;
}

/** guest/init prints lines starting with this, then powers off, when it cannot reach root. */
const GUEST_FAILURES: readonly BootFailureMarker[] = [
  { marker: 'kt-initramfs: error', code: 'E_BOOT_INITRAMFS', message: 'the kt initramfs could not start the root system' },
  // guest/kt-init, when neither the virtio-serial port kt.ssh nor a NIC appeared: it powers off.
  { marker: 'kt-init: error: no virtio-serial port', code: 'E_BOOT_NO_CHANNEL', message: 'the guest has no way in for kt (no virtio-serial port kt.ssh, no NIC): a kernel without CONFIG_VIRTIO_CONSOLE? (kt kconfig check)' },
];

/** How long a virtiofsd may take to listen on its socket (it starts in well under a second). */
const VIRTIOFSD_START_MS = 30_000;

/**
 * The VM's private files, and with --rootfs virtiofs its daemons (src/vm/virtiofs/launch.ts),
 * started before QEMU connects to them. Disposing stops the daemons, then removes the files.
 */
async function prepareWithDaemons(spec: VmSpec, name: string, keep: boolean, state: { daemons?: RunningDaemons }): Promise<PreparedHost> {
  const host = await prepareHost(spec);
  if (!spec.virtiofs) return host;
  try {
    state.daemons = await startVirtiofsDaemons(spec.virtiofs.daemon, spec.virtiofs.shares, {
      cwd: spec.dir,
      timeoutMs: VIRTIOFSD_START_MS,
      ...(spec.virtiofs.userns ? { userns: spec.virtiofs.userns } : {}),
    });
  } catch (err) {
    if (!keep) await host.dispose();
    if (isKtError(err)) throw new BootError(err.code, `${name}: ${err.message}`, err.hint);
    throw err;
  }
  return {
    async dispose() {
      await state.daemons?.stop();
      await host.dispose();
    },
    ...(host.fromTemplate ? { fromTemplate: host.fromTemplate } : {}),
  };
}

/** The root disk (serial kt-root) whose image the guest boots from, or whose tree virtiofs serves. */
function rootImageOf(spec: VmSpec): string {
  if (spec.virtiofs) return spec.virtiofs.hostKeyImage;
  const root = spec.disks.find((d) => d.serial === 'kt-root');
  if (!root) throw new Error(`VmSpec ${spec.name} has no kt-root disk`);
  return root.path;
}

export class QemuMachine extends ConsoleBootedMachine {
  private readonly virtiofs: { daemons?: RunningDaemons };
  private readonly spec: VmSpec;
  private stopped: Promise<void> | undefined;

  constructor(opts: QemuMachineOptions) {
    const { spec } = opts;
    const virtiofs: { daemons?: RunningDaemons } = {};
    super({
      name: opts.name,
      argv: renderQemuArgs(spec, opts.qemuBinary),
      // snapshot=on overlays go to TMPDIR: keep them in the VM's private dir.
      env: { TMPDIR: spec.dir },
      cwd: spec.dir,
      endpoint: spec.transport,
      qmpSocket: spec.qmpSocket,
      consoleLogPath: opts.consoleLogPath,
      privateKey: opts.privateKey,
      hostKey: (): Promise<HostKeyTrust> =>
        opts.hostKey ? Promise.resolve({ kind: 'pinned', ...opts.hostKey }) : imageHostKey(rootImageOf(spec)),
      bootTimeoutMs: opts.bootTimeoutMs,
      keep: opts.keep,
      prepare: () => prepareWithDaemons(spec, opts.name, opts.keep, virtiofs),
      failureMarkers: GUEST_FAILURES,
      processLabel: 'qemu',
      timeoutMessage: `kernel ${spec.kernel} did not reach kt-init within ${Math.round(opts.bootTimeoutMs / 1000)} s (accel ${spec.accel})`,
      timeoutHint: `check that the kernel was built for x86_64 with virtio and serial console support, or raise --boot-timeout${spec.pvhEntry ? '; --kernel-entry bzimage boots the bzImage instead of this uncompressed kernel (docs/kernel.md)' : ''}`,
    });
    this.virtiofs = virtiofs;
    this.spec = spec;
  }

  /** The disks this VM made are in its spec (prepareHost); copied while QEMU has them open. */
  async keepDiskCopy(serial: string, dest: string): Promise<void> {
    const disk = this.spec.disks.find((d) => d.serial === serial && d.sizeBytes !== undefined);
    if (!disk) throw new Error(`${this.name} has no disk ${serial} of its own`);
    await keepCopy(disk.path, dest);
  }

  /** Also with --keep (which keeps the files, not the processes): no virtiofsd outlives its VM. */
  override dispose(): Promise<void> {
    this.stopped ??= super.dispose().finally(() => this.virtiofs.daemons?.stop());
    return this.stopped;
  }
}
