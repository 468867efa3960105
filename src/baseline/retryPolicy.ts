/**
 * `--retries N` with a baseline (docs/baseline.md, "Retries"): attempts go where they tell the
 * developer something.
 *
 * - A failure the baseline does not expect (the judge calls it a regression) is run N more
 *   times on fresh VMs, whatever those attempts give, so the report can say "failed 2 of 3": a
 *   rate, not a geometric sample that stops at the first pass.
 * - A failure the baseline expects is not rerun: it tells nothing new.
 * - A pass of a test that usually fails is rerun while it keeps passing (up to N times), so a
 *   fix can be told from luck.
 *
 * The shape matches the runner's RetryPolicy (src/runner/dispatcher.ts) structurally, so this
 * folder needs nothing from the runner. The dispatcher calls it once per finished attempt of an
 * item, in attempt order, which is what the per-test memory below relies on.
 */
import type { TestOutcome } from '../record/outcome.js';
import { isTestFailure } from '../record/outcome.js';
import type { Baseline } from './format.js';
import { judgeTest } from './judge.js';
import type { Observation } from './observe.js';
import { testKey } from '../record/testKey.js';

/** The fields of a work item the policy reads. */
export interface RetryItem {
  section: string;
  test: string;
  /** The attempt that just finished (1 for the first). */
  attempt: number;
}

/** Decides whether a finished attempt runs again. */
export type BaselineRetryPolicy = (item: RetryItem, outcome: TestOutcome) => boolean;

/** One attempt as the judge sees it. */
function singleAttempt(outcome: TestOutcome): Observation {
  const obs: Observation = { failed: 0, attempts: 1, notrun: 0, errors: 0, crashes: [], timeouts: 0, hangs: [] };
  if (outcome.status === 'passed') return obs;
  obs.failed = 1;
  if (outcome.status === 'crashed') obs.crashes.push(outcome.crash);
  if (outcome.status === 'timedout') {
    obs.timeouts = 1;
    if (outcome.crash) obs.hangs.push(outcome.crash);
  }
  return obs;
}

export function baselineRetryPolicy(baseline: Baseline, retries: number): BaselineRetryPolicy {
  /** What the first attempt decided for a test: measure its failure rate, or confirm a fix. */
  const plan = new Map<string, 'measure' | 'confirm'>();
  return (item, outcome) => {
    if (item.attempt > retries) return false;
    const key = testKey(item.section, item.test);
    if (item.attempt === 1) {
      // Not run and kt errors say nothing about the kernel: never retried, as without a baseline.
      if (outcome.status !== 'passed' && !isTestFailure(outcome.status)) return false;
      const sectionTests = baseline.sections[item.section];
      const judged = judgeTest(
        { section: item.section, test: item.test, sectionKnown: sectionTests !== undefined, entry: sectionTests?.[item.test] },
        singleAttempt(outcome),
      ).judgement;
      if (judged === 'regression') plan.set(key, 'measure');
      else if (judged === 'possible-fix') plan.set(key, 'confirm');
      else return false;
      return true;
    }
    const step = plan.get(key);
    if (step === 'measure') return outcome.status === 'passed' || isTestFailure(outcome.status);
    if (step === 'confirm') return outcome.status === 'passed';
    return false;
  };
}
