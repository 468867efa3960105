/**
 * Every report leads with the baseline verdict (docs/baseline.md): the interrupted scenario run
 * (every outcome kind) judged against 12 recorded runs of the same tests. Goldens for the
 * terminal and report.md; JUnit checked against the schema; summary.json and annotations by
 * their fields. Without a verdict, every reporter renders as before (the other goldens).
 */
import { describe, expect, it } from 'vitest';
import { emptyBaseline } from '../../src/baseline/format.js';
import { judge } from '../../src/baseline/judge.js';
import { updateBaseline } from '../../src/baseline/update.js';
import type { TestOutcome } from '../../src/record/outcome.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { renderGithubAnnotations } from '../../src/reporters/github.js';
import { renderJsonSummary } from '../../src/reporters/json.js';
import { renderJunit } from '../../src/reporters/junit.js';
import { renderMarkdown } from '../../src/reporters/markdown.js';
import { renderTextSummary } from '../../src/reporters/text.js';
import { O, runSummary } from '../baseline/runs.js';
import { expectGolden } from './golden.js';
import { interruptedRun } from './scenarios.js';
import { validateJunit } from './xmlSchema.js';

/** What 12 runs of the good kernel did with the scenario's tests. */
const RECORDED: Record<string, TestOutcome[]> = {
  'generic/455': [O.notrun],
  'selftest/001': [O.pass],
  'selftest/002': [O.mismatch], // known output mismatch
  'selftest/003': [O.exit3], // known failure; the scenario's flaky pass is still a failure seen
  'selftest/005': [O.panic], // known sysrq panic
  'selftest/900': [O.pass], // the scenario's _check_dmesg failure is new
  'selftest/006': [O.pass], // the scenario's hang is new
  'selftest/901': [O.exit3],
  'selftest/004': [O.pass], // the scenario's not run is new
  'generic/001': [O.pass], // the scenario's kt error is not judged
  'generic/002': [O.pass],
  'generic/003': [O.pass],
};

const summary = summarizeRun(interruptedRun());
const baseline = updateBaseline(
  emptyBaseline('kt test'),
  Array.from({ length: 12 }, (_, i) => runSummary(`good-${i + 1}`, RECORDED, { section: 'global' })),
  'kt test',
).baseline;
const verdict = judge(summary, baseline, { file: 'kt-baseline.json' });
const runDirs = { '20261121-232227-a1b2': '/home/me/linux/kt-results/20261121-232227-a1b2' };

describe('reports with a baseline verdict', () => {
  it('judges the scenario as the rules say', () => {
    expect(verdict.regressions.map((v) => `${v.test} ${v.rule}`)).toEqual(['selftest/900 new-failure', 'selftest/006 new-timeout', 'selftest/004 newly-notrun']);
    expect(verdict.known.map((v) => v.test)).toEqual(['selftest/002', 'selftest/003', 'selftest/005', 'selftest/901']);
    expect(verdict.unjudged.map((v) => v.test)).toEqual(['generic/001']);
    expect(verdict.notExecuted).toBe(2);
  });

  it('terminal: regressions first, each with its repro line; the verdict last', () => {
    const text = renderTextSummary(summary, { color: false, verdict, runDirs });
    expectGolden('text-verdict.golden.txt', text);
    expect(text.startsWith('Regressions against kt-baseline.json (3):\n  REGRESSION selftest/900\n')).toBe(true);
    expect(text.trimEnd().split('\n').at(-1)).toBe('Against kt-baseline.json: 3 regressions, 4 known failures, 1 not judged (kt errors)');
  });

  it('report.md: the verdict heads the report, known failures folded away', () => {
    const md = renderMarkdown(summary, verdict);
    expectGolden('report-verdict.golden.md', md);
    expect(md.split('\n')[0]).toBe('# ❌ kt: 3 regressions, 4 known failures, 1 not judged (kt errors)');
    expect(md.indexOf('## Regressions (3)')).toBeLessThan(md.indexOf('| Run | Section |'));
  });

  it('junit.xml: a verdict property set per testsuite, "regression:" messages, a regression is always a failure; schema-valid', () => {
    const xml = renderJunit(summary, verdict);
    expect(validateJunit([xml])).toEqual([]);
    for (const [name, value] of [['BASELINE', 'kt-baseline.json'], ['REGRESSIONS', '3'], ['KNOWN_FAILURES', '4'], ['FIXES', '0']]) {
      expect(xml).toContain(`<property name="${name}" value="${value}"/>`);
    }
    expect(xml).toContain(
      '<failure message="regression: failed: _check_dmesg: something found in dmesg (see /job/results/selftest/900.dmesg); passed in all 12 recorded runs" type="TestFail"/>',
    );
    expect(xml).toContain('<failure message="regression: timed out; never timed out in 12 recorded runs (no result after 120s (deadline 120s); VM vm3 discarded)" type="timeout"/>');
    // Newly not run: a <failure>, not a <skipped>, so the CI test report agrees with the exit code.
    expect(xml).toContain('<testcase classname="fstests.global" name="selftest/004" time="4">\n      <failure message="regression: not run (Always skip me); ran in all 12 recorded runs" type="regression"/>');
    expect(xml).toContain('<failure message="known failure: failed: [failed, exit status 3]; failed in 12 of 12 recorded runs (100%)" type="TestFail"/>');
    expect(renderJunit(summary)).not.toContain('BASELINE');
  });

  it('summary.json: a verdict field first, absent without a baseline', () => {
    const doc = JSON.parse(renderJsonSummary(summary, verdict)) as Record<string, unknown>;
    expect(Object.keys(doc).slice(0, 2)).toEqual(['version', 'verdict']);
    expect(doc['verdict']).toEqual(verdict);
    expect(Object.keys(JSON.parse(renderJsonSummary(summary)) as object)).not.toContain('verdict');
  });

  it('GitHub: an error per regression, warnings for kt errors and flaky tests, one notice for the known failures', () => {
    const lines = renderGithubAnnotations(summary, verdict);
    expect(lines.map((l) => l.slice(0, l.indexOf('::', 2)))).toEqual([
      '::error title=Regression%3A selftest/900',
      '::error title=Regression%3A selftest/006',
      '::error title=Regression%3A selftest/004',
      '::warning title=2 tests not executed (not judged)',
      '::warning title=generic/001%3A not judged',
      '::warning title=selftest/003 is flaky',
      '::notice title=4 known failures (kt-baseline.json)',
    ]);
    expect(lines[0]).toContain('::failed: _check_dmesg: something found in dmesg (see /job/results/selftest/900.dmesg); passed in all 12 recorded runs');
  });
});
