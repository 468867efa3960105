/**
 * A minimal QMP client (QEMU Machine Protocol, docs/interop/qmp-spec): newline-delimited JSON
 * over the VM's unix socket. Used to ask a hung guest for task dumps (sysrq via send-key), to
 * take a memory dump after a panic, and to quit QEMU politely.
 */
import net from 'node:net';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Pending {
  resolve: (value: Json) => void;
  reject: (err: Error) => void;
}

export class QmpClient {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  /** Asynchronous events QEMU sent (e.g. GUEST_PANICKED), newest last. */
  readonly events: { event: string; data?: Json }[] = [];

  private open = true;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => {
      this.open = false;
      this.failAll(new Error('QMP connection closed'));
    });
    socket.on('error', (err) => this.failAll(err));
  }

  /**
   * Connects and negotiates capabilities; rejects after timeoutMs. A failed attempt closes its
   * socket: QEMU serves one QMP client at a time and keeps later connections waiting in the
   * socket's backlog, so an abandoned one would take the only slot as soon as QEMU got to it.
   */
  static async connect(path: string, timeoutMs: number): Promise<QmpClient> {
    const socket = net.connect(path);
    const client = new QmpClient(socket);
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('error', reject);
        }),
        timeoutMs,
        `QMP connect to ${path}`,
      );
      // The greeting ({"QMP": ...}) arrives first; qmp_capabilities leaves negotiation mode.
      await client.execute('qmp_capabilities', undefined, timeoutMs);
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /** False once the socket closed (QEMU exited, or close() was called). */
  get isOpen(): boolean {
    return this.open;
  }

  /** Runs a command; rejects with TimeoutError after timeoutMs, and a late reply is dropped. */
  execute(command: string, args?: { [key: string]: Json }, timeoutMs = 10_000): Promise<Json> {
    const { id, reply } = this.send(command, args);
    return withTimeout(reply, timeoutMs, `QMP ${command}`).finally(() => this.pending.delete(id));
  }

  /**
   * Runs a command with no timeout of its own: settles with QEMU's reply, or rejects when the
   * connection closes. For a caller that must know when QEMU is really done with a command it
   * stopped waiting for (a memory dump still writing its file).
   */
  request(command: string, args?: { [key: string]: Json }): Promise<Json> {
    return this.send(command, args).reply;
  }

  private send(command: string, args?: { [key: string]: Json }): { id: string; reply: Promise<Json> } {
    const id = `kt-${this.nextId++}`;
    if (!this.open) return { id, reply: Promise.reject(new Error('QMP connection closed')) };
    const reply = new Promise<Json>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.socket.write(JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id }) + '\n');
    return { id, reply };
  }

  /** Presses keys on the guest keyboard, e.g. ['alt', 'sysrq', 'w'] for a blocked-task dump. */
  async sendKeys(keys: string[]): Promise<void> {
    await this.execute('send-key', { keys: keys.map((k) => ({ type: 'qcode', data: k })) });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      let msg: { [key: string]: Json };
      try {
        msg = JSON.parse(line) as { [key: string]: Json };
      } catch {
        continue;
      }
      const id = typeof msg.id === 'string' ? msg.id : undefined;
      if (typeof msg.event === 'string') {
        this.events.push({ event: msg.event, data: msg.data });
      } else if (id && this.pending.has(id)) {
        const p = this.pending.get(id)!;
        this.pending.delete(id);
        if ('error' in msg) p.reject(new Error(`QMP error: ${JSON.stringify(msg.error)}`));
        else p.resolve(msg.return ?? null);
      }
    }
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}
