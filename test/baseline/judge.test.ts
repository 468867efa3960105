/**
 * The judge on recorded runs: baselines are folded from event logs of real outcomes (check's
 * output, crash titles src/crash finds in real consoles), the judged run is another such log.
 * Each row of the table is one rule of docs/baseline.md, with the exact line a developer reads.
 */
import { describe, expect, it } from 'vitest';
import { emptyBaseline, type Baseline } from '../../src/baseline/format.js';
import { judge, MIN_TRUSTED_RUNS } from '../../src/baseline/judge.js';
import { updateBaseline } from '../../src/baseline/update.js';
import type { TestOutcome } from '../../src/record/outcome.js';
import type { RunSummary } from '../../src/record/runSummary.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { exitCodeFor, type TestVerdict } from '../../src/record/verdict.js';
import { interruptedRun } from '../reporters/scenarios.js';
import { HUNG_TASK, NULL_DEREF, O, runSummary } from './runs.js';

const T = 'selftest/002';

/** A baseline of recorded runs: each element is one run's attempts of T (in section xfs). */
function baselineOf(runs: TestOutcome[][], section = 'xfs'): Baseline {
  const summaries = runs.map((attempts, i) => runSummary(`base-${i + 1}`, { [T]: attempts, 'generic/001': [O.pass] }, { section }));
  return updateBaseline(emptyBaseline('kt test'), summaries, 'kt test').baseline;
}

/** `n` copies of one run's attempts. */
function times(n: number, attempts: TestOutcome[]): TestOutcome[][] {
  return Array.from({ length: n }, () => attempts);
}

function judged(baseline: Baseline, attempts: TestOutcome[], section = 'xfs'): TestVerdict | undefined {
  const v = judge(runSummary('head', { [T]: attempts }, { section }), baseline, { file: 'kt-baseline.json' });
  return [...v.regressions, ...v.known, ...v.fixes, ...v.possibleFixes, ...v.unjudged].find((t) => t.test === T);
}

interface Row {
  name: string;
  baseline: TestOutcome[][];
  /** Section the baseline was recorded in (default xfs). */
  baselineSection?: string;
  now: TestOutcome[];
  judgement: TestVerdict['judgement'] | 'ok';
  rule?: TestVerdict['rule'];
  why?: string;
}

/** A failed XFS ASSERT with bug_on_assert, by its title (the report's other fields a real oops's). */
const XFS_ASSERT = (title: string): TestOutcome => ({
  status: 'crashed',
  message: 'kernel BUG while the test ran',
  // fs/xfs/xfs_message.c assfail() with bug_on_assert: its frame is in the report.
  crash: { ...NULL_DEREF, title, excerpt: 'kernel BUG at fs/xfs/xfs_message.c:110!\ninvalid opcode: 0000 [#1] PREEMPT SMP NOPTI\nRIP: 0010:assfail+0x2c/0x40 [xfs]' },
});
const MISMATCH = '- output mismatch (see /job/results/selftest/002.out.bad)';

const ROWS: Row[] = [
  {
    name: 'new failure: failed, passed in every recorded run',
    baseline: times(12, [O.pass]),
    now: [O.mismatch],
    judgement: 'regression',
    rule: 'new-failure',
    why: `failed: ${MISMATCH}; passed in all 12 recorded runs`,
  },
  {
    name: 'known failure: fails in every recorded run',
    baseline: times(12, [O.mismatch]),
    now: [O.mismatch],
    judgement: 'known',
    rule: 'known-failure',
    why: `failed: ${MISMATCH}; failed in 12 of 12 recorded runs (100%)`,
  },
  {
    name: 'known flaky failure: one failure is no evidence of a higher rate',
    baseline: [...times(2, [O.exit3]), ...times(18, [O.pass])],
    now: [O.exit3],
    judgement: 'known',
    rule: 'known-failure',
    why: 'failed: [failed, exit status 3]; failed in 2 of 20 recorded runs (10%)',
  },
  {
    name: 'rate jump: 3 of 3 attempts against 2 of 20 runs',
    baseline: [...times(2, [O.exit3]), ...times(18, [O.pass])],
    now: [O.exit3, O.exit3, O.exit3],
    judgement: 'regression',
    rule: 'rate',
    why: "failed 3 of 3 attempts; failed in 2 of 20 recorded runs (10%); p = 0.006 (Fisher's exact test)",
  },
  {
    name: 'no rate jump: 2 of 3 attempts against 2 of 20 runs (p = 0.067)',
    baseline: [...times(2, [O.exit3]), ...times(18, [O.pass])],
    now: [O.exit3, O.exit3, O.pass],
    judgement: 'known',
    rule: 'known-failure',
    why: 'failed: [failed, exit status 3] (2 of 3 attempts failed); failed in 2 of 20 recorded runs (10%)',
  },
  {
    name: 'fix: a failure in all 12 recorded runs passes 3 times',
    baseline: times(12, [O.mismatch]),
    now: [O.pass, O.pass, O.pass],
    judgement: 'fix',
    rule: 'fixed',
    why: "passed 3 of 3 attempts; failed in 12 of 12 recorded runs (100%); p = 0.002 (Fisher's exact test)",
  },
  {
    name: 'one pass of a usual failure is a possible fix, not a fix',
    baseline: times(12, [O.mismatch]),
    now: [O.pass],
    judgement: 'possible-fix',
    rule: 'passed-usual-failure',
    why: 'passed; failed in 12 of 12 recorded runs (100%): not yet enough passes to call it fixed (rerun with --retries or kt repro --count)',
  },
  {
    name: 'a pass of a rarely failing test is just a pass',
    baseline: [...times(2, [O.exit3]), ...times(18, [O.pass])],
    now: [O.pass, O.pass],
    judgement: 'ok',
  },
  {
    name: 'new crash: a test that always passed crashes',
    baseline: times(12, [O.pass]),
    now: [O.nullDeref],
    judgement: 'regression',
    rule: 'new-crash',
    why: `crashed: ${NULL_DEREF.title}; a new crash for this test (12 recorded runs, no crash recorded)`,
  },
  {
    name: 'new crash title on a known failure: output mismatch before, an oops now',
    baseline: times(5, [O.mismatch]),
    now: [O.nullDeref],
    judgement: 'regression',
    rule: 'new-crash',
    why: `crashed: ${NULL_DEREF.title}; a new crash for this test (5 recorded runs, no crash recorded)`,
  },
  {
    name: 'new crash title on a test that crashed before with another title',
    baseline: [...times(2, [O.panic]), ...times(3, [O.pass])],
    now: [O.nullDeref],
    judgement: 'regression',
    rule: 'new-crash',
    why: `crashed: ${NULL_DEREF.title}; a new crash for this test (5 recorded runs, recorded: 1 other title)`,
  },
  {
    name: 'known crash: the recorded title again',
    baseline: [...times(2, [O.panic]), ...times(3, [O.pass])],
    now: [O.panic],
    judgement: 'known',
    rule: 'known-failure',
    why: 'crashed: Kernel panic - not syncing: sysrq triggered crash; failed in 2 of 5 recorded runs (40%)',
  },
  {
    // A baseline from before failed XFS ASSERTs were titled by their caller (src/baseline/legacyTitles.ts).
    name: 'an XFS assertion recorded under its old helper title is known under its caller\'s title',
    baseline: [...times(2, [XFS_ASSERT('kernel BUG in assfail')]), ...times(3, [O.pass])],
    now: [XFS_ASSERT('kernel BUG in xfs_inactive')],
    judgement: 'known',
    rule: 'known-failure',
  },
  {
    name: 'the old helper title does not hide another crash of the same kind that is no assertion',
    baseline: [...times(2, [XFS_ASSERT('kernel BUG in assfail')]), ...times(3, [O.pass])],
    now: [{ status: 'crashed', message: 'kernel BUG while the test ran', crash: { ...NULL_DEREF, title: 'kernel BUG in iomap_write_begin' } }],
    judgement: 'regression',
    rule: 'new-crash',
  },
  {
    name: 'the old helper title does not hide a crash of another kind',
    baseline: [...times(2, [XFS_ASSERT('kernel BUG in assfail')]), ...times(3, [O.pass])],
    now: [O.nullDeref],
    judgement: 'regression',
    rule: 'new-crash',
  },
  {
    name: 'a corrupted crash report of a test that crashed before is not a new title',
    baseline: [...times(2, [O.panic]), ...times(3, [O.pass])],
    now: [O.corruptedCrash],
    judgement: 'known',
    rule: 'known-failure',
  },
  {
    name: 'a corrupted crash report of a test that never crashed is a new crash',
    baseline: times(4, [O.pass]),
    now: [O.corruptedCrash],
    judgement: 'regression',
    rule: 'new-crash',
    why: 'crashed (a corrupted report: BUG: unable to handle kernel NULL pointer dereference in corrupted); never crashed in 4 recorded runs',
  },
  {
    name: 'a corrupted crash report of a test whose recorded crashes were all retried (it crashed, then passed or failed)',
    baseline: [[O.corruptedCrash, O.pass], [O.corruptedCrash, O.mismatch], ...times(3, [O.pass])],
    now: [O.corruptedCrash],
    judgement: 'known',
    rule: 'known-failure',
  },
  {
    name: 'a hang with no report, of a test that timed out before only ahead of a retry that passed',
    baseline: [[O.hang, O.pass], ...times(4, [O.pass])],
    now: [O.hang],
    judgement: 'known',
    rule: 'known-failure',
    why: 'timed out; failed in 1 of 5 recorded runs (20%)',
  },
  {
    name: 'a hang with no report, of a test that timed out before only ahead of a retry that failed',
    baseline: [[O.hang, O.mismatch], ...times(4, [O.pass])],
    now: [O.hang],
    judgement: 'known',
    rule: 'known-failure',
  },
  {
    name: 'a hang with a report the baseline never had, of a test that timed out before (with no report) ahead of a retry',
    baseline: [[O.hang, O.pass], ...times(4, [O.pass])],
    now: [O.hungTask],
    judgement: 'regression',
    rule: 'new-timeout',
    why: 'timed out: INFO: task hung in msleep; a hang the baseline never recorded for this test (5 recorded runs)',
  },
  {
    name: 'a crash with a trustworthy title, of a test whose only recorded crash was a corrupted report ahead of a retry',
    baseline: [[O.corruptedCrash, O.pass], ...times(4, [O.pass])],
    now: [O.nullDeref],
    judgement: 'regression',
    rule: 'new-crash',
  },
  {
    name: 'new hang of a known output mismatch',
    baseline: times(5, [O.mismatch]),
    now: [O.hang],
    judgement: 'regression',
    rule: 'new-timeout',
    why: 'timed out; never timed out in 5 recorded runs',
  },
  {
    name: 'a known hang with its recorded hung-task title',
    baseline: [...times(3, [O.hungTask]), ...times(3, [O.pass])],
    now: [O.hungTask],
    judgement: 'known',
    rule: 'known-failure',
    why: `timed out: ${HUNG_TASK.title}; failed in 3 of 6 recorded runs (50%)`,
  },
  {
    name: 'flaky now (failed, then passed on a retry), passed in every recorded run',
    baseline: times(12, [O.pass]),
    now: [O.dmesg, O.pass],
    judgement: 'regression',
    rule: 'new-failure',
    why: 'failed: _check_dmesg: something found in dmesg (see /job/results/selftest/900.dmesg) (1 of 2 attempts failed); passed in all 12 recorded runs',
  },
  {
    name: 'flaky now, recorded flaky',
    baseline: [...times(3, [O.dmesg, O.pass]), ...times(9, [O.pass])],
    now: [O.dmesg, O.pass],
    judgement: 'known',
    rule: 'known-failure',
    why: 'failed: _check_dmesg: something found in dmesg (see /job/results/selftest/900.dmesg) (1 of 2 attempts failed); failed in 3 of 12 recorded runs (25%)',
  },
  {
    name: 'section not in the baseline',
    baseline: times(12, [O.pass]),
    baselineSection: 'xfs/4k',
    now: [O.mismatch],
    judgement: 'regression',
    rule: 'section-not-in-baseline',
    why: `failed: ${MISMATCH}; the baseline has no run of section xfs`,
  },
  {
    name: 'too few recorded runs: a first failure is still a regression, and says so',
    baseline: times(1, [O.pass]),
    now: [O.mismatch],
    judgement: 'regression',
    rule: 'new-failure',
    why: `failed: ${MISMATCH}; passed in the only recorded run (fewer than ${MIN_TRUSTED_RUNS}: a flaky test cannot be told yet)`,
  },
  {
    name: 'too few recorded runs: no rate regression from 1 of 2',
    baseline: [[O.exit3], [O.pass]],
    now: [O.exit3, O.exit3, O.exit3],
    judgement: 'known',
    rule: 'known-failure',
  },
  {
    name: 'too few recorded runs: no fix from 2 of 2 failing runs',
    baseline: times(2, [O.mismatch]),
    now: [O.pass, O.pass, O.pass, O.pass, O.pass, O.pass],
    judgement: 'possible-fix',
    rule: 'passed-usual-failure',
  },
  {
    name: 'a kt error says nothing about the kernel: unjudged',
    baseline: times(12, [O.pass]),
    now: [O.error],
    judgement: 'unjudged',
    rule: 'kt-error',
    why: 'kt error: transport lost: ssh channel closed while the test ran; no verdict on the kernel',
  },
  {
    name: 'a kt error, then a pass on the fresh VM: just a pass',
    baseline: times(12, [O.pass]),
    now: [O.error, O.pass],
    judgement: 'ok',
  },
  {
    name: 'a kt error, then the known failure: known',
    baseline: times(12, [O.mismatch]),
    now: [O.error, O.mismatch],
    judgement: 'known',
    rule: 'known-failure',
  },
  {
    name: 'newly not run: ran in every recorded run',
    baseline: times(12, [O.pass]),
    now: [O.notrun],
    judgement: 'regression',
    rule: 'newly-notrun',
    why: 'not run (This test requires a valid $LOGWRITES_DEV); ran in all 12 recorded runs',
  },
  {
    name: 'not run, and not run in some recorded runs',
    baseline: [...times(2, [O.notrun]), ...times(10, [O.pass])],
    now: [O.notrun],
    judgement: 'ok',
  },
  {
    name: 'failed, where every recorded run said not run',
    baseline: times(3, [O.notrun]),
    now: [O.mismatch],
    judgement: 'regression',
    rule: 'new-failure',
    why: `failed: ${MISMATCH}; it never ran in the 3 recorded runs (not run)`,
  },
];

describe('judge: one rule per row', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const v = judged(baselineOf(row.baseline, row.baselineSection), row.now);
      if (row.judgement === 'ok') {
        expect(v).toBeUndefined();
        return;
      }
      expect(v?.judgement).toBe(row.judgement);
      expect(v?.rule).toBe(row.rule);
      if (row.why !== undefined) expect(v?.why).toBe(row.why);
    });
  }
});

describe('judge: whole runs', () => {
  const passing12 = (): Baseline => {
    const plan = Object.fromEntries(
      ['generic/455', 'selftest/001', 'selftest/002', 'selftest/003', 'selftest/005', 'selftest/900', 'selftest/006', 'selftest/901', 'selftest/004', 'generic/001', 'generic/002', 'generic/003'].map(
        (t) => [t, [O.pass]],
      ),
    );
    const runs: RunSummary[] = Array.from({ length: 12 }, (_, i) => runSummary(`base-${i + 1}`, plan, { section: 'global' }));
    return updateBaseline(emptyBaseline('kt test'), runs, 'kt test').baseline;
  };

  it('an interrupted run is not a regression storm: tests that never ran are not judged', () => {
    const summary = summarizeRun(interruptedRun());
    const v = judge(summary, passing12(), { file: 'kt-baseline.json' });
    expect(v.notExecuted).toBe(summary.counts.notexecuted);
    expect(v.notExecuted).toBe(2);
    // What did run is judged: the failures of tests that always passed, the crash, the hang,
    // the newly not run tests; generic/001 lost its VM (a kt error) and is not judged.
    expect(v.regressions.map((r) => `${r.test} ${r.rule}`)).toEqual([
      'generic/455 newly-notrun',
      'selftest/002 new-failure',
      'selftest/003 new-failure',
      'selftest/005 new-crash',
      'selftest/900 new-failure',
      'selftest/006 new-timeout',
      'selftest/901 new-failure',
      'selftest/004 newly-notrun',
    ]);
    expect(v.unjudged.map((u) => u.test)).toEqual(['generic/001']);
    expect(v.regressions.some((r) => r.test === 'generic/002' || r.test === 'generic/003')).toBe(false);
  });

  it('the exit code follows the verdict: 0 with only known failures, 1 with a regression, 3 with only kt errors', () => {
    const base = baselineOf(times(12, [O.mismatch]));
    const known = runSummary('head', { [T]: [O.mismatch], 'generic/001': [O.pass] });
    expect(exitCodeFor(known)).toBe(1);
    expect(exitCodeFor(known, judge(known, base, { file: 'b' }))).toBe(0);
    const regressed = runSummary('head', { [T]: [O.mismatch], 'generic/001': [O.exit3] });
    expect(exitCodeFor(regressed, judge(regressed, base, { file: 'b' }))).toBe(1);
    const infra = runSummary('head', { [T]: [O.mismatch], 'generic/001': [O.error] });
    expect(exitCodeFor(infra, judge(infra, base, { file: 'b' }))).toBe(3);
  });

  it('names the sections the baseline has no run of, once', () => {
    const head = runSummary('head', { [T]: [O.mismatch], 'generic/001': [O.exit3] }, { section: 'xfs/1k' });
    const v = judge(head, baselineOf(times(3, [O.pass])), { file: 'b' });
    expect(v.sectionsNotInBaseline).toEqual(['xfs/1k']);
    expect(v.regressions.map((r) => r.rule)).toEqual(['section-not-in-baseline', 'section-not-in-baseline']);
  });

  it('a test the baseline never ran in a known section', () => {
    const head = runSummary('head', { 'generic/999': [O.exit3] });
    const v = judge(head, baselineOf(times(3, [O.pass])), { file: 'b' });
    expect(v.regressions).toEqual([
      {
        section: 'xfs',
        test: 'generic/999',
        judgement: 'regression',
        rule: 'not-in-baseline',
        why: 'failed: [failed, exit status 3]; the baseline has no run of this test in section xfs',
        observed: { failed: 1, attempts: 1 },
      },
    ]);
  });
});

describe('judge on counts that disagree (a baseline built in code; parseBaseline refuses such a file)', () => {
  // The reviewer's entry: 4 flaky runs of 3 passes makes F = 5 failing runs of N = 4.
  const inconsistent = (): Baseline => ({
    ...emptyBaseline('kt test'),
    sections: { xfs: { [T]: { runs: 4, passed: 3, failed: 1, crashed: 0, timedout: 0, notrun: 0, error: 0, flaky: 4, crashedEarlier: 0, timedoutEarlier: 0, titles: {} } } },
  });

  it('never throws: repeated failures and repeated passes are judged without the rate test', () => {
    expect(judged(inconsistent(), [O.mismatch, O.mismatch, O.mismatch])).toMatchObject({ judgement: 'known', rule: 'known-failure' });
    expect(judged(inconsistent(), [O.pass, O.pass, O.pass])).toMatchObject({ judgement: 'possible-fix', rule: 'passed-usual-failure' });
  });
});
