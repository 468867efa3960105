import { describe, expect, it } from 'vitest';
import { emptyBaseline } from '../../src/baseline/format.js';
import { judge } from '../../src/baseline/judge.js';
import { updateBaseline } from '../../src/baseline/update.js';
import { failingTests, type RunSummary } from '../../src/record/runSummary.js';
import { MARKDOWN_MAX_BYTES, mdBlock, mdCode, mdInline, renderMarkdown } from '../../src/reporters/markdown.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { O, runSummary } from '../baseline/runs.js';
import { expectGolden } from './golden.js';
import { interruptedRun, noreflinkRun, RunScript, SELFTEST_002_DIFF, SELFTEST_900_DMESG, SYSRQ_CRASH } from './scenarios.js';

describe('renderMarkdown', () => {
  it('matches the golden report.md for an interrupted run in two sections', () => {
    expectGolden('report.golden.md', renderMarkdown(summarizeRun([...interruptedRun(), ...noreflinkRun()])));
  });

  it('keeps hostile test output from breaking tables, fences or injecting HTML', () => {
    const s = new RunScript().start({ tests: ['generic/001'] });
    s.test('generic/001', 'vm1', 1, 1, { status: 'failed', message: 'a | b <img src=x> `c`', diff: '```\n</details><script>\n````' });
    const md = renderMarkdown(summarizeRun(s.sorted()));
    expect(md).toContain('`` a | b <img src=x> `c` ``');
    // The diff fence is longer than any backtick run inside it.
    expect(md).toContain('`````diff\n```\n</details><script>\n````\n`````');
  });
});

describe('markdown escaping', () => {
  it('escapes inline markdown and HTML', () => {
    expect(mdInline('a|b <x> *y* _z_ [l](u) `c`\nnext')).toBe('a\\|b \\<x\\> \\*y\\* \\_z\\_ \\[l\\](u) \\`c\\` next');
  });
  it('picks a code fence longer than the content', () => {
    expect(mdCode('x `y` z')).toBe('``x `y` z``');
    expect(mdCode('a|b', true)).toBe('`a\\|b`');
    expect(mdBlock('``` inside')).toBe('````\n``` inside\n````');
  });
});

describe('renderMarkdown on a run with a thousand failures (report.md goes to $GITHUB_STEP_SUMMARY, 1 MiB at most)', () => {
  /**
   * 10,000 tests on 4 VMs, every tenth failing with real fstests and kernel text: an output
   * mismatch with its diff and dmesg, a _check_dmesg failure, a sysrq panic with its console.
   */
  function thousandFailures(): RunSummary {
    const tests = Array.from({ length: 10_000 }, (_, i) => `generic/${String(i).padStart(5, '0')}`);
    const s = new RunScript().start({ tests, jobs: 4 });
    for (const vm of ['vm1', 'vm2', 'vm3', 'vm4']) s.boot(vm, 0);
    tests.forEach((test, i) => {
      const machine = `vm${(i % 4) + 1}`;
      const t = 10 + Math.floor(i / 4) * 2;
      if (i % 10 !== 0) s.test(test, machine, t, 1.5, { status: 'passed' });
      else if (i % 30 === 0) s.test(test, machine, t, 1.5, { status: 'crashed', message: 'kernel panic while the test ran', crash: SYSRQ_CRASH }, { dmesg: SELFTEST_900_DMESG });
      else if (i % 30 === 10) s.test(test, machine, t, 1.5, { status: 'failed', message: `- output mismatch (see /job/results/${test}.out.bad)`, diff: SELFTEST_002_DIFF }, { dmesg: SELFTEST_900_DMESG });
      else s.test(test, machine, t, 1.5, { status: 'failed', message: `_check_dmesg: something found in dmesg (see /job/results/${test}.dmesg)` }, { dmesg: SELFTEST_900_DMESG });
    });
    s.end('completed', 10 + 2500 * 2 + 10);
    return summarizeRun(s.sorted());
  }
  const summary = thousandFailures();
  const failing = failingTests(summary);
  const size = (text: string) => Buffer.byteLength(text, 'utf8');

  it('stays under its bound, names every failing test, and shows the first ones in full', () => {
    expect(failing).toHaveLength(1000);
    // Unbounded, the same report would not fit: GitHub would drop the whole step summary.
    expect(size(renderMarkdown(summary, undefined, { maxBytes: Number.POSITIVE_INFINITY }))).toBeGreaterThan(1024 * 1024);
    const md = renderMarkdown(summary);
    expect(size(md)).toBeLessThanOrEqual(MARKDOWN_MAX_BYTES);
    expect(MARKDOWN_MAX_BYTES).toBeLessThan(1024 * 1024);
    const lines = md.split('\n');
    for (const t of failing) {
      expect(lines.some((l) => l.startsWith(`### ${t.test}: `) || l.startsWith(`- ${t.test}: `)), t.test).toBe(true);
    }
    expect(lines).toContain('### generic/00000: crashed');
    expect(md).toContain(SYSRQ_CRASH.excerpt.split('\n')[1]);
    expect(lines).toContain('Shown here by name only, in full in `report.html`:');
    expect(lines.find((l) => l.startsWith('> **Shortened**'))).toBe(
      '> **Shortened** to 512 KiB (GitHub drops a step summary over 1 MiB): every failure in full is in `report.html`, every result in `summary.json`, in the run directory.',
    );
    expect(lines[0]).toBe('# ❌ kt: 9000 passed, 666 failed, 334 crashed');
  });

  it('with a baseline: every regression is named with its reason, regressions first', () => {
    const base = runSummary('base', Object.fromEntries(summary.tests.map((t) => [t.test, [O.pass]])), { section: 'global' });
    const verdict = judge(summary, updateBaseline(emptyBaseline('kt test'), [base], 'kt test').baseline, { file: 'kt-baseline.json' });
    expect(verdict.regressions).toHaveLength(1000);
    const md = renderMarkdown(summary, verdict);
    expect(size(md)).toBeLessThanOrEqual(MARKDOWN_MAX_BYTES);
    // Rows of two cells (the slowest tests have three).
    const regressionRows = md.split('\n').filter((l) => /^\| generic\/\d{5} \| /.test(l) && l.split(' | ').length === 2);
    expect(new Set(regressionRows.map((l) => l.split(' | ')[0]))).toEqual(new Set(failing.map((t) => `| ${t.test}`)));
    // Each row with its reason, none cut down to the rule's name.
    expect(regressionRows.filter((l) => / \| (new-failure|new-crash) \|$/.test(l))).toEqual([]);
    expect(regressionRows.filter((l) => l.includes('; passed in the only recorded run')).length).toBe(666);
    expect(regressionRows.filter((l) => l.includes('; a new crash for this test')).length).toBe(334);
  });

  it('under a bound too small even for the names, counts the rest and still fits', () => {
    const md = renderMarkdown(summary, undefined, { maxBytes: 16 * 1024 });
    expect(size(md)).toBeLessThanOrEqual(16 * 1024);
    expect(md).toMatch(/\n\d+ more failing tests: see `report\.html`\.\n/);
    expect(md.split('\n').filter((l) => l.startsWith('- generic/')).length).toBeGreaterThan(100);
  });
});
