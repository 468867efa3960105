/**
 * Making untrusted text (test names, console excerpts, diffs, dmesg: arbitrary bytes from a
 * guest) safe inside report.html. Everything from the run goes through `html()` or `attr()`;
 * the page never puts run text into a tag name, an unquoted attribute, a script or a style.
 *
 * Besides the five markup characters, characters the HTML standard calls parse errors in the
 * input stream (controls, noncharacters, lone surrogates; HTML §13.2.3.5 "Preprocessing the
 * input stream") are removed or replaced, and so are bidirectional overrides, which could make
 * a test name read as another one.
 */
import { capText, MAX_TEXT_CHARS, stripAnsi } from './textSafety.js';

// C0 controls but \t \n, DEL and C1 controls; noncharacters U+FDD0–U+FDEF, U+xFFFE/U+xFFFF of
// the BMP (astral ones are rare enough to leave); bidi embeddings, overrides and isolates.
const HTML_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFDD0-\uFDEF\uFFFE\uFFFF\u202A-\u202E\u2066-\u2069]/g;

// With the `u` flag a surrogate class matches only lone surrogates (a pair is one code point).
const LONE_SURROGATE = /[\uD800-\uDFFF]/gu;

const ENTITY: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text without ANSI sequences, carriage returns, controls or lone surrogates (still unescaped). */
export function cleanText(text: string): string {
  return stripAnsi(text).replace(/\r\n?/g, '\n').replace(HTML_FORBIDDEN, '').replace(LONE_SURROGATE, '\uFFFD');
}

/** Escapes the markup characters of already clean text. */
function escapeMarkup(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITY[ch] ?? ch);
}

/** Run text as element content: capped, cleaned, escaped. */
export function html(text: string, maxChars: number = MAX_TEXT_CHARS): string {
  return escapeMarkup(cleanText(capText(text, maxChars)));
}

/** Run text as a double-quoted attribute value (one line: tooltips, data attributes). */
export function attr(text: string, maxChars = 1024): string {
  return escapeMarkup(cleanText(capText(text, maxChars)).replace(/\s*\n\s*/g, ' '));
}

/**
 * An href to a file of the run, relative to the report: each segment percent-encoded, so a
 * hostile artifact path cannot become `javascript:` (the colon is encoded: a relative path) or
 * leave the run directory. Undefined for an absolute path, a backslash, no name, or a `..`.
 */
export function relativeHref(relPath: string, base = ''): string | undefined {
  if (relPath.startsWith('/') || relPath.includes('\\')) return undefined;
  const own = relPath.split('/').filter((p) => p !== '' && p !== '.');
  if (own.length === 0 || own.includes('..')) return undefined;
  // `base` is kt's own (where a shard's run directory is, seen from a merged report).
  const baseParts = base.split('/').filter((p) => p !== '' && p !== '.');
  // encodeURIComponent throws on a lone surrogate: such a name cannot be linked faithfully anyway.
  return [...baseParts, ...own].map((p) => (p === '..' ? '..' : encodeURIComponent(p.replace(LONE_SURROGATE, '\uFFFD')))).join('/');
}
