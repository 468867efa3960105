/**
 * A guest's sshd for the transport's tests: ssh2's Server on a unix socket, as the guest's sshd
 * sits behind QEMU's virtio-serial chardev, with publickey authentication only. Each test file
 * handles the sessions its own way; this owns the sockets, servers and connections, made fresh
 * for every test and closed after it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterEach, beforeEach } from 'vitest';
import { generateSshKeyPair } from '../../src/vm/sshKeyPair.js';
import { connectSsh, type Transport } from '../../src/vm/sshTransport.js';

export type OnSession = (accept: () => ssh2.Session, conn: ssh2.Connection) => void;

/** Registers the per-test set-up and clean-up; `connect` starts a guest and connects to it. */
export function sshTestGuests(prefix: string): { connect(onSession: OnSession): Promise<Transport> } {
  let tmp: string;
  let servers: ssh2.Server[];
  let transports: Transport[];
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    servers = [];
    transports = [];
  });
  afterEach(async () => {
    for (const t of transports) t.close();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  return {
    async connect(onSession) {
      const keys = generateSshKeyPair('kt-guest');
      const server = new ssh2.Server({ hostKeys: [keys.private] }, (conn) => {
        conn.on('error', () => {});
        conn.on('authentication', (ctx) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])));
        conn.on('ready', () => conn.on('session', (accept) => onSession(accept, conn)));
      });
      servers.push(server);
      const socket = path.join(tmp, `ssh-${servers.length}.sock`);
      await new Promise<void>((resolve) => server.listen(socket, resolve));
      const transport = await connectSsh({ kind: 'virtio-serial', socket }, generateSshKeyPair().private, 10_000, keys.public);
      transports.push(transport);
      return transport;
    },
  };
}
