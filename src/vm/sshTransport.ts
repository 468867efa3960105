/**
 * The command channel to a guest: one ssh2 connection per VM, multiplexing every command as
 * its own channel. Over a virtio-serial port (a unix socket on the host, no guest network) or
 * a 127.0.0.1 host forward. Commands never go over the console: a kernel message can land in
 * the middle of any console line, and the console is what kt scans for crashes.
 */
import net from 'node:net';
import ssh2 from 'ssh2';
import { fingerprint, HOST_KEY_TYPE, HostKeyMismatchError, parseHostKeyLine } from './hostKey.js';
import { TimeoutError, withTimeout } from './qmp.js';
import { openSession, type ChannelWatchers, type Session, type SessionOptions } from './sshSession.js';

export interface ExecOptions {
  /** Called with stdout chunks as they arrive (check's stream is parsed live). */
  onStdout?: (chunk: Buffer) => void;
  /**
   * Rejects with TimeoutError when the command takes longer; the command is then sent SIGKILL,
   * its channel closed, and no more of its output reaches onStdout.
   */
  timeoutMs?: number;
  /** Aborting rejects with TransportError('aborted') and stops the command as a timeout does. */
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number | null;
  /** Signal name when the remote command was killed by one. */
  signal?: string;
  stdout: string;
  stderr: string;
}

const KEEPALIVE_INTERVAL_MS = 10_000;
const KEEPALIVE_COUNT_MAX = 6;
/** The transport was lost: the guest died, sshd died, or the socket closed. */
export class TransportError extends Error {
  override name = 'TransportError';
}

export interface Transport {
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** An interactive command, optionally on a pty (src/vm/sshSession.ts: `kt shell`). */
  session(command: string, opts?: SessionOptions): Promise<Session>;
  close(): void;
  /** Resolves when the connection drops for any reason. */
  readonly closed: Promise<void>;
  /** The connection dropped because the guest stopped answering ssh's keepalives (ssh2's 'client-timeout'). */
  readonly lostToKeepalive: boolean;
}


export type Endpoint = { kind: 'virtio-serial'; socket: string } | { kind: 'tcp'; port: number };

/**
 * Connects as root with the run's key and accepts the guest only if it proves it holds
 * `expectedHostKey` (an OpenSSH public key line). A different key rejects with
 * HostKeyMismatchError naming both fingerprints.
 */
export async function connectSsh(
  endpoint: Endpoint,
  privateKey: string,
  timeoutMs: number,
  expectedHostKey: string,
): Promise<Transport> {
  const expected = parseHostKeyLine(expectedHostKey);
  if (!expected) throw new Error(`connectSsh: not an ${HOST_KEY_TYPE} public key: ${JSON.stringify(expectedHostKey)}`);
  let mismatch: HostKeyMismatchError | undefined;
  const client = new ssh2.Client();
  const sock =
    endpoint.kind === 'virtio-serial' ? net.connect(endpoint.socket) : net.connect(endpoint.port, '127.0.0.1');
  // One set of listeners per connection, whatever number of commands it runs: each command in
  // flight registers how to fail and leaves the set when it ends, so nothing it held (its output,
  // its channel) lives on with the connection. Called from the events themselves, not from a
  // `closed.then`: ssh2 emits the client's 'close' before it closes the channels (lib/client.js),
  // so a command fails as lost instead of ending with no exit status.
  let closedResolve!: () => void;
  const closed = new Promise<void>((resolve) => (closedResolve = resolve));
  const watchers: ChannelWatchers = new Set();
  let isClosed = false;
  let lostToKeepalive = false;
  const lose = () => {
    if (isClosed) return;
    isClosed = true;
    closedResolve();
    const failing = [...watchers];
    watchers.clear();
    for (const fail of failing) fail();
  };
  client.on('close', lose);
  client.on('end', lose);
  client.on('error', (err: Error & { level?: string }) => {
    // ssh2 lib/client.js: "Keepalive timeout", level 'client-timeout', once keepaliveCountMax
    // keepalives went unanswered — the guest is alive enough for the socket but answers nothing.
    if (!isClosed && err.level === 'client-timeout') lostToKeepalive = true;
    lose();
  });
  sock.on('close', lose);

  await withTimeout(
    new Promise<void>((resolve, reject) => {
      client.once('ready', resolve);
      // The guest's end closed before the handshake finished (QEMU exited while it booted).
      client.once('close', () => reject(new TransportError('the connection closed before the ssh handshake completed')));
      // ssh2 may report one failure twice (the socket's error, then "Connection lost before
      // handshake"): every error must have a listener, the first one decides.
      client.on('error', reject);
      sock.on('error', reject);
      client.connect({
        sock,
        username: 'root',
        privateKey,
        readyTimeout: timeoutMs,
        // kt's guests only have an ed25519 host key; asking for that type alone means the key
        // compared below is the one the guest's sshd signs the key exchange with.
        algorithms: { serverHostKey: [HOST_KEY_TYPE] },
        // Straight to the key: ssh2 otherwise tries "none" first, a round trip to a guest that
        // answers slowly under TCG (docs/speed.md).
        authHandler: ['publickey'],
        // `key` is the raw key blob the server proved it holds (ssh2 calls this before the
        // exchange completes). A 127.0.0.1 port can be taken by any local process, so the
        // blob must be the expected one (src/vm/hostKey.ts says where that comes from).
        hostVerifier: (key: Buffer) => {
          if (key.equals(expected)) return true;
          mismatch = new HostKeyMismatchError(fingerprint(expected), fingerprint(key));
          return false;
        },
        // Notice a dead guest even while no command runs; generous because TCG guests under
        // full load answer slowly.
        keepaliveInterval: KEEPALIVE_INTERVAL_MS,
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      });
    }),
    timeoutMs,
    'ssh handshake',
  ).catch((err: unknown) => {
    client.end();
    sock.destroy();
    // ssh2 reports a refused key as "Host denied (verification failed)"; say which keys.
    throw mismatch ?? err;
  });

  function exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (isClosed) return Promise.reject(new TransportError('ssh connection to the guest is closed'));
    // An already aborted signal never fires 'abort': refuse before the command starts.
    if (opts.signal?.aborted) return Promise.reject(new TransportError('aborted'));
    return runCommand(client, watchers, command, opts);
  }

  return {
    exec,
    session: (command, opts) =>
      isClosed ? Promise.reject(new TransportError('ssh connection to the guest is closed')) : openSession(client, watchers, command, opts),
    close: () => {
      client.end();
      sock.destroy();
    },
    closed,
    get lostToKeepalive() {
      return lostToKeepalive;
    },
  };
}

/**
 * One command on its own channel. Every way it ends (exit, timeout, abort, lost connection) goes
 * through `settle`, which lets go of the timer, the abort listener and the watcher entry; a
 * command the caller gave up on is killed and its channel closed.
 */
function runCommand(client: ssh2.Client, watchers: ChannelWatchers, command: string, opts: ExecOptions): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    let channel: ssh2.ClientChannel | undefined;
    let out: Buffer[] = [];
    let errOut: Buffer[] = [];
    let exitCode: number | null = null;
    let signal: string | undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const onStdout = (chunk: Buffer) => {
      out.push(chunk);
      opts.onStdout?.(chunk);
    };
    const onStderr = (chunk: Buffer) => errOut.push(chunk);
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      watchers.delete(onLost);
      return true;
    };
    const giveUp = (err: Error, connectionAlive = true) => {
      if (!settle()) return;
      out = [];
      errOut = [];
      if (channel && connectionAlive) stop(channel);
      reject(err);
    };
    // Nothing to stop on a dropped connection: ssh2 closes its channels itself.
    const onLost = () => giveUp(new TransportError(`connection lost while running: ${command.slice(0, 80)}`), false);
    const onAbort = () => giveUp(new TransportError('aborted'));
    /** The caller gave up: no more output reaches it, the command is killed, the channel closed. */
    const stop = (ch: ssh2.ClientChannel) => {
      ch.off('data', onStdout);
      ch.stderr.off('data', onStderr);
      // Still drained, so ssh2 keeps the window open until the guest's close arrives.
      ch.resume();
      ch.stderr.resume();
      try {
        // RFC 4254 §6.9; OpenSSH's sshd delivers it to the command's process group
        // (session.c, session_signal_req). Closing alone leaves the command running in the guest.
        ch.signal('KILL');
        ch.close();
      } catch {
        // The connection is going away; its loss ends the command anyway.
      }
    };
    watchers.add(onLost);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.timeoutMs) {
      const ms = opts.timeoutMs;
      timer = setTimeout(() => giveUp(new TimeoutError(`guest command "${command.slice(0, 60)}" timed out after ${ms} ms`)), ms);
    }
    const opened = (err: Error | undefined, ch: ssh2.ClientChannel) => {
      if (err) {
        if (settle()) reject(new TransportError(`ssh exec failed: ${err.message}`));
        return;
      }
      channel = ch;
      // A channel must not emit an unhandled 'error' (a request racing its close).
      ch.on('error', () => undefined);
      ch.on('exit', (code: number | null, sig?: string) => {
        exitCode = code;
        signal = sig ?? undefined;
      });
      ch.on('close', () => {
        if (!settle()) return;
        resolve({ exitCode, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8') });
      });
      // Timed out or aborted while the channel opened: the command has started, stop it now.
      if (settled) return stop(ch);
      ch.on('data', onStdout);
      ch.stderr.on('data', onStderr);
    };
    try {
      client.exec(command, opened);
    } catch (err) {
      // ssh2 throws "Not connected" when the socket is no longer writable.
      if (settle()) reject(new TransportError(`ssh exec failed: ${(err as Error).message}`));
    }
  });
}

export { TimeoutError };
