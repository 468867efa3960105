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

/** The history read, and a kt-history.json kt cannot read (for the CLI to say). */
export interface LoadedHistory {
  history: History;
  damaged?: { file: string; why: string };
}

function isDurations(value: unknown): value is TestHistory {
  return typeof value === 'object' && value !== null && typeof (value as TestHistory).lastSeconds === 'number' && typeof (value as TestHistory).maxSeconds === 'number';
}

/** The tests of a history this kt wrote, or why the text is none. */
function parseHistory(text: string): { tests: Record<string, TestHistory> } | { why: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { why: 'not JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { why: 'not a JSON object' };
  const { version, tests } = raw as { version?: unknown; tests?: unknown };
  if (version !== 1) return { why: `of version ${JSON.stringify(version)}, not 1 (written by another kt?)` };
  if (typeof tests !== 'object' || tests === null || Array.isArray(tests) || !Object.values(tests).every(isDurations)) return { why: 'not a record of test durations' };
  return { tests: tests as Record<string, TestHistory> };
}

/** kt-history.json.damaged, else .damaged.1, .2, …: an earlier one is never replaced. */
function freeBackup(file: string): string {
  const base = `${file}.damaged`;
  for (let i = 0; ; i++) {
    const candidate = i === 0 ? base : `${base}.${i}`;
    if (!fs.existsSync(candidate)) return candidate;
  }
}

/** The results directory's history; a file there kt cannot read is reported in `damaged`, and left as it is. */
export function readHistory(resultsDir: string): LoadedHistory {
  const file = path.join(resultsDir, HISTORY_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { history: new Map() };
    return { history: new Map(), damaged: { file, why: `unreadable (${code ?? 'EIO'})` } };
  }
  const parsed = parseHistory(text);
  if ('why' in parsed) return { history: new Map(), damaged: { file, why: parsed.why } };
  return { history: new Map(Object.entries(parsed.tests)) };
}

/** The history of `readHistory`; `warn` hears of a damaged file, once per run (saveHistory then keeps it aside). */
export function loadHistory(resultsDir: string, warn?: (message: string) => void): History {
  const { history, damaged } = readHistory(resultsDir);
  if (damaged && warn) {
    warn(`${damaged.file} is ${damaged.why}: this run starts without a history of test durations, and keeps the file as ${path.basename(freeBackup(damaged.file))} when it saves its own`);
  }
  return history;
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

/**
 * Writes the history (a temporary file, then a rename). A kt-history.json kt cannot read is
 * first moved aside to kt-history.json.damaged(.N), never replaced: it may be another kt's, or
 * hold what a repair can still save. Returns that backup's path when there was one.
 */
export function saveHistory(resultsDir: string, history: History): string | undefined {
  const file = path.join(resultsDir, HISTORY_FILE);
  const { damaged } = readHistory(resultsDir);
  const backup = damaged ? freeBackup(file) : undefined;
  if (backup) fs.renameSync(file, backup);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ version: 1, tests: Object.fromEntries(history) }, null, 1));
  fs.renameSync(tmp, file);
  return backup;
}
