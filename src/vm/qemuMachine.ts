/**
 * The `direct` backend: kernel + kt initramfs + root image, booted by QEMU. Implements Machine.
 */
import fs from 'node:fs';
import { HostError } from '../errors.js';
import { launchQemu, type QemuProcess } from './launch.js';
import type { Machine, MachineExit } from './machine.js';
import { prepareHost, type PreparedHost } from './prepareHost.js';
import { renderQemuArgs } from './qemuArgs.js';
import { QmpClient } from './qmp.js';
import type { VmSpec } from './spec.js';
import { connectSsh, type ExecOptions, type ExecResult, type Transport, TransportError } from './sshTransport.js';

/** guest/kt-init prints this exact line on ttyS0 once sshd serves the kt.ssh port. */
export const READY_MARKER = 'kt-init: ready';
/** kt's initramfs prints lines starting with this when it cannot reach the root disk. */
const INITRAMFS_ERROR = 'kt-initramfs: error';

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

export class BootError extends HostError {}

const CONSOLE_TAIL_BYTES = 64 * 1024;

export class QemuMachine implements Machine {
  readonly name: string;
  readonly argv: string[];
  private qemu: QemuProcess | undefined;
  private host: PreparedHost | undefined;
  private transport: Transport | undefined;
  private qmp: QmpClient | undefined;
  private readonly listeners: ((chunk: Buffer) => void)[] = [];
  private tail = '';
  private readonly log: fs.WriteStream;
  private disposed: Promise<void> | undefined;
  private resolveExited!: (exit: MachineExit) => void;
  private resolveTransportClosed!: () => void;
  readonly exited: Promise<MachineExit>;
  readonly transportClosed: Promise<void>;

  constructor(private readonly opts: QemuMachineOptions) {
    this.name = opts.name;
    this.argv = renderQemuArgs(opts.spec, opts.qemuBinary);
    this.log = fs.createWriteStream(opts.consoleLogPath, { flags: 'a' });
    this.log.on('error', () => {
      // A full results disk must not take the VM down; the runner reports write errors itself.
    });
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
    this.transportClosed = new Promise((resolve) => (this.resolveTransportClosed = resolve));
  }

  onConsole(listener: (chunk: Buffer) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  consoleTail(lines: number): string {
    return this.tail.split(/\r?\n/).slice(-lines).join('\n');
  }

  async boot(signal: AbortSignal): Promise<{ bootMs: number; kernelRelease: string }> {
    const started = Date.now();
    const spec = this.opts.spec;
    this.host = await prepareHost(spec);
    let ready!: () => void;
    let failed!: (err: Error) => void;
    const readyPromise = new Promise<void>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    this.qemu = launchQemu(this.argv, { cwd: spec.dir, env: { TMPDIR: spec.dir } });
    this.qemu.onConsole((chunk) => {
      this.log.write(chunk);
      this.tail = (this.tail + chunk.toString('utf8')).slice(-CONSOLE_TAIL_BYTES);
      for (const l of this.listeners) l(chunk);
      // A rolling window: the marker may be split across chunks.
      if (this.tail.includes(READY_MARKER)) ready();
      else if (this.tail.includes(INITRAMFS_ERROR)) {
        failed(this.bootError('E_BOOT_INITRAMFS', 'the kt initramfs could not start the root system'));
      }
    });
    void this.qemu.exited.then((exit) => {
      this.resolveExited(exit);
      failed(
        this.bootError(
          'E_BOOT_QEMU_EXIT',
          `qemu exited during boot (status ${exit.exitCode ?? exit.signal})${exit.stderr ? `: ${exit.stderr.trim()}` : ''}`,
        ),
      );
    });
    const onAbort = () => failed(new BootError('E_BOOT_ABORTED', `boot of ${this.name} was interrupted`));
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () =>
        failed(
          this.bootError(
            'E_BOOT_TIMEOUT',
            `kernel ${spec.kernel} did not reach kt-init within ${Math.round(this.opts.bootTimeoutMs / 1000)} s (accel ${spec.accel})`,
          ),
        ),
      this.opts.bootTimeoutMs,
    );
    try {
      await readyPromise;
      const remaining = Math.max(5_000, this.opts.bootTimeoutMs - (Date.now() - started));
      this.transport = await connectSsh(spec.transport, this.opts.privateKey, remaining).catch((err: unknown) => {
        throw this.bootError('E_BOOT_SSH', `the guest booted but ssh did not answer: ${String(err)}`);
      });
      void this.transport.closed.then(() => this.resolveTransportClosed());
      const uname = await this.transport.exec('uname -r', { timeoutMs: remaining });
      const kernelRelease = uname.stdout.trim();
      this.qmp = await QmpClient.connect(spec.qmpSocket, 5_000).catch(() => undefined);
      return { bootMs: Date.now() - started, kernelRelease };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  exec(command: string, opts?: ExecOptions): Promise<ExecResult> {
    if (!this.transport) return Promise.reject(new TransportError(`${this.name} is not booted`));
    return this.transport.exec(command, opts);
  }

  async sysrq(keys: string): Promise<void> {
    if (!this.qmp) throw new Error('no QMP connection');
    for (const key of keys) await this.qmp.sendKeys(['alt', 'sysrq', key]);
  }

  async dumpGuestMemory(path: string, timeoutMs: number): Promise<void> {
    if (!this.qmp) throw new Error('no QMP connection');
    // dump-guest-memory with paging=false writes an ELF core that crash(8) and drgn open,
    // the vmcoreinfo device supplying the kernel's layout (QEMU docs, dump-guest-memory).
    await this.qmp.execute('dump-guest-memory', { paging: false, protocol: `file:${path}` }, timeoutMs);
  }

  dispose(): Promise<void> {
    this.disposed ??= this.doDispose();
    return this.disposed;
  }

  private async doDispose(): Promise<void> {
    this.transport?.close();
    this.qmp?.close();
    if (this.qemu) await this.qemu.kill(2_000);
    await new Promise<void>((resolve) => this.log.end(resolve));
    if (!this.opts.keep) await this.host?.dispose();
  }

  private bootError(code: string, message: string): BootError {
    const tail = this.consoleTail(25);
    return new BootError(
      code,
      `${this.name}: ${message}\n--- last console lines ---\n${tail || '(the console printed nothing)'}`,
      code === 'E_BOOT_TIMEOUT'
        ? 'check that the kernel was built for x86_64 with virtio and serial console support, or raise --boot-timeout'
        : `see the full console log in ${this.opts.consoleLogPath}`,
    );
  }
}
