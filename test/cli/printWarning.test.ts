import { afterEach, describe, expect, it, vi } from 'vitest';
import { printWarning } from '../../src/cli/printWarning.js';

describe('printWarning', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('writes one "kt: warning:" line to stderr, with control characters made visible', () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    printWarning('booting from /tmp/a\nb\u001b[31m/root.img instead');
    printWarning('plain');
    expect(written).toEqual(['kt: warning: booting from /tmp/a\\nb\\u001b[31m/root.img instead\n', 'kt: warning: plain\n']);
  });
});
