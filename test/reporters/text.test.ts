import { describe, expect, it } from 'vitest';
import { shouldUseColor } from '../../src/reporters/color.js';
import { renderTextSummary } from '../../src/reporters/text.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { expectGolden } from './golden.js';
import { noreflinkRun, RunScript, interruptedRun } from './scenarios.js';

describe('renderTextSummary', () => {
  const summary = summarizeRun(interruptedRun());

  it('matches the golden terminal summary', () => {
    expectGolden('text.golden.txt', renderTextSummary(summary, { color: false }));
  });

  it('uses ANSI colours only when asked', () => {
    expect(renderTextSummary(summary, { color: false })).not.toMatch(/\u001b\[/);
    expect(renderTextSummary(summary, { color: true })).toMatch(/\u001b\[31m/);
  });

  it('ends with the counts line, green when nothing failed', () => {
    const text = renderTextSummary(summarizeRun(noreflinkRun()), { color: true });
    const last = text.trimEnd().split('\n').at(-1) ?? '';
    expect(last).toContain('\u001b[32m');
    expect(last.replace(/\u001b\[\d+m/g, '')).toBe('2 tests in 19s (1 VM booted): 1 passed, 1 not run');
  });

  it('cannot be made to move the cursor or clear the screen by test output', () => {
    const s = new RunScript().start({ tests: ['generic/001'] });
    s.test('generic/001', 'vm1', 1, 1, { status: 'failed', message: 'boom\u001b[2J\u001b[H\r', diff: '\u001b[31m-a\u001b[0m\n+b\u0007' });
    const text = renderTextSummary(summarizeRun(s.sorted()), { color: false });
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(text).toContain('      boom\n      -a\n      +b\n');
  });
});

describe('shouldUseColor', () => {
  it('honours NO_COLOR, then FORCE_COLOR, then the TTY', () => {
    expect(shouldUseColor({ isTTY: true }, {})).toBe(true);
    expect(shouldUseColor({ isTTY: false }, {})).toBe(false);
    expect(shouldUseColor({}, {})).toBe(false);
    expect(shouldUseColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(shouldUseColor({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(shouldUseColor({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(shouldUseColor({ isTTY: true }, { FORCE_COLOR: '0' })).toBe(false);
    expect(shouldUseColor({ isTTY: false }, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
  });
});
