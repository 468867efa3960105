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
import { openSession, type Session, type SessionOptions } from './sshSession.js';

export interface ExecOptions {
  /** Called with stdout chunks as they arrive (check's stream is parsed live). */
  onStdout?: (chunk: Buffer) => void;
  /** Rejects with TimeoutError (and closes the channel) when the command takes longer. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number | null;
  /** Signal name when the remote command was killed by one. */
  signal?: string;
  stdout: string;
  stderr: string;
}

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
  let closedResolve!: () => void;
  const closed = new Promise<void>((resolve) => (closedResolve = resolve));
  client.on('close', () => closedResolve());
  client.on('end', () => closedResolve());
  sock.on('close', () => closedResolve());

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
        keepaliveInterval: 10_000,
        keepaliveCountMax: 6,
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
  client.on('error', () => closedResolve());

  let isClosed = false;
  void closed.then(() => (isClosed = true));

  function exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (isClosed) return Promise.reject(new TransportError('ssh connection to the guest is closed'));
    // An already aborted signal never fires 'abort': refuse before the command starts.
    if (opts.signal?.aborted) return Promise.reject(new TransportError('aborted'));
    const run = new Promise<ExecResult>((resolve, reject) => {
      client.exec(command, (err, channel) => {
        if (err) return reject(new TransportError(`ssh exec failed: ${err.message}`));
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let exitCode: number | null = null;
        let signal: string | undefined;
        channel.on('data', (chunk: Buffer) => {
          out.push(chunk);
          opts.onStdout?.(chunk);
        });
        channel.stderr.on('data', (chunk: Buffer) => errOut.push(chunk));
        channel.on('exit', (code: number | null, sig?: string) => {
          exitCode = code;
          signal = sig ?? undefined;
        });
        const onClosed = () => reject(new TransportError(`connection lost while running: ${command.slice(0, 80)}`));
        void closed.then(onClosed);
        const abort = () => {
          channel.close();
          reject(new TransportError('aborted'));
        };
        opts.signal?.addEventListener('abort', abort, { once: true });
        channel.on('close', () => {
          opts.signal?.removeEventListener('abort', abort);
          resolve({
            exitCode,
            signal,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(errOut).toString('utf8'),
          });
        });
      });
    });
    if (!opts.timeoutMs) return run;
    return withTimeout(run, opts.timeoutMs, `guest command "${command.slice(0, 60)}"`);
  }

  return {
    exec,
    session: (command, opts) =>
      isClosed ? Promise.reject(new TransportError('ssh connection to the guest is closed')) : openSession(client, closed, command, opts),
    close: () => {
      client.end();
      sock.destroy();
    },
    closed,
  };
}

export { TimeoutError };
