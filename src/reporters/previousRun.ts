/**
 * The previous run of a results directory, for report.html's durations against it. Run
 * directories are named by their run id, which sorts by start time (record/runDir.ts
 * `makeRunId`); `latest` is a symlink and merged reports (`kt report --out`) have other names,
 * so only directories named like a run id count, and only below the run being reported.
 */
import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { EVENT_LOG_NAME, readEventLog } from '../record/eventLog.js';
import type { RunSummary } from '../record/runSummary.js';
import { summarizeRun } from '../record/summarize.js';

/** 20261122-013045-3fa2 (makeRunId). */
const RUN_ID = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

/** Earlier runs tried when the nearest one has no readable log (a run killed before its first event). */
const CANDIDATES = 5;

/** The run directories of `resultsDir` older than `runId`, newest first (pure, on names). */
export function earlierRunNames(names: readonly string[], runId: string): string[] {
  return names.filter((n) => RUN_ID.test(n) && n < runId).sort().reverse();
}

/**
 * The summary of the run before `runDir` in its results directory, or undefined when there is
 * none, or none whose event log reads cleanly (a damaged log is no reason to fail a report).
 */
export async function previousRunSummary(runDir: string): Promise<RunSummary | undefined> {
  let real: string;
  try {
    real = await fs.realpath(runDir);
  } catch {
    return undefined;
  }
  const runId = path.basename(real);
  if (!RUN_ID.test(runId)) return undefined;
  const resultsDir = path.dirname(real);
  let entries: Dirent[];
  try {
    entries = await fs.readdir(resultsDir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  const names = earlierRunNames(entries.filter((e) => e.isDirectory()).map((e) => e.name), runId);
  for (const name of names.slice(0, CANDIDATES)) {
    try {
      const contents = await readEventLog(path.join(resultsDir, name, EVENT_LOG_NAME));
      if (contents.problems.length === 0 && contents.events.some((e) => e.type === 'run-start')) return summarizeRun(contents.events);
    } catch {
      // No log, another kt's major version, unreadable: try the run before.
    }
  }
  return undefined;
}
