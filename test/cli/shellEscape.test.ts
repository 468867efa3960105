/**
 * The escape of `kt shell` (Ctrl-] then q) over byte chunks as a terminal in raw mode delivers
 * them: one key per read when typed, many when pasted, the escape split across two reads.
 */
import { describe, expect, it } from 'vitest';
import { ESCAPE_BYTE, EscapeFilter } from '../../src/cli/shellEscape.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const CTRL_RBRACKET = String.fromCharCode(ESCAPE_BYTE);

describe('EscapeFilter', () => {
  it('passes every other byte through, Ctrl-C included', () => {
    const f = new EscapeFilter();
    expect(f.push(b('ls -l\r\x03\x04'))).toEqual({ forward: b('ls -l\r\x03\x04'), quit: false });
  });

  it('quits on Ctrl-] q, keeping what came before and dropping what comes after', () => {
    const f = new EscapeFilter();
    expect(f.push(b(`echo${CTRL_RBRACKET}qrm -rf`))).toEqual({ forward: b('echo'), quit: true });
  });

  it('quits on Q and . too', () => {
    expect(new EscapeFilter().push(b(`${CTRL_RBRACKET}Q`)).quit).toBe(true);
    expect(new EscapeFilter().push(b(`${CTRL_RBRACKET}.`)).quit).toBe(true);
  });

  it('keeps the escape across reads (typed one key at a time)', () => {
    const f = new EscapeFilter();
    expect(f.push(b(CTRL_RBRACKET))).toEqual({ forward: b(''), quit: false });
    expect(f.push(b('q'))).toEqual({ forward: b(''), quit: true });
  });

  it('sends one Ctrl-] for two, and Ctrl-] plus any other key as typed', () => {
    const f = new EscapeFilter();
    expect(f.push(b(`${CTRL_RBRACKET}${CTRL_RBRACKET}x`))).toEqual({ forward: b(`${CTRL_RBRACKET}x`), quit: false });
    expect(f.push(b(CTRL_RBRACKET))).toEqual({ forward: b(''), quit: false });
    expect(f.push(b('a'))).toEqual({ forward: b(`${CTRL_RBRACKET}a`), quit: false });
    // After a doubled Ctrl-], q is an ordinary key.
    expect(f.push(b(`${CTRL_RBRACKET}${CTRL_RBRACKET}q`))).toEqual({ forward: b(`${CTRL_RBRACKET}q`), quit: false });
  });
});
