/**
 * Test durations of a run against the previous run of the same results directory: which tests
 * got slower or faster, by how much. Pure; report.html shows the largest changes.
 */
import { finalAttempt, type RunSummary, type TestResult } from '../record/runSummary.js';
import { testKey } from '../record/testKey.js';

/** How many changed tests a report shows. */
export const DURATION_CHANGES_SHOWN = 12;

/** A change smaller than this (ms) or than MIN_CHANGE_RATIO of the earlier time is noise. */
const MIN_CHANGE_MS = 1000;
const MIN_CHANGE_RATIO = 0.1;

/** One test timed in both runs. */
export interface DurationChange {
  test: string;
  section: string;
  /** Final attempt's duration in the previous run. */
  previousMs: number;
  /** Final attempt's duration now. */
  currentMs: number;
  /** currentMs - previousMs: positive is slower. */
  deltaMs: number;
}

/** The comparison report.html renders. */
export interface DurationComparison {
  /** Run ids of the previous summary. */
  previousRunIds: string[];
  /** Wall time of the previous run(s). */
  previousWallMs: number;
  /** Wall time now. */
  currentWallMs: number;
  /** Tests timed in both runs. */
  compared: number;
  /** The largest changes beyond noise, largest first (at most `limit`). */
  changes: DurationChange[];
  /** Changes beyond noise that were left out by the limit. */
  moreChanges: number;
  /** Sum of the final durations of the compared tests, previous and now. */
  previousTotalMs: number;
  currentTotalMs: number;
  /** Tests executed now but not in the previous run, and the reverse. */
  onlyNow: number;
  onlyBefore: number;
}

/** Code-unit order: the same on every host (localeCompare depends on the ICU data). */
function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A duration worth comparing: the test ran to its end (passed or failed). A crash, a hang or a
 * lost VM ends the attempt at an arbitrary time, and a not-run test ran only its checks.
 */
function timedMs(result: TestResult): number | undefined {
  const last = finalAttempt(result);
  if (!last || (last.outcome.status !== 'passed' && last.outcome.status !== 'failed')) return undefined;
  return Number.isFinite(last.durationMs) && last.durationMs >= 0 ? last.durationMs : undefined;
}

/** Compares the final durations of the tests that ran to completion in both summaries. */
export function compareDurations(current: RunSummary, previous: RunSummary, limit: number = DURATION_CHANGES_SHOWN): DurationComparison {
  const before = new Map<string, number>();
  for (const r of previous.tests) {
    const ms = timedMs(r);
    if (ms !== undefined) before.set(testKey(r.section, r.test), ms);
  }
  const nowKeys = new Set<string>();
  const all: DurationChange[] = [];
  let previousTotalMs = 0;
  let currentTotalMs = 0;
  let onlyNow = 0;
  for (const r of current.tests) {
    const ms = timedMs(r);
    if (ms === undefined) continue;
    const k = testKey(r.section, r.test);
    nowKeys.add(k);
    const prev = before.get(k);
    if (prev === undefined) {
      onlyNow += 1;
      continue;
    }
    previousTotalMs += prev;
    currentTotalMs += ms;
    all.push({ test: r.test, section: r.section, previousMs: prev, currentMs: ms, deltaMs: ms - prev });
  }
  const significant = all
    .filter((c) => Math.abs(c.deltaMs) >= MIN_CHANGE_MS && Math.abs(c.deltaMs) >= MIN_CHANGE_RATIO * c.previousMs)
    .sort((a, b) => Math.abs(b.deltaMs) - Math.abs(a.deltaMs) || byText(a.section, b.section) || byText(a.test, b.test));
  let onlyBefore = 0;
  for (const k of before.keys()) if (!nowKeys.has(k)) onlyBefore += 1;
  return {
    previousRunIds: previous.runs.map((r) => r.runId),
    previousWallMs: previous.wallMs,
    currentWallMs: current.wallMs,
    compared: all.length,
    changes: significant.slice(0, limit),
    moreChanges: Math.max(0, significant.length - limit),
    previousTotalMs,
    currentTotalMs,
    onlyNow,
    onlyBefore,
  };
}
