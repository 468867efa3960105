/**
 * The verdict of a run: its exit code, and — when the run is judged against a baseline of
 * earlier runs (src/baseline, docs/baseline.md) — which results are regressions, known failures
 * or fixes. Every report leads with the regressions.
 */
import { crashesOutsideTests, hasFailures, type RunSummary } from './runSummary.js';

/**
 * How one result compares with the baseline. `possible-fix`: a usual failure passed, but not
 * often enough yet to call it fixed; `unjudged`: only kt's own errors (infrastructure), so
 * nothing is known about the kernel; `ok`: as expected.
 */
export type Judgement = 'regression' | 'known' | 'fix' | 'possible-fix' | 'unjudged' | 'ok';

/** Which rule of docs/baseline.md decided a judgement. */
export type VerdictRule =
  /** Failed; passed in every recorded run. */
  | 'new-failure'
  /** Crashed with a title the baseline never recorded for the test. */
  | 'new-crash'
  /** Timed out; never timed out in a recorded run (or a new hang title). */
  | 'new-timeout'
  /** Failed more often than its recorded rate allows (Fisher's exact test). */
  | 'rate'
  /** Not run now; ran in every recorded run. */
  | 'newly-notrun'
  /** Failed; the baseline has no run of this test in this section. */
  | 'not-in-baseline'
  /** Failed; the baseline has no run of this section at all. */
  | 'section-not-in-baseline'
  /** Failed at (or below) its recorded rate. */
  | 'known-failure'
  /** Stopped failing: passed repeatedly, significantly below its recorded rate. */
  | 'fixed'
  /** Passed, where it usually fails; not yet enough passes to call it fixed. */
  | 'passed-usual-failure'
  /** Only kt's own errors: says nothing about the kernel. */
  | 'kt-error'
  /** As the baseline expects: passed, or not run where it was not run before. */
  | 'as-expected';

/** What the run under judgement showed for one test. */
export interface ObservedRate {
  /** Attempts that failed, crashed or timed out. */
  failed: number;
  /** Attempts that passed or failed (not run and kt errors left out). */
  attempts: number;
}

/** What the baseline recorded for one test. */
export interface RecordedRate {
  /** Runs in which the test failed, crashed or timed out (also those that passed on a retry). */
  failing: number;
  /** Runs in which it passed or failed (not run and kt errors left out). */
  runs: number;
}

/** One judged (section, test). */
export interface TestVerdict {
  section: string;
  test: string;
  judgement: Judgement;
  /** One line a developer reads: why it is judged so (e.g. "failed; passed in all 12 recorded runs"). */
  why: string;
  /** The rule that decided it. */
  rule: VerdictRule;
  /** The run's attempts, when it ran. */
  observed?: ObservedRate;
  /** The baseline's record, when it has one. */
  recorded?: RecordedRate;
  /** The crash or hang title a new-crash/new-timeout regression is about. */
  title?: string;
}

/** The run judged against a baseline. */
export interface RunVerdict {
  /** The baseline file used. */
  baseline: string;
  /** Results that are worse than the baseline says they should be: these decide the exit code. */
  regressions: TestVerdict[];
  /** Failures the baseline expects (at their recorded rate). */
  known: TestVerdict[];
  /** Known failures that now pass. */
  fixes: TestVerdict[];
  /** Usual failures that passed, too few times to call them fixed. */
  possibleFixes: TestVerdict[];
  /** Tests with only kt errors (infrastructure): no verdict on the kernel. */
  unjudged: TestVerdict[];
  /** Planned tests that never ran (interrupted run): not judged at all. */
  notExecuted: number;
  /** Sections of the run that the baseline has no run of. */
  sectionsNotInBaseline: string[];
  /** Recorded runs below which a rate is not trusted (docs/baseline.md). */
  minRuns: number;
}

/**
 * 0 no failures, 1 test failures (errors.ts ExitCode). With a verdict: 1 for regressions; else 3
 * (infrastructure) when some test had only kt errors, so it was never judged; else 0.
 */
export function exitCodeFor(summary: RunSummary, verdict?: RunVerdict): 0 | 1 | 3 {
  if (verdict) {
    // A panic no test's outcome carries has no rate in any baseline: never a pass.
    if (verdict.regressions.length > 0 || crashesOutsideTests(summary).length > 0) return 1;
    return verdict.unjudged.length > 0 ? 3 : 0;
  }
  return hasFailures(summary) ? 1 : 0;
}
