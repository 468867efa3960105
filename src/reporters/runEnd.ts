/**
 * How the runs of a summary ended, for the headlines of report.html and report.md: a run that
 * did not complete is never shown as a pass. Interrupted (a signal) or killed (no run-end:
 * SIGKILL, OOM, a host crash) is a warning: what ran is reported, the rest was stopped. Ended in
 * an error (kt's own failure: no VM ever booted, the results disk filled) is bad: `kt run` exited
 * 3 for it, and `kt report` exits 3 for its log (README, "Exit codes").
 */
import type { RunInfo, RunSummary } from '../record/runSummary.js';

/** The runs that did not complete (interrupted, killed or ended in an error), in input order. */
export function unfinishedRuns(summary: RunSummary): RunInfo[] {
  return summary.runs.filter((r) => r.status !== 'completed');
}

/** Some run ended in kt's own error. */
export function someRunFailed(summary: RunSummary): boolean {
  return summary.runs.some((r) => r.status === 'error');
}

/** "interrupted by SIGINT", "ended without a run-end event (killed?)", "failed: every VM failed to boot". */
export function whyUnfinished(run: RunInfo): string {
  switch (run.status) {
    case 'killed':
      return 'ended without a run-end event (killed?)';
    case 'interrupted':
      return `interrupted${run.signal ? ` by ${run.signal}` : ''}`;
    case 'error':
      return `failed: ${(run.message ?? '').split('\n').find((l) => l.trim() !== '')?.trim() ?? 'infrastructure error'}`;
    case 'completed':
      return 'completed';
  }
}
