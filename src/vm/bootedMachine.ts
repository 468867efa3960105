/**
 * ConsoleBootedMachine: the Machine behaviour every kt backend shares, whatever starts QEMU.
 * Start a process (QEMU itself, or a script that execs it) with launchQemu, copy its stdout
 * (the guest's ttyS0) to the console log and listeners, wait for READY_MARKER, connect ssh over
 * the backend's endpoint, learn the kernel release, and attach QMP.
 *
 * Speed (docs/speed.md): over virtio-serial with a pinned host key the ssh connection starts
 * as soon as QEMU has made its socket, so the key exchange runs while the guest still sets up
 * (QEMU holds the host's bytes until the guest opens the port); the kernel release comes from
 * kt-init's console line instead of a `uname -r` round trip; QMP attaches meanwhile. The boot
 * returns its phases (src/vm/bootPhases.ts) for the machine-up event.
 *
 * Backends (QemuMachine for the Debian image, NixosMachine) subclass it and pass in only what
 * differs: argv, env, host preparation, failure markers, messages.
 */
import fs from 'node:fs';
import { HostError, isKtError } from '../errors.js';
import { hostKeyFromConsoleLine, HostKeyMismatchError, type HostKeyTrust } from './hostKey.js';
import { launchQemu, type QemuProcess } from './launch.js';
import { bootPhases, isPreparedLine, parseBootStamps, parseReleaseLine, type BootStamp } from './bootPhases.js';
import type { BootResult, Machine, MachineExit } from './machine.js';
import type { PreparedHost } from './prepareHost.js';
import { MachineQmp } from './machineQmp.js';
import {
  connectSsh,
  type Endpoint,
  type ExecOptions,
  type ExecResult,
  type Transport,
  TransportError,
} from './sshTransport.js';
import { retryWhileRefused } from './retryRefused.js';
import type { Session, SessionOptions } from './sshSession.js';
import { hostForwardPort } from './usernet.js';

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
  /**
   * What the guest's ssh host key must be (src/vm/hostKey.ts): pinned in advance, or the key
   * the guest prints on its console before READY_MARKER. Called once per boot, before QEMU
   * starts; a HostError from it fails the boot.
   */
  hostKey(): Promise<HostKeyTrust>;
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
/** Pause between ssh attempts while a tcp forward finds nothing listening in the guest yet. */
const SSH_RETRY_MS = 500;
/** A console "line" longer than this is no line kt reads during boot; only its start is kept. */
const MAX_KEY_LINE = 1024;
/** How often the early connection looks for QEMU's ssh socket while QEMU starts. */
const SOCKET_POLL_MS = 10;

export class ConsoleBootedMachine implements Machine {
  readonly name: string;
  readonly argv: string[];
  private process: QemuProcess | undefined;
  private host: PreparedHost | undefined;
  private transport: Transport | undefined;
  private readonly qmp: MachineQmp;
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
    this.qmp = new MachineQmp(base.qmpSocket, base.name);
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

  channelLostToKeepalive(): boolean {
    return this.transport?.lostToKeepalive === true;
  }

  consoleTail(lines: number): string {
    return this.tail.split(/\r?\n/).slice(-lines).join('\n');
  }

  async boot(signal: AbortSignal): Promise<BootResult> {
    const started = Date.now();
    const b = this.base;
    if (signal.aborted) throw new BootError('E_BOOT_ABORTED', `boot of ${this.name} was interrupted`);
    const trust = await b.hostKey().catch((err: unknown) => {
      if (isKtError(err)) throw new BootError(err.code, `${this.name}: ${err.message}`, err.hint);
      throw err;
    });
    // Host key lines the guest printed on its console before READY_MARKER (trust 'console').
    const consoleKeys = new Set<string>();
    let keyLine = '';
    let stamps: BootStamp[] | undefined;
    let consoleRelease: string | undefined;
    let guestPrepared = false;
    let readySeenMs: number | undefined;
    this.host = await b.prepare();
    // Disposed or interrupted while the host was prepared: QEMU must not start at all (dispose
    // already ran and would never kill it).
    if (signal.aborted || this.disposed) {
      if (!b.keep) await this.host.dispose();
      throw new BootError('E_BOOT_ABORTED', `boot of ${this.name} was interrupted`);
    }
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
      const lines = (keyLine + chunk.toString('utf8')).split('\n');
      keyLine = lines.pop()!.slice(0, MAX_KEY_LINE);
      for (const line of lines) {
        if (trust.kind === 'console') {
          const key = hostKeyFromConsoleLine(line);
          if (key) consoleKeys.add(key);
        }
        stamps = parseBootStamps(line) ?? stamps;
        consoleRelease = parseReleaseLine(line) ?? consoleRelease;
        guestPrepared ||= isPreparedLine(line);
      }
      // A rolling window: a marker may be split across chunks.
      if (this.tail.includes(READY_MARKER)) {
        readySeenMs ??= Date.now() - started;
        return ready();
      }
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
    const deadline = started + b.bootTimeoutMs;
    // A pinned key needs nothing from the console: over virtio-serial, connect right away.
    const endpoint = b.endpoint;
    const early =
      endpoint.kind === 'virtio-serial' && trust.kind === 'pinned'
        ? this.connectEarly(endpoint.socket, trust.key, deadline, readyPromise)
        : undefined;
    // Its failure matters only once the guest is ready; a failed boot reports its own cause.
    early?.catch(() => undefined);
    try {
      await readyPromise;
      const expected = this.expectedHostKey(trust, consoleKeys);
      // Attached now, meanwhile; a failure is not the boot's: sysrq and the memory dump connect
      // again when they need QMP (src/vm/machineQmp.ts).
      const qmp = this.qmp.connect().catch(() => undefined);
      const mapError = (err: unknown): never => {
        if (err instanceof HostKeyMismatchError) {
          throw this.bootError(
            'E_BOOT_HOST_KEY',
            `the guest's ssh host key ${err.offered} does not match the expected ${err.expected} (${expected.source}); not connecting`,
            trust.kind === 'pinned'
              ? 'something other than this VM answered on its ssh endpoint, or the image changed after it was built (its manifest.json records the key of the root.img it was built with): rebuild it with kt image build --rebuild'
              : 'something other than this VM answered on its ssh endpoint',
          );
        }
        throw this.bootError('E_BOOT_SSH', `the guest booted but ssh did not answer: ${String(err)}`);
      };
      await qmp;
      if (early) {
        this.transport = await early.catch(mapError);
      } else {
        // QMP first: the tcp transport needs it to learn the port QEMU bound.
        const resolved = await this.resolveEndpoint();
        this.transport = await this.connect(resolved, expected.key, deadline).catch(mapError);
      }
      void this.transport.closed.then(() => this.resolveTransportClosed());
      let kernelRelease = consoleRelease;
      if (kernelRelease === undefined) {
        // A guest that does not print its release (the NixOS backend): ask.
        const remaining = Math.max(5_000, deadline - Date.now());
        kernelRelease = (await this.transport.exec('uname -r', { timeoutMs: remaining })).stdout.trim();
      }
      const bootMs = Date.now() - started;
      const fromTemplate = this.host.fromTemplate;
      return {
        bootMs,
        kernelRelease,
        phases: bootPhases({ readySeenMs: readySeenMs ?? bootMs, bootMs, ...(stamps ? { stamps } : {}) }),
        ...(guestPrepared ? { guestPrepared: true } : {}),
        ...(fromTemplate ? { disksFromTemplate: fromTemplate } : {}),
      };
    } catch (err) {
      // An early connection that completed anyway must not outlive the failed boot.
      early?.then((t) => t.close(), () => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * The ssh connection of a virtio-serial guest, started while it boots: waits for QEMU to make
   * its socket, then runs the handshake, which completes once the guest's sshd opens the port.
   * Ends when the boot fails (`decided` rejects); a connection made after that is closed.
   */
  private async connectEarly(socket: string, hostKey: string, deadline: number, decided: Promise<void>): Promise<Transport> {
    let over = false;
    decided.catch(() => (over = true));
    while (!fs.existsSync(socket)) {
      if (over) throw new TransportError('the boot failed before QEMU made its ssh socket');
      if (Date.now() > deadline) throw new TransportError(`QEMU made no ssh socket at ${socket}`);
      await new Promise((resolve) => setTimeout(resolve, SOCKET_POLL_MS));
    }
    const transport = await retryWhileRefused(
      () => connectSsh({ kind: 'virtio-serial', socket }, this.base.privateKey, Math.max(5_000, deadline - Date.now()), hostKey),
      { deadline, pollMs: SOCKET_POLL_MS, over: () => over },
    );
    if (over) {
      transport.close();
      throw new TransportError('the boot failed');
    }
    return transport;
  }

  /** The key to pin: the pinned one, or the single key the guest printed before READY_MARKER. */
  private expectedHostKey(trust: HostKeyTrust, consoleKeys: Set<string>): { key: string; source: string } {
    if (trust.kind === 'pinned') return { key: trust.key, source: `pinned from ${trust.source}` };
    const [key, ...others] = consoleKeys;
    if (key === undefined) {
      throw this.bootError(
        'E_BOOT_HOST_KEY_UNKNOWN',
        'the guest did not print its ssh host key on the console before "kt-init: ready"; kt cannot verify it',
        'build the VM from kt\'s current nix/ flake (its kt-setup service prints "kt-init: ssh host key ...")',
      );
    }
    if (others.length > 0) {
      throw this.bootError(
        'E_BOOT_HOST_KEY',
        `the guest printed ${consoleKeys.size} different ssh host keys on its console; not connecting`,
        'only kt-setup (nix/guest.nix) may print "kt-init: ssh host key": check the VM\'s configuration',
      );
    }
    return { key, source: 'printed by the guest on its console' };
  }

  /**
   * connectSsh, retried while a tcp forward resets the connection before any ssh byte: QEMU's
   * user network accepts on the host side at once and resets when nothing listens on the
   * guest's port 22 yet (sshd forks before it binds, so "ready" can come first). Any other
   * failure, and every host key mismatch, ends the boot at once.
   */
  private async connect(endpoint: Endpoint, hostKey: string, deadline: number): Promise<Transport> {
    for (;;) {
      try {
        return await connectSsh(endpoint, this.base.privateKey, Math.max(5_000, deadline - Date.now()), hostKey);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const beforeHandshake =
          code === 'ECONNRESET' ||
          code === 'ECONNREFUSED' ||
          (err as Error).message === 'Connection lost before handshake' ||
          (err instanceof TransportError && err.message.includes('before the ssh handshake'));
        if (endpoint.kind !== 'tcp' || !beforeHandshake || Date.now() + SSH_RETRY_MS > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, SSH_RETRY_MS));
      }
    }
  }

  /** The endpoint to connect to; for a tcp forward on port 0, the port QEMU chose. */
  private async resolveEndpoint(): Promise<Endpoint> {
    const endpoint = this.base.endpoint;
    if (endpoint.kind !== 'tcp' || endpoint.port !== 0) return endpoint;
    const failure = (why: string) =>
      this.bootError('E_BOOT_TCP_PORT', `cannot learn which 127.0.0.1 port QEMU bound for the ssh forward: ${why}`);
    const info = await this.qmp
      .connect()
      .then((qmp) => qmp.execute('human-monitor-command', { 'command-line': 'info usernet' }, 5_000))
      .catch((err: unknown) => {
        throw failure(err instanceof Error ? err.message : String(err));
      });
    const port = typeof info === 'string' ? hostForwardPort(info, 22) : undefined;
    if (port === undefined) throw failure(`no single forward to guest port 22 in "info usernet": ${JSON.stringify(info)}`);
    return { kind: 'tcp', port };
  }

  exec(command: string, opts?: ExecOptions): Promise<ExecResult> {
    if (!this.transport) return Promise.reject(new TransportError(`${this.name} is not booted`));
    return this.transport.exec(command, opts);
  }

  /** An interactive command (the guest's shell on a pty) over the command channel: `kt shell`. */
  session(command: string, opts?: SessionOptions): Promise<Session> {
    if (!this.transport) return Promise.reject(new TransportError(`${this.name} is not booted`));
    return this.transport.session(command, opts);
  }

  /** Over QMP (connecting again if needed); QmpUnavailableError when QEMU does not answer. */
  sysrq(keys: string): Promise<void> {
    return this.qmp.sysrq(keys);
  }

  /** Over QMP; a failed or timed-out dump leaves no partial file (src/vm/machineQmp.ts). */
  dumpGuestMemory(path: string, timeoutMs: number): Promise<void> {
    return this.qmp.dumpGuestMemory(path, timeoutMs);
  }

  dispose(): Promise<void> {
    this.disposed ??= this.doDispose();
    return this.disposed;
  }

  private async doDispose(): Promise<void> {
    this.transport?.close();
    this.qmp.close();
    if (this.process) await this.process.kill(2_000);
    await new Promise<void>((resolve) => this.log.end(resolve));
    if (!this.base.keep) await this.host?.dispose();
  }

  private bootError(code: string, message: string, hint?: string): BootError {
    const tail = this.consoleTail(25);
    const logHint = `see the full console log in ${this.base.consoleLogPath}`;
    return new BootError(
      code,
      `${this.name}: ${message}\n--- last console lines ---\n${tail || '(the console printed nothing)'}`,
      code === 'E_BOOT_TIMEOUT' ? this.base.timeoutHint : hint ? `${hint}; ${logHint}` : logHint,
    );
  }
}
