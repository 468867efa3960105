/**
 * The verdict of a run: its exit code, and — when the run is judged against a baseline of
 * earlier runs (src/baseline) — which results are regressions, known failures or fixes.
 * Every report leads with the regressions.
 */
import { hasFailures, type RunSummary } from './runSummary.js';

/** How one result compares with the baseline. */
export type Judgement = 'regression' | 'known' | 'fix' | 'ok';

/** One judged (section, test). */
export interface TestVerdict {
  section: string;
  test: string;
  judgement: Judgement;
  /** One line a developer reads: why it is judged so (e.g. "failed; passed in all 12 recorded runs"). */
  why: string;
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
}

/** 0 no failures, 1 test failures (errors.ts ExitCode); with a verdict, 1 only for regressions. */
export function exitCodeFor(summary: RunSummary, verdict?: RunVerdict): 0 | 1 {
  if (verdict) return verdict.regressions.length > 0 ? 1 : 0;
  return hasFailures(summary) ? 1 : 0;
}
