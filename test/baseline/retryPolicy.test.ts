/**
 * `--retries` with a baseline, through the runner's real Dispatcher: new failures are rerun to
 * measure a rate, known ones are not, and a usual failure that passes is rerun to confirm a fix.
 */
import { describe, expect, it } from 'vitest';
import { emptyBaseline, type Baseline } from '../../src/baseline/format.js';
import { judge } from '../../src/baseline/judge.js';
import { baselineRetryPolicy } from '../../src/baseline/retryPolicy.js';
import { updateBaseline } from '../../src/baseline/update.js';
import type { TestOutcome } from '../../src/record/outcome.js';
import { Dispatcher, type RetryPolicy } from '../../src/runner/dispatcher.js';
import { O, runSummary, type RunPlan } from './runs.js';

/** 12 recorded runs: 001 passes, 002 fails (mismatch), 005 crashes with the sysrq panic, 900 fails 1 in 4. */
function baseline(): Baseline {
  const runs = Array.from({ length: 12 }, (_, i) =>
    runSummary(`base-${i + 1}`, {
      'selftest/001': [O.pass],
      'selftest/002': [O.mismatch],
      'selftest/005': [O.panic],
      'selftest/900': [i % 4 === 0 ? O.dmesg : O.pass],
    }),
  );
  return updateBaseline(emptyBaseline('kt test'), runs, 'kt test').baseline;
}

/**
 * Runs the dispatcher to the end; attempt i of a test gets script[test][i] (the last one again
 * when the script is shorter). Returns every attempt's outcome per test, in order.
 */
async function dispatch(policy: RetryPolicy, script: Record<string, TestOutcome[]>): Promise<RunPlan> {
  const d = new Dispatcher(Object.keys(script).map((test) => ({ section: 'xfs', test })), policy);
  const seen: RunPlan = {};
  for (;;) {
    const batch = await d.next(() => 10);
    if (!batch) return seen;
    for (const item of batch) {
      const outcomes = script[item.test]!;
      const outcome = outcomes[Math.min(item.attempt, outcomes.length) - 1]!;
      (seen[item.test] ??= []).push(outcome);
      d.finish(item, outcome);
    }
  }
}

describe('baselineRetryPolicy', () => {
  it('does not rerun a hang of a test that hung before ahead of a retry (known), and reruns one of a test that never did', async () => {
    const runs = Array.from({ length: 6 }, (_, i) => runSummary(`base-${i + 1}`, { 'selftest/006': i === 0 ? [O.hang, O.pass] : [O.pass], 'selftest/007': [O.pass] }));
    const recorded = updateBaseline(emptyBaseline('kt test'), runs, 'kt test').baseline;
    const seen = await dispatch(baselineRetryPolicy(recorded, 2), { 'selftest/006': [O.hang, O.pass], 'selftest/007': [O.hang, O.pass] });
    expect(Object.fromEntries(Object.entries(seen).map(([t, a]) => [t, a.map((o) => o.status)]))).toEqual({
      'selftest/006': ['timedout'],
      'selftest/007': ['timedout', 'passed', 'passed'],
    });
  });

  it('reruns a new failure on every retry, whatever the retries give, and leaves the rest alone', async () => {
    const seen = await dispatch(baselineRetryPolicy(baseline(), 2), {
      'selftest/001': [O.exit3, O.pass, O.exit3], // new failure: measured, 3 attempts
      'selftest/002': [O.mismatch], // known failure: not rerun
      'selftest/900': [O.dmesg], // known (1 in 4): not rerun
      'generic/001': [O.pass], // passes: not rerun
    });
    expect(Object.fromEntries(Object.entries(seen).map(([t, a]) => [t, a.map((o) => o.status)]))).toEqual({
      'selftest/001': ['failed', 'passed', 'failed'],
      'selftest/002': ['failed'],
      'selftest/900': ['failed'],
      'generic/001': ['passed'],
    });
  });

  it('measures a failure of a test the baseline never ran, and a new crash title of a known failure', async () => {
    const seen = await dispatch(baselineRetryPolicy(baseline(), 1), {
      'generic/999': [O.exit3, O.exit3],
      'selftest/002': [O.nullDeref, O.mismatch],
      'selftest/005': [O.panic],
    });
    expect(seen['generic/999']).toHaveLength(2);
    expect(seen['selftest/002']?.map((o) => o.status)).toEqual(['crashed', 'failed']);
    expect(seen['selftest/005']).toHaveLength(1);
  });

  it('reruns a pass of a usual failure while it keeps passing, to tell a fix from luck', async () => {
    const seen = await dispatch(baselineRetryPolicy(baseline(), 3), {
      'selftest/002': [O.pass, O.pass, O.pass, O.pass],
      'selftest/005': [O.pass, O.panic, O.pass],
    });
    expect(seen['selftest/002']).toHaveLength(4);
    expect(seen['selftest/005']?.map((o) => o.status)).toEqual(['passed', 'crashed']);
  });

  it('never reruns a not run or a kt error, and nothing at all with --retries 0', async () => {
    expect(await dispatch(baselineRetryPolicy(baseline(), 3), { 'selftest/001': [O.notrun], 'generic/001': [O.error] })).toEqual({
      'selftest/001': [O.notrun],
      'generic/001': [O.error],
    });
    const none = await dispatch(baselineRetryPolicy(baseline(), 0), { 'selftest/001': [O.exit3], 'selftest/002': [O.pass] });
    expect(Object.values(none).map((a) => a.length)).toEqual([1, 1]);
  });

  it('gives the judge a measured rate ("failed 2 of 3") and a confirmed fix', async () => {
    const b = baseline();
    const seen = await dispatch(baselineRetryPolicy(b, 2), { 'selftest/001': [O.exit3, O.pass, O.exit3], 'selftest/002': [O.pass] });
    const v = judge(runSummary('head', seen), b, { file: 'kt-baseline.json' });
    expect(v.regressions.map((r) => r.why)).toEqual(['failed: [failed, exit status 3] (2 of 3 attempts failed); passed in all 12 recorded runs']);
    expect(v.fixes.map((f) => f.why)).toEqual(["passed 3 of 3 attempts; failed in 12 of 12 recorded runs (100%); p = 0.002 (Fisher's exact test)"]);
  });
});
