/**
 * The exit code a run's record earns (README "Exit codes"): 0 when no test failed, crashed, timed
 * out or met an infrastructure error, 1 otherwise. Signals and host errors are decided by the
 * CLI before the record is judged.
 */
import { hasFailures, type RunSummary } from './runSummary.js';

/** 0 no failures, 1 test failures (errors.ts ExitCode). */
export function exitCodeFor(summary: RunSummary): 0 | 1 {
  return hasFailures(summary) ? 1 : 0;
}
