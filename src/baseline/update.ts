/**
 * `updateBaseline`: folds run records into a baseline. Each run counts once per (section, test)
 * — its attempts give one final status, plus "flaky" when it failed and then passed — and a run
 * already in the baseline is never counted again. Nothing is ever removed: a test that a later
 * run did not plan keeps its entry, so the file only grows (docs/baseline.md).
 */
import type { RunInfo, RunSummary, TestAttempt } from '../record/runSummary.js';
import { classifyRun, type RunRecord } from './observe.js';
import { countedRuns, emptyEntry, failingRuns, type Baseline, type BaselineEntry, type BaselineRun } from './format.js';
import { testKey } from '../record/testKey.js';

/** A (section, test) pair. */
export interface TestKey {
  section: string;
  test: string;
}

/** What one update changed, for `kt baseline update` to print. */
export interface BaselineChanges {
  /** Runs folded in, in input order. */
  added: BaselineRun[];
  /** Run ids skipped because the baseline already had them. */
  skipped: string[];
  /** Sections the baseline did not have before. */
  newSections: string[];
  /** Tests (in sections it had) it did not have before. */
  newTests: TestKey[];
  /** Tests that had never failed and now have (or are new and failed). */
  firstFailures: (TestKey & { entry: BaselineEntry })[];
  /** Crash or hang titles recorded for a test for the first time. */
  newTitles: (TestKey & { title: string })[];
}

/** Result of updateBaseline. */
export interface BaselineUpdate {
  baseline: Baseline;
  changes: BaselineChanges;
}

/** Per run id: the run and its tests' records (a summary may merge several runs, e.g. CI shards). */
export function recordsByRun(summary: RunSummary): Map<string, { run: RunInfo; tests: (TestKey & { record: RunRecord })[] }> {
  const out = new Map<string, { run: RunInfo; tests: (TestKey & { record: RunRecord })[] }>();
  for (const run of summary.runs) if (!out.has(run.runId)) out.set(run.runId, { run, tests: [] });
  for (const result of summary.tests) {
    const byRun = new Map<string, TestAttempt[]>();
    for (const a of result.attempts) byRun.set(a.runId, [...(byRun.get(a.runId) ?? []), a]);
    for (const [runId, attempts] of byRun) {
      const record = classifyRun(attempts);
      const slot = out.get(runId);
      if (record && slot) slot.tests.push({ section: result.section, test: result.test, record });
    }
  }
  return out;
}

function copyBaseline(b: Baseline): Baseline {
  return {
    ...b,
    runs: b.runs.map((r) => ({ ...r })),
    sections: Object.fromEntries(
      Object.entries(b.sections).map(([s, tests]) => [s, Object.fromEntries(Object.entries(tests).map(([t, e]) => [t, { ...e, titles: { ...e.titles } }]))]),
    ),
  };
}

function fold(entry: BaselineEntry, record: RunRecord): void {
  entry.runs += 1;
  entry[record.status] += 1;
  if (record.flaky) entry.flaky += 1;
  if (record.crashedEarlier) entry.crashedEarlier += 1;
  if (record.timedoutEarlier) entry.timedoutEarlier += 1;
  for (const title of record.titles) entry.titles[title] = (entry.titles[title] ?? 0) + 1;
}

/**
 * Folds the runs of `summaries` into `baseline` (which is not modified). `writtenBy` names the kt
 * writing the result (`kt 0.1.0`).
 */
export function updateBaseline(baseline: Baseline, summaries: readonly RunSummary[], writtenBy: string): BaselineUpdate {
  const next = copyBaseline(baseline);
  next.writtenBy = writtenBy;
  const known = new Set(next.runs.map((r) => r.runId));
  const changes: BaselineChanges = { added: [], skipped: [], newSections: [], newTests: [], firstFailures: [], newTitles: [] };
  const wasFailing = new Map<string, boolean>();
  const keyOf = (k: TestKey) => testKey(k.section, k.test);

  for (const summary of summaries) {
    for (const [runId, { run, tests }] of recordsByRun(summary)) {
      if (known.has(runId)) {
        if (!changes.skipped.includes(runId)) changes.skipped.push(runId);
        continue;
      }
      known.add(runId);
      const added: BaselineRun = {
        runId,
        startedAt: run.startedAt,
        status: run.status,
        kernel: run.kernel,
        ...(run.shard !== undefined ? { shard: run.shard } : {}),
        ...(run.ktVersion !== undefined ? { ktVersion: run.ktVersion } : {}),
      };
      next.runs.push(added);
      changes.added.push(added);
      for (const { section, test, record } of tests) {
        let sectionTests = next.sections[section];
        if (!sectionTests) {
          sectionTests = {};
          next.sections[section] = sectionTests;
          changes.newSections.push(section);
        }
        let entry = sectionTests[test];
        if (!entry) {
          entry = emptyEntry();
          sectionTests[test] = entry;
          if (!changes.newSections.includes(section)) changes.newTests.push({ section, test });
        }
        const key = keyOf({ section, test });
        if (!wasFailing.has(key)) wasFailing.set(key, failingRuns(entry) > 0);
        for (const title of record.titles) {
          if (entry.titles[title] === undefined) changes.newTitles.push({ section, test, title });
        }
        fold(entry, record);
      }
    }
  }
  for (const [key, failing] of wasFailing) {
    if (failing) continue;
    const [section, test] = key.split('\u0000') as [string, string];
    const entry = next.sections[section]?.[test];
    if (entry && failingRuns(entry) > 0) changes.firstFailures.push({ section, test, entry });
  }
  return { baseline: next, changes };
}

/** "failed in 3 of 12 recorded runs (25%)"-style facts about an entry. */
export function describeEntry(entry: BaselineEntry): string {
  const counted = countedRuns(entry);
  const failing = failingRuns(entry);
  const parts = [`${failing} of ${counted} run${counted === 1 ? '' : 's'} failing`];
  const kinds: string[] = [];
  if (entry.failed) kinds.push(`${entry.failed} failed`);
  if (entry.crashed) kinds.push(`${entry.crashed} crashed`);
  if (entry.timedout) kinds.push(`${entry.timedout} timed out`);
  if (entry.flaky) kinds.push(`${entry.flaky} flaky`);
  if (entry.crashedEarlier) kinds.push(`${entry.crashedEarlier} crashed before a retry`);
  if (entry.timedoutEarlier) kinds.push(`${entry.timedoutEarlier} timed out before a retry`);
  if (entry.notrun) kinds.push(`${entry.notrun} not run`);
  if (entry.error) kinds.push(`${entry.error} kt error${entry.error === 1 ? '' : 's'}`);
  if (kinds.length > 0) parts.push(`(${kinds.join(', ')})`);
  return parts.join(' ');
}
