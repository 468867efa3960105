/**
 * QEMU makes a `server=on` unix socket in two steps: bind(), which creates the file, then
 * listen() (QEMU's util/qemu-sockets.c, unix_listen_saddr). A client that saw the file and
 * connects in between is refused (ECONNREFUSED), although QEMU is about to accept; under load
 * the window is wide enough to hit (a spare VM lost at boot in CI). So a connect that found the
 * file is retried while it is refused, until the deadline or until the caller gives up.
 */
export async function retryWhileRefused<T>(attempt: () => Promise<T>, opts: { deadline: number; pollMs: number; over: () => boolean }): Promise<T> {
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      const refused = (err as { code?: unknown }).code === 'ECONNREFUSED';
      if (!refused || opts.over() || Date.now() + opts.pollMs > opts.deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, opts.pollMs));
    }
  }
}
