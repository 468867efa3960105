/**
 * The user's terminal (or stdin/stdout of a script) wired to a guest session: keys to the
 * guest through the escape filter, output back as it comes, terminal size changes forwarded
 * (Node emits 'resize' on a TTY stdout when SIGWINCH arrives). Returns how the session ended;
 * every listener it adds is removed before it returns.
 */
import type { Session, SessionEnd } from '../vm/sshSession.js';
import { EscapeFilter } from './shellEscape.js';

/** Why the session ended. */
export type SessionOutcome =
  /** The shell or command exited, or its channel closed (`end.lost`: without an exit status). */
  | { kind: 'exited'; end: SessionEnd }
  /** The user typed the escape. */
  | { kind: 'escape' }
  /** Something outside the session ended it first (a signal, a kernel crash, QEMU gone). */
  | { kind: 'interrupted' };

export interface SessionIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/**
 * Pipes `io` through `session` until it ends, the user escapes (`escape`: raw mode, keys go
 * through the escape filter) or `interrupt` resolves. The session's channel is closed on return.
 */
export async function pipeSession(session: Session, io: SessionIo, opts: { escape: boolean; interrupt: Promise<void> }): Promise<SessionOutcome> {
  const filter = new EscapeFilter();
  let escaped!: () => void;
  const escapedPromise = new Promise<void>((resolve) => (escaped = resolve));
  const onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!opts.escape) return session.write(bytes);
    const r = filter.push(bytes);
    if (r.forward.length > 0) session.write(r.forward);
    if (r.quit) escaped();
  };
  // End of a script's stdin is the command's EOF; a terminal in raw mode never ends.
  const onEnd = () => session.end();
  const onResize = () => {
    if (io.stdout.rows && io.stdout.columns) session.resize(io.stdout.rows, io.stdout.columns);
  };
  session.onStdout((chunk) => io.stdout.write(chunk));
  session.onStderr((chunk) => io.stderr.write(chunk));
  // A terminal closed under kt (SIGHUP) fails the writes with EIO; kt still has a VM to stop.
  const onWriteError = () => undefined;
  io.stdout.on('error', onWriteError);
  io.stderr.on('error', onWriteError);
  io.stdin.on('error', onWriteError);
  io.stdin.on('data', onData);
  io.stdin.on('end', onEnd);
  io.stdin.resume();
  if (opts.escape) io.stdout.on('resize', onResize);
  try {
    return await Promise.race<SessionOutcome>([
      session.ended.then((end) => ({ kind: 'exited', end })),
      escapedPromise.then(() => ({ kind: 'escape' })),
      opts.interrupt.then(() => ({ kind: 'interrupted' })),
    ]);
  } finally {
    io.stdin.off('data', onData);
    io.stdin.off('end', onEnd);
    // A paused TTY or pipe stops reading, so it no longer keeps kt's event loop alive.
    io.stdin.pause();
    io.stdout.off('resize', onResize);
    io.stdout.off('error', onWriteError);
    io.stderr.off('error', onWriteError);
    io.stdin.off('error', onWriteError);
    session.close();
  }
}
