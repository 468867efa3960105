/**
 * Durations of earlier runs, kept by kt next to its results (`<results>/kt-history.json`) so
 * the next run can order longest-first and derive per-test deadlines. fstests' own check.time
 * lives in each VM's results directory and is not updated for a test whose VM died, so kt keeps
 * its own record.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RunEvent } from './events.js';

export const HISTORY_FILE = 'kt-history.json';

/** Per test: the last and the longest observed duration, in seconds. */
export interface TestHistory {
  lastSeconds: number;
  maxSeconds: number;
}

export type History = Map<string, TestHistory>;

/** Tests are keyed by section too: generic/001 on ext4 and on xfs differ. */
export function historyKey(section: string, test: string): string {
  return `${section}:${test}`;
}

export function loadHistory(resultsDir: string): History {
  try {
    const raw = JSON.parse(fs.readFileSync(path.join(resultsDir, HISTORY_FILE), 'utf8')) as { version: number; tests: Record<string, TestHistory> };
    if (raw.version !== 1) return new Map();
    return new Map(Object.entries(raw.tests));
  } catch {
    return new Map();
  }
}

/** Folds a run's finished tests into the history (pure). Crashes and hangs are not durations. */
export function updateHistory(history: History, events: readonly RunEvent[]): History {
  const next = new Map(history);
  let section = 'global';
  for (const ev of events) {
    if (ev.type === 'run-start') section = ev.section;
    if (ev.type !== 'test-end') continue;
    if (ev.outcome.status !== 'passed' && ev.outcome.status !== 'failed') continue;
    const seconds = ev.checkSeconds ?? Math.round(ev.durationMs / 1000);
    const key = historyKey(ev.section ?? section, ev.test);
    const prev = next.get(key);
    next.set(key, { lastSeconds: seconds, maxSeconds: Math.max(seconds, prev?.maxSeconds ?? 0) });
  }
  return next;
}

export function saveHistory(resultsDir: string, history: History): void {
  const file = path.join(resultsDir, HISTORY_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ version: 1, tests: Object.fromEntries(history) }, null, 1));
  fs.renameSync(tmp, file);
}
