import { describe, expect, it } from 'vitest';

import { LineSplitter, cleanConsoleText, type ConsoleLine } from '../../src/crash/line-splitter.js';

function split(chunks: readonly (string | Uint8Array)[]): ConsoleLine[] {
  const splitter = new LineSplitter();
  return [...chunks.flatMap((chunk) => splitter.push(chunk)), ...splitter.flush()];
}

const raws = (lines: readonly ConsoleLine[]): string[] => lines.map((line) => line.raw);

describe('LineSplitter', () => {
  it('ends lines at \\n, \\r\\n, \\r\\r\\n and a lone \\r', () => {
    expect(raws(split(['a\nb\r\nc\r\r\nd\re\n']))).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('keeps empty lines', () => {
    expect(raws(split(['a\n\nb\r\n\r\nc\n']))).toEqual(['a', '', 'b', '', 'c']);
  });

  it('joins a line split across chunks, and a \\r\\n split between two chunks', () => {
    expect(raws(split(['Kernel pa', 'nic - not syncing: x\r', '\nnext', ' line\n']))).toEqual([
      'Kernel panic - not syncing: x',
      'next line',
    ]);
  });

  it('returns the unterminated last line only on flush', () => {
    const splitter = new LineSplitter();
    expect(splitter.push('done\npartial')).toEqual([{ raw: 'done', text: 'done' }]);
    expect(splitter.flush()).toEqual([{ raw: 'partial', text: 'partial' }]);
    expect(splitter.flush()).toEqual([]);
  });

  it('decodes a UTF-8 character split across chunks, and turns invalid bytes into U+FFFD', () => {
    const bytes = new TextEncoder().encode('héllo\n');
    expect(raws(split([bytes.subarray(0, 2), bytes.subarray(2)]))).toEqual(['héllo']);
    expect(raws(split([new Uint8Array([0x61, 0xff, 0xfe, 0x62, 0x0a])]))).toEqual(['a\uFFFD\uFFFDb']);
  });

  it('strips ANSI escapes and NUL for matching but keeps them in raw', () => {
    // the first line of every sample console (SeaBIOS resets the terminal)
    const seabios = '\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)';
    const [line] = split([`${seabios}\n`]);
    expect(line).toEqual({ raw: seabios, text: 'SeaBIOS (version 1.16.2-debian-1.16.2-1)' });
    expect(split(['\0\0[    1.0] x\0y\n'])[0]).toEqual({ raw: '\0\0[    1.0] x\0y', text: '[    1.0] xy' });
  });

  it('keeps TAB (RCU stall lines start with one)', () => {
    expect(cleanConsoleText('rcu: \t0-....: (1487 ticks this GP)')).toBe('rcu: \t0-....: (1487 ticks this GP)');
  });

  it('cuts a line that never ends at maxLineBytes', () => {
    const splitter = new LineSplitter({ maxLineBytes: 4 });
    expect(raws(splitter.push('abcdefghij'))).toEqual(['abcd', 'efgh']);
    expect(raws(splitter.flush())).toEqual(['ij']);
  });

  it('does not keep a reference to the caller buffer', () => {
    const splitter = new LineSplitter();
    const buffer = new TextEncoder().encode('abc');
    splitter.push(buffer);
    buffer.fill(0x7a);
    expect(raws(splitter.flush())).toEqual(['abc']);
  });
});
