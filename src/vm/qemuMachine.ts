/**
 * The `direct` backend: kernel + kt initramfs + root image, booted by QEMU itself.
 */
import { ConsoleBootedMachine, type BootFailureMarker } from './bootedMachine.js';
import { imageHostKey, type HostKeyTrust } from './hostKey.js';
import { prepareHost } from './prepareHost.js';
import { renderQemuArgs } from './qemuArgs.js';
import type { VmSpec } from './spec.js';

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
const INITRAMFS_FAILURES: readonly BootFailureMarker[] = [
  { marker: 'kt-initramfs: error', code: 'E_BOOT_INITRAMFS', message: 'the kt initramfs could not start the root system' },
];

/** The root disk (serial kt-root) whose image the guest boots from. */
function rootImageOf(spec: VmSpec): string {
  const root = spec.disks.find((d) => d.serial === 'kt-root');
  if (!root) throw new Error(`VmSpec ${spec.name} has no kt-root disk`);
  return root.path;
}

export class QemuMachine extends ConsoleBootedMachine {
  constructor(opts: QemuMachineOptions) {
    const { spec } = opts;
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
      prepare: () => prepareHost(spec),
      failureMarkers: INITRAMFS_FAILURES,
      processLabel: 'qemu',
      timeoutMessage: `kernel ${spec.kernel} did not reach kt-init within ${Math.round(opts.bootTimeoutMs / 1000)} s (accel ${spec.accel})`,
      timeoutHint: 'check that the kernel was built for x86_64 with virtio and serial console support, or raise --boot-timeout',
    });
  }
}
