/**
 * ConsoleBootedMachine: the Machine behaviour every kt backend shares, whatever starts QEMU.
 * Start a process (QEMU itself, or a script that execs it) with launchQemu, copy its stdout
 * (the guest's ttyS0) to the console log and listeners, wait for READY_MARKER, then connect ssh
 * over the backend's endpoint, read `uname -r`, and attach QMP.
 *
 * Backends (QemuMachine for the Debian image, NixosMachine) subclass it and pass in only what
 * differs: argv, env, host preparation, failure markers, messages.
 */
import fs from 'node:fs';
import { HostError } from '../errors.js';
import { launchQemu, type QemuProcess } from './launch.js';
import type { Machine, MachineExit } from './machine.js';
import type { PreparedHost } from './prepareHost.js';
import { QmpClient } from './qmp.js';
import {
  connectSsh,
  type Endpoint,
  type ExecOptions,
  type ExecResult,
  type Transport,
  TransportError,
} from './sshTransport.js';

/** kt's guest init (guest/kt-init, nix/guest.nix) prints this exact line once sshd serves. */
export const READY_MARKER = 'kt-init: ready';

/** A VM did not come up; the message carries the console tail. */
export class BootError extends HostError {}

/** A console line that proves the guest will never reach READY_MARKER. */
export interface BootFailureMarker {
  marker: string;
  code: string;
  message: string;
}

export interface ConsoleBootedMachineOptions {
  /** Short name in the run (vm1). */
  name: string;
  /** The process to start: QEMU's argv, or a run script. */
  argv: string[];
  /** Environment added to kt's own (launchQemu/execa extend process.env). */
  env: Record<string, string>;
  cwd: string;
  endpoint: Endpoint;
  qmpSocket: string;
  /** Where the console log is written (inside the run directory). */
  consoleLogPath: string;
  privateKey: string;
  bootTimeoutMs: number;
  /** Keep the VM's private files after dispose (--keep). */
  keep: boolean;
  /** Creates the VM's private files; its dispose removes them. */
  prepare(): Promise<PreparedHost>;
  failureMarkers: readonly BootFailureMarker[];
  /** "qemu", "the NixOS run script": who exited when the process ends during boot. */
  processLabel: string;
  /** E_BOOT_TIMEOUT message (without the VM name) and hint. */
  timeoutMessage: string;
  timeoutHint: string;
}

const CONSOLE_TAIL_BYTES = 64 * 1024;

export class ConsoleBootedMachine implements Machine {
  readonly name: string;
  readonly argv: string[];
  private process: QemuProcess | undefined;
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

  constructor(private readonly base: ConsoleBootedMachineOptions) {
    this.name = base.name;
    this.argv = base.argv;
    this.log = fs.createWriteStream(base.consoleLogPath, { flags: 'a' });
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
    const b = this.base;
    if (signal.aborted) throw new BootError('E_BOOT_ABORTED', `boot of ${this.name} was interrupted`);
    this.host = await b.prepare();
    let ready!: () => void;
    let failed!: (err: Error) => void;
    let booting = true;
    const readyPromise = new Promise<void>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    // Markers only matter until the boot is decided; later chunks skip the scans.
    void readyPromise.then(
      () => (booting = false),
      () => (booting = false),
    );
    this.process = launchQemu(b.argv, { cwd: b.cwd, env: b.env });
    this.process.onConsole((chunk) => {
      this.log.write(chunk);
      this.tail = (this.tail + chunk.toString('utf8')).slice(-CONSOLE_TAIL_BYTES);
      for (const l of this.listeners) l(chunk);
      if (!booting) return;
      // A rolling window: a marker may be split across chunks.
      if (this.tail.includes(READY_MARKER)) return ready();
      const failure = b.failureMarkers.find((f) => this.tail.includes(f.marker));
      if (failure) failed(this.bootError(failure.code, failure.message));
    });
    void this.process.exited.then((exit) => {
      this.resolveExited(exit);
      failed(
        this.bootError(
          'E_BOOT_QEMU_EXIT',
          `${b.processLabel} exited during boot (status ${exit.exitCode ?? exit.signal})${exit.stderr ? `: ${exit.stderr.trim()}` : ''}`,
        ),
      );
    });
    const onAbort = () => failed(new BootError('E_BOOT_ABORTED', `boot of ${this.name} was interrupted`));
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => failed(this.bootError('E_BOOT_TIMEOUT', b.timeoutMessage)), b.bootTimeoutMs);
    try {
      await readyPromise;
      const remaining = Math.max(5_000, b.bootTimeoutMs - (Date.now() - started));
      this.transport = await connectSsh(b.endpoint, b.privateKey, remaining).catch((err: unknown) => {
        throw this.bootError('E_BOOT_SSH', `the guest booted but ssh did not answer: ${String(err)}`);
      });
      void this.transport.closed.then(() => this.resolveTransportClosed());
      const uname = await this.transport.exec('uname -r', { timeoutMs: remaining });
      const kernelRelease = uname.stdout.trim();
      this.qmp = await QmpClient.connect(b.qmpSocket, 5_000).catch(() => undefined);
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
    // ELF with paging=false: what crash(8) and drgn open directly, the vmcoreinfo device giving
    // them the kernel's layout (QEMU QMP reference, dump-guest-memory). QEMU 7.2 writes its
    // kdump-* formats only in makedumpfile's flattened form, which needs `makedumpfile -R` first.
    await this.qmp.execute('dump-guest-memory', { paging: false, protocol: `file:${path}` }, timeoutMs);
  }

  dispose(): Promise<void> {
    this.disposed ??= this.doDispose();
    return this.disposed;
  }

  private async doDispose(): Promise<void> {
    this.transport?.close();
    this.qmp?.close();
    if (this.process) await this.process.kill(2_000);
    await new Promise<void>((resolve) => this.log.end(resolve));
    if (!this.base.keep) await this.host?.dispose();
  }

  private bootError(code: string, message: string): BootError {
    const tail = this.consoleTail(25);
    return new BootError(
      code,
      `${this.name}: ${message}\n--- last console lines ---\n${tail || '(the console printed nothing)'}`,
      code === 'E_BOOT_TIMEOUT' ? this.base.timeoutHint : `see the full console log in ${this.base.consoleLogPath}`,
    );
  }
}
