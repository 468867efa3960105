/**
 * The command channel to a guest: one ssh2 connection per VM, multiplexing every command as
 * its own channel. Over a virtio-serial port (a unix socket on the host, no guest network) or
 * a 127.0.0.1 host forward. Commands never go over the console (style.md: nipa's mistake).
 */
import net from 'node:net';
import ssh2 from 'ssh2';
import { TimeoutError, withTimeout } from './qmp.js';

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
  close(): void;
  /** Resolves when the connection drops for any reason. */
  readonly closed: Promise<void>;
}


export type Endpoint = { kind: 'virtio-serial'; socket: string } | { kind: 'tcp'; port: number };

export async function connectSsh(endpoint: Endpoint, privateKey: string, timeoutMs: number): Promise<Transport> {
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
      client.once('error', reject);
      sock.once('error', reject);
      client.connect({
        sock,
        username: 'root',
        privateKey,
        readyTimeout: timeoutMs,
        // The endpoint is a private socket (or 127.0.0.1 port) of a VM this process just
        // booted with a fresh per-run key; there is no one in the middle to verify against.
        hostVerifier: () => true,
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
    throw err;
  });
  client.on('error', () => closedResolve());

  let isClosed = false;
  void closed.then(() => (isClosed = true));

  function exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (isClosed) return Promise.reject(new TransportError('ssh connection to the guest is closed'));
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
    close: () => {
      client.end();
      sock.destroy();
    },
    closed,
  };
}

export { TimeoutError };
