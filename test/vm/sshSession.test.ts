/**
 * Transport.session against a real ssh server (ssh2's Server on a unix socket, as the guest's
 * sshd sits behind QEMU's virtio-serial chardev): the pty request carries the terminal's size
 * and $TERM, a resize arrives as window-change, keys reach the command's stdin, and the session
 * ends with the exit status, the killing signal, or "lost" when the connection drops.
 */
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import type { Transport } from '../../src/vm/sshTransport.js';
import { sshTestGuests } from './sshTestGuest.js';

const guests = sshTestGuests('kt-ssh-session-');

/** What the server saw of one session. */
interface Seen {
  command?: string;
  pty?: { rows: number; cols: number; term: string };
  windows: { rows: number; cols: number }[];
  stdin: Buffer[];
}

type Script = (stream: ssh2.ServerChannel, seen: Seen, conn: ssh2.Connection) => void;

async function guest(script: Script): Promise<{ transport: Transport; seen: Seen }> {
  const seen: Seen = { windows: [], stdin: [] };
  const transport = await guests.connect((accept, conn) => {
    const session = accept();
    session.on('pty', (acc, _rej, info) => {
      seen.pty = { rows: info.rows, cols: info.cols, term: info.term };
      acc?.();
    });
    session.on('window-change', (acc, _rej, info) => {
      seen.windows.push({ rows: info.rows, cols: info.cols });
      acc?.();
    });
    session.on('exec', (acc, _rej, info) => {
      seen.command = info.command;
      const stream = acc();
      stream.on('data', (chunk: Buffer) => seen.stdin.push(chunk));
      script(stream, seen, conn);
    });
  });
  return { transport, seen };
}

/** Resolves once `pred` holds, checked on every event-loop turn. */
async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setImmediate(r));
}

describe('Transport.session', () => {
  it('asks for a pty of the given size and TERM, forwards resizes and keys, and ends with the exit status', async () => {
    const { transport, seen } = await guest((stream) => {
      stream.write('root@guest# ');
      stream.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('exit')) {
          stream.write('bye\r\n');
          stream.exit(3);
          stream.end();
        }
      });
    });
    const session = await transport.session('cd /var/lib/xfstests && exec bash -i', { pty: { rows: 50, cols: 160, term: 'tmux-256color' } });
    const out: Buffer[] = [];
    session.onStdout((c) => out.push(c));
    await until(() => Buffer.concat(out).toString().includes('root@guest# '));
    session.resize(40, 120);
    await until(() => seen.windows.length === 1);
    session.write(Buffer.from('exit\r'));
    const end = await session.ended;
    expect(seen.command).toBe('cd /var/lib/xfstests && exec bash -i');
    expect(seen.pty).toEqual({ rows: 50, cols: 160, term: 'tmux-256color' });
    expect(seen.windows).toEqual([{ rows: 40, cols: 120 }]);
    expect(Buffer.concat(seen.stdin).toString()).toBe('exit\r');
    expect(Buffer.concat(out).toString()).toBe('root@guest# bye\r\n');
    expect(end).toEqual({ exitCode: 3, lost: false });
  });

  it('without a pty: stdin EOF reaches the command, stderr stays apart', async () => {
    const { transport, seen } = await guest((stream) => {
      stream.on('end', () => {
        stream.stderr.write('warn\n');
        stream.write(`got ${Buffer.concat(seen.stdin).length} bytes\n`);
        stream.exit(0);
        stream.end();
      });
    });
    const session = await transport.session('cat');
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    session.onStdout((c) => out.push(c));
    session.onStderr((c) => err.push(c));
    session.write(Buffer.from('12345'));
    session.end();
    expect(await session.ended).toEqual({ exitCode: 0, lost: false });
    expect(seen.pty).toBeUndefined();
    expect(Buffer.concat(out).toString()).toBe('got 5 bytes\n');
    expect(Buffer.concat(err).toString()).toBe('warn\n');
  });

  it('reports the signal that killed the command', async () => {
    const { transport } = await guest((stream) => {
      stream.exit('INT', false, '');
      stream.end();
    });
    const session = await transport.session('sleep 100');
    expect(await session.ended).toEqual({ exitCode: null, signal: 'SIGINT', lost: false });
  });

  it('ends as lost when the connection drops before an exit status (a guest that died)', async () => {
    const { transport } = await guest((stream, _seen, conn) => {
      stream.write('partial');
      setImmediate(() => conn.end());
    });
    const session = await transport.session('bash -i', { pty: { rows: 24, cols: 80, term: 'xterm' } });
    expect(await session.ended).toEqual({ exitCode: null, lost: true });
    // Writes after the end are dropped, not thrown.
    session.write(Buffer.from('ls\r'));
    session.resize(10, 10);
    session.close();
    await expect(transport.session('true')).rejects.toThrow('ssh connection to the guest is closed');
  });
});
