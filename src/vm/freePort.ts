import net from 'node:net';

/**
 * A free TCP port on 127.0.0.1 for a VM's ssh host forward: the kernel picks it (port 0), so
 * two kt runs on one host never choose the same one by design. The short window between
 * closing this probe and QEMU binding is the usual trade-off; a collision fails the boot
 * with QEMU's "could not set up host forwarding" and the worker boots again.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
