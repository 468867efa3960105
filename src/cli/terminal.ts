/**
 * The user's terminal during `kt shell`: raw mode while the guest's shell owns it (every key,
 * Ctrl-C included, goes to the guest; termios(3) "Raw mode"), and a restore that runs on every
 * way out — the end of the session, an error, and process exit (a second signal, a crash of kt).
 */
import fs from 'node:fs';
import tty from 'node:tty';

/**
 * What a program in the guest may leave switched on when it dies with the kernel under it
 * (a panic while vi or readline runs), each undone with its reset sequence (xterm's "Control
 * Sequences" list): attributes (SGR 0), cursor shown (DECTCEM), bracketed paste off (bash's
 * readline turns it on), normal cursor keys (DECCKM) and numeric keypad (DECKPNM). Each is
 * harmless when the mode was not on.
 */
export const TERMINAL_RESET = '\x1b[0m\x1b[?25h\x1b[?2004l\x1b[?1l\x1b>';

export interface RawTerminal {
  /** Raw mode off and TERMINAL_RESET written. Idempotent; synchronous (safe in 'exit' handlers). */
  restore(): void;
  /** A line for the user while raw mode is on (a raw terminal does not turn \n into \r\n). */
  say(line: string): void;
}

/** Puts the terminal of `stdin` into raw mode; `stdin` must be a TTY. */
export function enterRawMode(stdin: NodeJS.ReadStream, stdoutFd: number, stderrFd: number): RawTerminal {
  let raw = true;
  stdin.setRawMode(true);
  const restore = () => {
    if (!raw) return;
    raw = false;
    process.off('exit', restore);
    try {
      stdin.setRawMode(false);
    } catch {
      // The terminal is gone (SIGHUP): nothing to restore.
    }
    try {
      if (tty.isatty(stdoutFd)) fs.writeSync(stdoutFd, TERMINAL_RESET);
    } catch {
      // as above
    }
  };
  process.on('exit', restore);
  return {
    restore,
    say(line) {
      try {
        fs.writeSync(stderrFd, raw ? `\r\n${line}\r\n` : `${line}\n`);
      } catch {
        // The terminal is gone.
      }
    },
  };
}

/**
 * After the terminal was hung up (SIGHUP: the window closed): Node resets every stdio terminal
 * to its start-up modes when the process exits (src/node.cc, ResetStdio) and, in Node 20,
 * aborts when that fails — as it does with EIO on a hung-up terminal (nodejs/node#51519, fixed
 * later by nodejs/node#58200). ResetStdio skips a descriptor that was closed, so each stdio
 * descriptor whose terminal is gone is closed here, after kt's last word; writes that still
 * come are dropped.
 */
export function releaseHungUpTerminal(): void {
  const streams: [number, { isTTY?: boolean; on(event: 'error', fn: () => void): unknown }][] = [
    [0, process.stdin],
    [1, process.stdout],
    [2, process.stderr],
  ];
  for (const [fd, stream] of streams) {
    if (stream.isTTY !== true || tty.isatty(fd)) continue;
    stream.on('error', () => undefined);
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
  }
}
