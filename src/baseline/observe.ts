/**
 * What a set of attempts of one test says, for the two uses of docs/baseline.md: folding one
 * run into the baseline (`classifyRun`: one run counts once) and judging a run (`observe`:
 * every attempt counts, so retries and several runs measure a rate).
 */
import { isTestFailure, type CrashInfo, type TestStatus } from '../record/outcome.js';
import type { TestAttempt } from '../record/runSummary.js';

/** Statuses that say something about the kernel: the test ran and passed or failed. */
function isJudgeable(status: TestStatus): boolean {
  return status === 'passed' || isTestFailure(status);
}

/** The crash or hang report of an attempt, if it has one. */
export function crashOf(attempt: TestAttempt): CrashInfo | undefined {
  const o = attempt.outcome;
  return o.status === 'crashed' || o.status === 'timedout' ? o.crash : undefined;
}

/** One run of one test, as the baseline records it. */
export interface RunRecord {
  /**
   * The final status, ignoring kt's own errors: the last attempt that passed or failed; `notrun`
   * when the test only reported not run; `error` when kt never got a result from it.
   */
  status: 'passed' | 'failed' | 'crashed' | 'timedout' | 'notrun' | 'error';
  /** It failed, crashed or timed out, then passed on a retry. */
  flaky: boolean;
  /** An attempt crashed, and the final status is another (a retry came after it). */
  crashedEarlier: boolean;
  /** An attempt timed out, and the final status is another. */
  timedoutEarlier: boolean;
  /** Titles of the (not corrupted) crash and hang reports of its attempts, each once. */
  titles: string[];
}

/** How one run's attempts of a test are recorded; undefined when none finished (not executed). */
export function classifyRun(attempts: readonly TestAttempt[]): RunRecord | undefined {
  if (attempts.length === 0) return undefined;
  const ordered = [...attempts].sort((a, b) => a.attempt - b.attempt);
  const judgeable = ordered.filter((a) => isJudgeable(a.outcome.status));
  const titles = new Set<string>();
  for (const a of ordered) {
    const crash = crashOf(a);
    // A corrupted report's title cannot be trusted (CrashInfo.corrupted): it would be a new
    // "title" on every run.
    if (crash && !crash.corrupted) titles.add(crash.title);
  }
  const last = judgeable.at(-1);
  if (last) {
    const status = last.outcome.status as RunRecord['status'];
    const flaky = status === 'passed' && judgeable.some((a) => isTestFailure(a.outcome.status));
    const earlier = (kind: 'crashed' | 'timedout') => status !== kind && judgeable.some((a) => a.outcome.status === kind);
    return { status, flaky, crashedEarlier: earlier('crashed'), timedoutEarlier: earlier('timedout'), titles: [...titles] };
  }
  // No attempt passed or failed, so none crashed or timed out either.
  const status = ordered.some((a) => a.outcome.status === 'notrun') ? 'notrun' : 'error';
  return { status, flaky: false, crashedEarlier: false, timedoutEarlier: false, titles: [...titles] };
}

/** What the judged run showed for one test, over all its attempts. */
export interface Observation {
  /** Attempts that failed, crashed or timed out. */
  failed: number;
  /** Attempts that passed or failed. */
  attempts: number;
  /** Attempts that reported not run, and the last reason. */
  notrun: number;
  notrunReason?: string;
  /** Attempts that ended in a kt error, and the last message. */
  errors: number;
  errorMessage?: string;
  /** Crash reports of crashed attempts. */
  crashes: CrashInfo[];
  /** Attempts that timed out, and the reports that titled them. */
  timeouts: number;
  hangs: CrashInfo[];
  /** One line about the last failing attempt: "failed: - output mismatch ...", "crashed: BUG: ...". */
  lastFailure?: string;
}

function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.trim() !== '') ?? '').trim();
}

/** Every attempt of a test, judged together. */
export function observe(attempts: readonly TestAttempt[]): Observation {
  const obs: Observation = { failed: 0, attempts: 0, notrun: 0, errors: 0, crashes: [], timeouts: 0, hangs: [] };
  // In the summary's order (runs as they started, then attempts): attempt numbers restart in
  // every run, so sorting by them would take the "last" failure from the wrong run.
  for (const a of attempts) {
    const o = a.outcome;
    switch (o.status) {
      case 'passed':
        obs.attempts += 1;
        break;
      case 'failed':
        obs.attempts += 1;
        obs.failed += 1;
        obs.lastFailure = `failed: ${firstLine(o.message)}`;
        break;
      case 'crashed':
        obs.attempts += 1;
        obs.failed += 1;
        obs.crashes.push(o.crash);
        obs.lastFailure = `crashed: ${o.crash.title}`;
        break;
      case 'timedout':
        obs.attempts += 1;
        obs.failed += 1;
        obs.timeouts += 1;
        if (o.crash) obs.hangs.push(o.crash);
        obs.lastFailure = `timed out${o.crash ? `: ${o.crash.title}` : ''}`;
        break;
      case 'notrun':
        obs.notrun += 1;
        obs.notrunReason = o.reason;
        break;
      case 'error':
        obs.errors += 1;
        obs.errorMessage = firstLine(o.message);
        break;
    }
  }
  return obs;
}
