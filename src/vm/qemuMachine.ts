/**
 * The `direct` backend: kernel + kt initramfs + root image, booted by QEMU itself.
 */
import { ConsoleBootedMachine, type BootFailureMarker } from './bootedMachine.js';
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
  bootTimeoutMs: number;
  /** Keep the VM's disks after dispose (--keep). */
  keep: boolean;
  qemuBinary?: string;
}

/** guest/init prints lines starting with this, then powers off, when it cannot reach root. */
const INITRAMFS_FAILURES: readonly BootFailureMarker[] = [
  { marker: 'kt-initramfs: error', code: 'E_BOOT_INITRAMFS', message: 'the kt initramfs could not start the root system' },
];

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
