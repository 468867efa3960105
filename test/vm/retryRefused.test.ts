/**
 * retryWhileRefused against a real unix socket that is bound but not yet listening — what a
 * client sees between QEMU's bind() and listen() of a server=on chardev socket.
 */
import { execa, type ResultPromise } from 'execa';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { retryWhileRefused } from '../../src/vm/retryRefused.js';

// Binds, says so, waits, then listens and sends one greeting to the first client.
const SERVER = `
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
print("bound", flush=True)
time.sleep(float(sys.argv[2]))
s.listen(1)
c, _ = s.accept()
c.sendall(b"hello")
c.close()
`;

let dir: string;
let server: ResultPromise | undefined;

afterEach(() => {
  server?.kill();
  server = undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A socket file that exists and refuses until `listenAfterSec` have passed. */
async function boundNotListening(listenAfterSec: number): Promise<string> {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-test-refused-'));
  const socket = path.join(dir, 'ssh.sock');
  server = execa('python3', ['-c', SERVER, socket, String(listenAfterSec)], { reject: false });
  await new Promise<void>((resolve) => server!.stdout!.once('data', () => resolve()));
  return socket;
}

function greeting(socket: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    let text = '';
    c.on('data', (d) => (text += d.toString()));
    c.on('end', () => resolve(text));
    c.on('error', reject);
  });
}

describe('retryWhileRefused', () => {
  it('a connect to a bound socket that does not listen yet is refused (the race it handles)', async () => {
    const socket = await boundNotListening(60);
    await expect(greeting(socket)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('connects once the socket listens', async () => {
    const socket = await boundNotListening(0.5);
    await expect(retryWhileRefused(() => greeting(socket), { deadline: Date.now() + 60_000, pollMs: 10, over: () => false })).resolves.toBe('hello');
  });

  it('gives up at once when the caller is over, and on any other error', async () => {
    const socket = await boundNotListening(60);
    await expect(retryWhileRefused(() => greeting(socket), { deadline: Date.now() + 60_000, pollMs: 10, over: () => true })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    let attempts = 0;
    const missing = path.join(dir, 'none.sock');
    await expect(
      retryWhileRefused(() => (attempts++, greeting(missing)), { deadline: Date.now() + 60_000, pollMs: 10, over: () => false }),
    ).rejects.toMatchObject({ code: 'ENOENT' });
    expect(attempts).toBe(1);
  });

  it('gives up at the deadline', async () => {
    const socket = await boundNotListening(60);
    await expect(retryWhileRefused(() => greeting(socket), { deadline: Date.now() - 1, pollMs: 10, over: () => false })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
