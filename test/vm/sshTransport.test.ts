/**
 * connectSsh against a real ssh server (ssh2's Server) on a unix socket, as the guest's sshd
 * sits behind QEMU's virtio-serial chardev: the host key is checked before anything runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint, HostKeyMismatchError, parseHostKeyLine } from '../../src/vm/hostKey.js';
import { generateSshKeyPair } from '../../src/vm/sshKeyPair.js';
import { connectSsh } from '../../src/vm/sshTransport.js';

let tmp: string;
let servers: ssh2.Server[];
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-ssh-'));
  servers = [];
});
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Serves `uname -r` with a fresh ed25519 host key; returns the socket and the key's .pub line. */
async function guest(): Promise<{ socket: string; hostKey: string; execs: string[] }> {
  const keys = generateSshKeyPair('kt-guest');
  const execs: string[] = [];
  const server = new ssh2.Server({ hostKeys: [keys.private] }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])));
    client.on('ready', () => {
      client.on('session', (accept) => {
        accept().on('exec', (acc, _rej, info) => {
          execs.push(info.command);
          const stream = acc();
          stream.write('6.1.0-test\n');
          stream.exit(0);
          stream.end();
        });
      });
    });
  });
  servers.push(server);
  const socket = path.join(tmp, `ssh-${servers.length}.sock`);
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return { socket, hostKey: keys.public, execs };
}

const clientKey = generateSshKeyPair().private;

describe('connectSsh host key check', () => {
  it('connects when the guest holds the expected key', async () => {
    const g = await guest();
    const t = await connectSsh({ kind: 'virtio-serial', socket: g.socket }, clientKey, 10_000, g.hostKey);
    expect((await t.exec('uname -r')).stdout).toBe('6.1.0-test\n');
    t.close();
  });

  it('refuses a guest with another key, naming both fingerprints, and runs nothing', async () => {
    const g = await guest();
    const other = generateSshKeyPair().public;
    const err = await connectSsh({ kind: 'virtio-serial', socket: g.socket }, clientKey, 10_000, other).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    const expected = fingerprint(parseHostKeyLine(other)!);
    const offered = fingerprint(parseHostKeyLine(g.hostKey)!);
    expect(err).toMatchObject({ expected, offered });
    expect((err as Error).message).toBe(`the guest offered ssh host key ${offered}, expected ${expected}`);
    expect(g.execs).toEqual([]);
  });

  it('will not start without a well-formed expected key', async () => {
    const g = await guest();
    await expect(connectSsh({ kind: 'virtio-serial', socket: g.socket }, clientKey, 10_000, 'ssh-rsa AAAA')).rejects.toThrow(
      'connectSsh: not an ssh-ed25519 public key: "ssh-rsa AAAA"',
    );
  });
});
