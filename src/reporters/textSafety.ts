/**
 * Making untrusted text (kernel console, dmesg, diffs of test output) safe to embed in reports.
 * Test output is arbitrary bytes: NUL, ANSI colours, invalid UTF-8 (already U+FFFD after JSON),
 * lone surrogates. One bad character makes a JUnit file unreadable for the whole CI job.
 */

/** Longest text kept in one report element (diff, excerpt, dmesg); the middle is cut. */
export const MAX_TEXT_CHARS = 64 * 1024;

/** Longest one-line message kept (XML attributes, annotation titles). */
export const MAX_MESSAGE_CHARS = 1024;

// ECMA-48: CSI `ESC [ params intermediates final`, OSC `ESC ] ... BEL|ST`, and two-byte `ESC x`.
const ANSI_SEQUENCE = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[@-Z\\-_])/g;

// XML 1.0 §2.2 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
// With the `u` flag a surrogate class only matches lone surrogates (pairs are one code point).
const XML_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDFFF]/gu;

/** Removes ANSI escape sequences (colours, cursor moves) that tests and the kernel print. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_SEQUENCE, '');
}

/** Removes ANSI sequences and every character XML 1.0 cannot carry, even as a reference. */
export function toXmlChars(text: string): string {
  return stripAnsi(text).replace(XML_FORBIDDEN, '');
}

/** Keeps the head and tail of a long text and says how much was cut in between. */
export function capText(text: string, maxChars: number = MAX_TEXT_CHARS): string {
  if (text.length <= maxChars) return text;
  const marker = `\n[... kt cut ${text.length - maxChars} characters ...]\n`;
  const keep = Math.max(0, maxChars - marker.length);
  const head = Math.ceil((keep * 3) / 4);
  // Cutting may split a surrogate pair; toXmlChars (applied after) drops the lone halves.
  return text.slice(0, head) + marker + text.slice(text.length - (keep - head));
}

/** A multi-line text made safe for an XML element body: capped, control characters removed. */
export function toXmlBody(text: string, maxChars: number = MAX_TEXT_CHARS): string {
  return toXmlChars(capText(text, maxChars));
}

/** A message for an XML attribute: capped shorter than a body, control characters removed. */
export function toXmlMessage(text: string, maxChars: number = MAX_MESSAGE_CHARS): string {
  return toXmlChars(capText(text, maxChars));
}

/** First `count` lines of a text (for terminal and annotation previews). */
export function headLines(text: string, count: number): { lines: string[]; more: number } {
  const all = text.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n');
  return { lines: all.slice(0, count), more: Math.max(0, all.length - count) };
}

/** Text made safe for a terminal: ANSI and control characters other than \t and \n removed. */
export function toTerminalText(text: string): string {
  return stripAnsi(text).replace(/[\u0000-\u0008\u000B-\u001F\u007F]/g, '');
}
