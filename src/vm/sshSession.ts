/**
 * An interactive command over the guest's ssh connection: one ssh "exec" channel whose stdin
 * kt writes to and whose output it reads as it comes, with an optional pseudo-terminal
 * (RFC 4254 §6.2 "pty-req", resized with §6.7 "window-change"). `kt shell` runs the guest's
 * shell through it; the batch commands of a run keep using `Transport.exec`.
 */
import type ssh2 from 'ssh2';
import { TransportError } from './sshTransport.js';

/** The terminal the remote side gets: its size and $TERM. */
export interface PtyRequest {
  rows: number;
  cols: number;
  term: string;
}

export interface SessionOptions {
  /** Allocate a pseudo-terminal in the guest (an interactive shell); omit for a plain command. */
  pty?: PtyRequest;
}

/** How a session ended. */
export interface SessionEnd {
  /** The command's exit status, when the guest sent one. */
  exitCode: number | null;
  /** The signal that killed the command, when it was one ("SIGINT": ssh2 adds the SIG of RFC 4254 §6.10's name). */
  signal?: string;
  /** The channel or the connection closed before the guest reported an exit status. */
  lost: boolean;
}

export interface Session {
  /** Bytes for the command's stdin (ignored once the channel is closed). */
  write(data: Buffer): void;
  /** End of the command's stdin (EOF). */
  end(): void;
  /** The local terminal changed size (SIGWINCH): tell the guest's pty. */
  resize(rows: number, cols: number): void;
  onStdout(listener: (chunk: Buffer) => void): void;
  onStderr(listener: (chunk: Buffer) => void): void;
  /** Resolves once, when the channel closes or the connection drops; never rejects. */
  readonly ended: Promise<SessionEnd>;
  /** Closes the channel (the guest's sshd hangs up the command). Idempotent. */
  close(): void;
}

/**
 * What a connection calls when it drops, one entry per channel in flight. A channel adds itself
 * and removes itself when it ends, so a long-lived connection holds nothing of the channels it
 * ran (src/vm/sshTransport.ts).
 */
export type ChannelWatchers = Set<() => void>;

/** Opens `command` as a session on an established connection; `watchers` are told when the connection drops. */
export function openSession(client: ssh2.Client, watchers: ChannelWatchers, command: string, opts: SessionOptions = {}): Promise<Session> {
  const execOptions: ssh2.ExecOptions = opts.pty ? { pty: { rows: opts.pty.rows, cols: opts.pty.cols, width: 0, height: 0, term: opts.pty.term } } : {};
  return new Promise<Session>((resolve, reject) => {
    client.exec(command, execOptions, (err, channel) => {
      if (err) return reject(new TransportError(`ssh session failed: ${err.message}`));
      let exitCode: number | null = null;
      let signal: string | undefined;
      let gotExit = false;
      let open = true;
      let finish!: (end: SessionEnd) => void;
      const ended = new Promise<SessionEnd>((r) => (finish = r));
      const done = () => {
        open = false;
        watchers.delete(done);
        finish({ exitCode, ...(signal !== undefined ? { signal } : {}), lost: !gotExit });
      };
      // ssh2 emits 'exit' with (code) for "exit-status" and (null, name, ...) for "exit-signal" (RFC 4254 §6.10).
      channel.on('exit', (code: number | null, sig?: string) => {
        gotExit = true;
        exitCode = typeof code === 'number' ? code : null;
        if (typeof sig === 'string') signal = sig;
      });
      channel.on('close', done);
      // Both streams always flow: a channel whose output nobody reads never ends, so its
      // 'close' would never come (Node streams emit 'end' only once the data is consumed).
      // What arrives before a listener does (a prompt) is held for it.
      const stdout = relay();
      const stderr = relay();
      channel.on('data', stdout.push);
      channel.stderr.on('data', stderr.push);
      // A write racing the channel's close must not become an unhandled error.
      channel.on('error', () => undefined);
      channel.stderr.on('error', () => undefined);
      watchers.add(done);
      resolve({
        write: (data) => {
          if (open) channel.write(data);
        },
        end: () => {
          if (open) channel.end();
        },
        resize: (rows, cols) => {
          if (open) channel.setWindow(rows, cols, 0, 0);
        },
        onStdout: stdout.listen,
        onStderr: stderr.listen,
        ended,
        close: () => {
          if (open) channel.close();
        },
      });
    });
  });
}

/** Chunks to listeners, holding those that come before the first listener. */
function relay(): { push: (chunk: Buffer) => void; listen: (listener: (chunk: Buffer) => void) => void } {
  const listeners: ((chunk: Buffer) => void)[] = [];
  let held: Buffer[] = [];
  return {
    push: (chunk) => {
      if (listeners.length === 0) held.push(chunk);
      else for (const l of listeners) l(chunk);
    },
    listen: (listener) => {
      listeners.push(listener);
      for (const chunk of held) listener(chunk);
      held = [];
    },
  };
}
