/**
 * Raw console bytes in, whole lines out. Crash patterns are only ever matched on whole lines:
 * a marker split across two reads must not be missed (nipa's vmksft-p runner checked markers per 1024-byte read and missed split ones).
 */

/** One console line. */
export interface ConsoleLine {
  /** The line as the console printed it: UTF-8 decoded (invalid bytes become U+FFFD), no terminator. */
  raw: string;
  /** The same line for matching: ANSI escape sequences, NUL and other control characters removed. */
  text: string;
}

export interface LineSplitterOptions {
  /** A line longer than this many bytes is cut into pieces (a console that never sends "\n"). */
  maxLineBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

// ECMA-48: CSI "ESC [ params intermediates final", OSC "ESC ] ... BEL|ST", and two-byte escapes
// such as SeaBIOS's "ESC c" (reset) that open every sample console.
const ANSI_ESCAPE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]?/g;
// C0 controls except TAB, and DEL: NUL padding and stray bytes from a serial line.
const CONTROL_CHARS = /[\x00-\x08\x0a-\x1f\x7f]/g;

/** Removes ANSI escape sequences and control characters (except TAB) from one line. */
export function cleanConsoleText(raw: string): string {
  return raw.replace(ANSI_ESCAPE, '').replace(CONTROL_CHARS, '');
}

/**
 * Splits a byte stream into lines. "\n", "\r\n", "\r\r\n" and a lone "\r" each end one line;
 * a terminator split across two chunks is handled. Bytes are split before decoding, so a
 * multi-byte UTF-8 character split across chunks survives (no UTF-8 byte is "\r" or "\n").
 */
export class LineSplitter {
  private readonly maxLineBytes: number;
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });
  private readonly encoder = new TextEncoder();
  private partial: Uint8Array[] = [];
  private partialBytes = 0;
  /** The previous byte was "\r": a "\n" (or further "\r") right after it ends nothing new. */
  private afterCR = false;

  constructor(options: LineSplitterOptions = {}) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /** Feeds a chunk; returns the lines it completed. */
  push(chunk: Uint8Array | string): ConsoleLine[] {
    const bytes = typeof chunk === 'string' ? this.encoder.encode(chunk) : chunk;
    const lines: ConsoleLine[] = [];
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i];
      if (this.afterCR) {
        if (byte === CR || byte === LF) {
          this.afterCR = byte === CR;
          start = i + 1;
          continue;
        }
        this.afterCR = false;
      }
      if (byte === LF || byte === CR) {
        this.keep(bytes.subarray(start, i), lines);
        lines.push(this.takeLine());
        start = i + 1;
        this.afterCR = byte === CR;
      }
    }
    this.keep(bytes.subarray(start), lines);
    return lines;
  }

  /** Returns the last, unterminated line (if any). Call when the console closes. */
  flush(): ConsoleLine[] {
    this.afterCR = false;
    return this.partialBytes > 0 ? [this.takeLine()] : [];
  }

  private keep(bytes: Uint8Array, lines: ConsoleLine[]): void {
    let rest = bytes;
    while (this.partialBytes + rest.length > this.maxLineBytes) {
      const room = this.maxLineBytes - this.partialBytes;
      this.partial.push(rest.slice(0, room));
      this.partialBytes += room;
      lines.push(this.takeLine());
      rest = rest.subarray(room);
    }
    if (rest.length > 0) {
      // copy: the caller may reuse its buffer
      this.partial.push(rest.slice());
      this.partialBytes += rest.length;
    }
  }

  private takeLine(): ConsoleLine {
    const bytes = this.partial.length === 1 ? this.partial[0]! : concat(this.partial, this.partialBytes);
    this.partial = [];
    this.partialBytes = 0;
    const raw = this.decoder.decode(bytes);
    return { raw, text: cleanConsoleText(raw) };
  }
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Makes a ConsoleLine from a line that is already split (tests, logs read from disk). */
export function toConsoleLine(line: string | ConsoleLine): ConsoleLine {
  return typeof line === 'string' ? { raw: line, text: cleanConsoleText(line) } : line;
}
