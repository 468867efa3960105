/**
 * Transport.exec's lifecycle against a real ssh server (ssh2's Server on a unix socket, as the
 * guest's sshd sits behind QEMU's virtio-serial chardev): a finished command leaves nothing of
 * itself on the connection, and a command the caller gives up on (timeout, abort) is killed,
 * its channel closed, and its output no longer reaches the caller.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { TimeoutError, type Transport, TransportError } from '../../src/vm/sshTransport.js';
import { sshTestGuests } from './sshTestGuest.js';

const guests = sshTestGuests('kt-ssh-exec-');

/** One command as the server saw it. */
interface Seen {
  command: string;
  /** Signals the client sent for it (RFC 4254 §6.9), by name. */
  signals: string[];
  /** The channel closed. */
  closed: boolean;
}

/**
 * The guest. `big`: 64 KiB of output in 16 writes, exit 0. `forever`: one line, then never
 * ends. `poke`: writes "late" into every `forever` channel still open, then exits 0 — ssh
 * carries a connection's packets in order, so once `poke` has answered, those lines have
 * reached the client. `hangup`: drops the whole connection.
 */
async function guest(): Promise<{ transport: Transport; seen: Seen[] }> {
  const seen: Seen[] = [];
  const forever = new Set<ssh2.ServerChannel>();
  const transport = await guests.connect((accept, conn) => {
    const session = accept();
    let s: Seen | undefined;
    session.on('signal', (_acc, _rej, info) => s?.signals.push(info.name));
    session.on('exec', (acc, _rej, info) => {
      const record: Seen = { command: info.command, signals: [], closed: false };
      s = record;
      seen.push(record);
      const stream = acc();
      // Consumed, so the channel's 'end' and then 'close' come (ssh2 lib/utils.js onCHANNEL_CLOSE).
      stream.resume();
      stream.on('close', () => {
        record.closed = true;
        forever.delete(stream);
      });
      if (info.command === 'big') {
        for (let i = 0; i < 16; i++) stream.write(Buffer.alloc(4096, 97 + i));
        stream.exit(0);
        stream.end();
      } else if (info.command === 'forever') {
        forever.add(stream);
        stream.write('first\n');
      } else if (info.command === 'poke') {
        for (const f of forever) f.write('late\n');
        stream.write('poked\n');
        stream.exit(0);
        stream.end();
      } else if (info.command === 'hangup') {
        conn.end();
      } else {
        stream.exit(127);
        stream.end();
      }
    });
  });
  return { transport, seen };
}

/** Resolves once `pred` holds, checked every few milliseconds (vitest's timeout bounds it). */
async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setTimeout(r, 5));
}

/** A full garbage collection (V8's --expose-gc, enabled at run time for this worker). */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

describe('Transport.exec', () => {
  it('keeps nothing of a finished command while the connection stays open', async () => {
    const { transport } = await guest();
    const gc = collector();
    // Every stdout chunk of 20 finished commands, weakly: the caller drops the results, so only
    // something the connection still holds could keep a chunk alive.
    const chunks: WeakRef<Buffer>[] = [];
    let bytes = 0;
    for (let i = 0; i < 20; i++) {
      const r = await transport.exec('big', { onStdout: (chunk) => chunks.push(new WeakRef(chunk)) });
      expect(r.exitCode).toBe(0);
      bytes += r.stdout.length;
    }
    expect(bytes).toBe(20 * 16 * 4096);
    expect(chunks.length).toBeGreaterThanOrEqual(20);
    // A WeakRef's target survives until the current task ends (ECMA-262 KeepDuringJob): collect
    // on later turns.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      gc();
    }
    expect(chunks.filter((c) => c.deref() !== undefined).length).toBe(0);
    // The connection still works after all that.
    expect((await transport.exec('poke')).stdout).toBe('poked\n');
  });

  it('on a timeout, kills the command, closes its channel and forwards no more of its output', async () => {
    const { transport, seen } = await guest();
    let rejected = false;
    const afterRejection: string[] = [];
    // `forever` never ends, so this timeout fires however fast or slow the machine is.
    const err = await transport
      .exec('forever', {
        timeoutMs: 200,
        onStdout: (chunk) => {
          if (rejected) afterRejection.push(chunk.toString());
        },
      })
      .catch((e: unknown) => e);
    rejected = true;
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe('guest command "forever" timed out after 200 ms');
    // The guest writes into the timed-out channel if it is still open; poke's answer comes after.
    expect((await transport.exec('poke')).stdout).toBe('poked\n');
    expect(afterRejection).toEqual([]);
    const forever = seen.find((s) => s.command === 'forever')!;
    await until(() => forever.closed);
    expect(forever.signals).toEqual(['KILL']);
  });

  it('on an abort, kills the command and closes its channel', async () => {
    const { transport, seen } = await guest();
    const controller = new AbortController();
    let rejected = false;
    const afterRejection: string[] = [];
    const run = transport.exec('forever', {
      signal: controller.signal,
      onStdout: (chunk) => {
        if (rejected) afterRejection.push(chunk.toString());
        // Abort once the command runs and its first output arrived.
        else controller.abort();
      },
    });
    const err = await run.catch((e: unknown) => e);
    rejected = true;
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toBe('aborted');
    expect((await transport.exec('poke')).stdout).toBe('poked\n');
    expect(afterRejection).toEqual([]);
    const forever = seen.find((s) => s.command === 'forever')!;
    await until(() => forever.closed);
    expect(forever.signals).toEqual(['KILL']);
  });

  it('fails every running command as lost when the connection drops, and refuses new ones', async () => {
    const { transport } = await guest();
    const running = transport.exec('forever').catch((e: unknown) => e);
    const hangup = transport.exec('hangup').catch((e: unknown) => e);
    for (const err of await Promise.all([running, hangup])) {
      expect(err).toBeInstanceOf(TransportError);
    }
    expect(((await running) as Error).message).toBe('connection lost while running: forever');
    await transport.closed;
    await expect(transport.exec('poke')).rejects.toThrow('ssh connection to the guest is closed');
  });
});
