/**
 * The host port of a user-mode network forward, read back from QEMU. kt asks QEMU to bind
 * `hostfwd=tcp:127.0.0.1:0-:22`: libslirp binds port 0, so the kernel picks a free port inside
 * QEMU's own bind() and no other process can take it in between (a port probed and released by
 * kt could be). The chosen port is only visible in the HMP command `info usernet` (QEMU 7.2 has
 * no QMP command for it), which QMP runs through `human-monitor-command`.
 */

/**
 * The 127.0.0.1 port forwarded to `guestPort`, from `info usernet` output (libslirp's
 * slirp_connection_info), e.g.
 *
 *   Hub -1 (net0):
 *     Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ
 *     TCP[HOST_FORWARD]   8       127.0.0.1 36147       10.0.2.15    22     0     0
 *
 * Undefined when no such forward is listed, or when several are (kt sets exactly one).
 */
export function hostForwardPort(infoUsernet: string, guestPort: number): number | undefined {
  const ports = new Set<number>();
  for (const line of infoUsernet.split(/\r?\n/)) {
    const m = /^\s*TCP\[HOST_FORWARD\]\s+\d+\s+127\.0\.0\.1\s+(\d+)\s+\S+\s+(\d+)\s/.exec(line);
    if (m && Number(m[2]) === guestPort) ports.add(Number(m[1]));
  }
  if (ports.size !== 1) return undefined;
  const [port] = ports;
  return port !== undefined && port > 0 && port < 65536 ? port : undefined;
}
