/**
 * What one repeat of `kt repro` showed for its test (docs/baseline.md, "kt repro"): the pure
 * decision behind its tally, taken from the repeat's summary. A repeat failed when its test
 * failed, crashed or timed out; when it passed only on a retry (some attempt failed first: that
 * is what a repro counts); or when it passed and the kernel then crashed on the VM that ran it,
 * outside the test (its delayed work, check's unmount after its result). A crash on another VM
 * (a boot's panic, or a VM lost before the attempt that counts) is not counted against the
 * test: it is named, and the repeat keeps its outcome.
 */
import { isTestFailure } from '../record/outcome.js';
import { crashesOutsideTests, finalAttempt, type RunSummary, type SummaryStatus } from '../record/runSummary.js';

/** How a repeat counts in the tally. */
export type RepeatResult = 'failed' | 'passed' | 'notrun' | 'error' | 'notexecuted';

/** One repeat, judged. */
export interface RepeatOutcome {
  /** The test's status in the repeat's summary. */
  status: SummaryStatus;
  /** How the repeat counts. */
  result: RepeatResult;
  /** Words after the status on the repeat's line (may be ''): the failure, or the crash after the test. */
  detail: string;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

/** The repeat of `test` summarized in `summary`. */
export function repeatOutcome(summary: RunSummary, test: string): RepeatOutcome {
  const result = summary.tests.find((t) => t.test === test);
  const status: SummaryStatus = result?.status ?? 'notexecuted';
  const last = result ? finalAttempt(result) : undefined;
  if (!result || !last) return { status, result: 'notexecuted', detail: '' };
  const outcome = last.outcome;
  if (outcome.status !== 'passed') {
    const why = outcome.status === 'crashed' ? outcome.crash.title : outcome.status === 'notrun' ? outcome.reason : outcome.message;
    const counted: RepeatResult = outcome.status === 'notrun' || outcome.status === 'error' ? outcome.status : 'failed';
    return { status, result: counted, detail: `: ${firstLine(why)}` };
  }
  const outside = crashesOutsideTests(summary);
  const after = outside.find((g) => g.machines.includes(last.machine));
  if (after) return { status, result: 'failed', detail: `, and the kernel then crashed outside the test on ${last.machine}: ${firstLine(after.crash.title)}` };
  const earlier = result.attempts.slice(0, -1).find((a) => isTestFailure(a.outcome.status));
  if (earlier) {
    const o = earlier.outcome;
    const why = o.status === 'crashed' ? o.crash.title : o.status === 'failed' || o.status === 'timedout' ? o.message : '';
    return { status, result: 'failed', detail: ` on a retry, after attempt ${earlier.attempt} ${o.status}: ${firstLine(why)}` };
  }
  const elsewhere = outside[0];
  if (elsewhere) return { status, result: 'passed', detail: ` (a kernel crash on ${elsewhere.machines.join(', ')}, not after the test's result, is not counted: ${firstLine(elsewhere.crash.title)})` };
  return { status, result: 'passed', detail: '' };
}
