/**
 * The escape of `kt shell`: in raw mode every key goes to the guest (Ctrl-C included), so one
 * key sequence is kept for kt itself — Ctrl-] (0x1d, telnet's escape character) then `q`. Pure:
 * bytes in, bytes for the guest and the decision out; the state survives chunk boundaries.
 */

/** Ctrl-]: the ASCII group separator, which no shell binds and telnet(1) uses as its escape. */
export const ESCAPE_BYTE = 0x1d;

/** What `kt shell` prints at start: the keys, in the words a user reads. */
export const ESCAPE_KEYS = 'Ctrl-] then q';

export interface EscapeResult {
  /** Bytes to send to the guest. */
  forward: Buffer;
  /** The user typed the escape: end the session (bytes after it are dropped). */
  quit: boolean;
}

/**
 * Ctrl-] q (or Q, or .) ends the session; Ctrl-] Ctrl-] sends one Ctrl-] to the guest; Ctrl-]
 * followed by any other byte sends both, so nothing the user typed is lost.
 */
export class EscapeFilter {
  private pending = false;

  push(chunk: Buffer): EscapeResult {
    const out: number[] = [];
    for (const byte of chunk) {
      if (this.pending) {
        this.pending = false;
        if (byte === 0x71 || byte === 0x51 || byte === 0x2e) return { forward: Buffer.from(out), quit: true };
        if (byte === ESCAPE_BYTE) {
          out.push(ESCAPE_BYTE);
          continue;
        }
        out.push(ESCAPE_BYTE, byte);
        continue;
      }
      if (byte === ESCAPE_BYTE) {
        this.pending = true;
        continue;
      }
      out.push(byte);
    }
    return { forward: Buffer.from(out), quit: false };
  }
}
