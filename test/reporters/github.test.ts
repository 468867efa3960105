import { describe, expect, it } from 'vitest';
import { escapeAnnotationData, escapeAnnotationProperty, isGithubActions, renderGithubAnnotations, GITHUB_ANNOTATION_LIMIT } from '../../src/reporters/github.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { interruptedRun, RunScript } from './scenarios.js';

describe('GitHub annotations', () => {
  it('escapes like @actions/core: data %, CR, LF; properties also : and ,', () => {
    expect(escapeAnnotationData('100% a:b,c\r\nd')).toBe('100%25 a:b,c%0D%0Ad');
    expect(escapeAnnotationProperty('100% a:b,c\r\nd')).toBe('100%25 a%3Ab%2Cc%0D%0Ad');
  });

  it('is only enabled inside GitHub Actions', () => {
    expect(isGithubActions({ GITHUB_ACTIONS: 'true' })).toBe(true);
    expect(isGithubActions({})).toBe(false);
  });

  it('annotates each crash once, each failure, flaky and never-executed tests', () => {
    const lines = renderGithubAnnotations(summarizeRun(interruptedRun()));
    expect(lines.map((l) => l.slice(0, l.indexOf('::', 2)))).toEqual([
      '::error title=Kernel crash%3A Kernel panic - not syncing%3A sysrq triggered crash',
      '::error title=selftest/002 failed',
      '::error title=selftest/900 failed',
      '::error title=selftest/006 timed out',
      '::error title=selftest/901 failed',
      '::error title=generic/001%3A kt error',
      '::warning title=2 tests not executed',
      '::warning title=selftest/003 is flaky',
    ]);
    expect(lines[1]).toContain('::- output mismatch (see /job/results/selftest/002.out.bad) (on vm1 after 5.0s)%0A--- tests/selftest/002.out');
  });

  it('emits one line per annotation whatever the text, and caps them at GitHub\'s limit', () => {
    const tests = Array.from({ length: 15 }, (_, i) => `generic/${String(i).padStart(3, '0')}`);
    const s = new RunScript().start({ tests });
    tests.forEach((t, i) => s.test(t, 'vm1', i * 2, 1, { status: 'failed', message: `line1\nline2\r::error::%,:`, diff: '\u001b[31m-\u0000x' }));
    const lines = renderGithubAnnotations(summarizeRun(s.sorted()));
    expect(lines).toHaveLength(GITHUB_ANNOTATION_LIMIT);
    for (const line of lines) expect(line).not.toMatch(/[\r\n\u0000\u001b]/);
    expect(lines.at(-1)).toBe('::error title=6 more failures::see junit.xml or report.md in the run directory');
  });
});
