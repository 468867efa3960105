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

/** The history read, and a kt-history.json kt cannot read or must leave alone (for the CLI to say). */
export interface LoadedHistory {
  history: History;
  /** Unreadable or corrupt: kept aside as kt-history.json.damaged(.N) when a run saves its own. */
  damaged?: { file: string; why: string };
  /** Written by a kt with another history format: left as it is, neither used nor updated. */
  foreign?: { file: string; version: number };
}

function isDurations(value: unknown): value is TestHistory {
  return typeof value === 'object' && value !== null && typeof (value as TestHistory).lastSeconds === 'number' && typeof (value as TestHistory).maxSeconds === 'number';
}

/** The tests of a history this kt wrote, the version of another kt's, or why the text is neither. */
function parseHistory(text: string): { tests: Record<string, TestHistory> } | { version: number } | { why: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { why: 'not JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { why: 'not a JSON object' };
  const { version, tests } = raw as { version?: unknown; tests?: unknown };
  // Another format version is another kt's file, whole: the results directory is shared by two kt
  // versions (a CI cache, a bisect across releases), and each keeps its own history there.
  if (typeof version === 'number' && Number.isInteger(version) && version !== 1) return { version };
  if (version !== 1) return { why: version === undefined ? 'without a format version' : `of an unknown format version (${JSON.stringify(version)})` };
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

/**
 * The results directory's history; a file there kt cannot read is reported in `damaged`, one of
 * another kt version in `foreign`, and either is left as it is.
 */
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
  if ('version' in parsed) return { history: new Map(), foreign: { file, version: parsed.version } };
  return { history: new Map(Object.entries(parsed.tests)) };
}

/**
 * The history of `readHistory`; `warn` hears once per run of a file it cannot use: a damaged one
 * (which saveHistory keeps aside when a run — not a dry run — saves its own), or another kt
 * version's (which stays, unused and not updated).
 */
export function loadHistory(resultsDir: string, warn?: (message: string) => void): History {
  const { history, damaged, foreign } = readHistory(resultsDir);
  if (damaged && warn) {
    warn(
      `${damaged.file} is ${damaged.why}: this run starts without a history of test durations; ` +
        `a run that saves its history (not --dry-run) first keeps this file as ${path.basename(freeBackup(damaged.file))}`,
    );
  }
  if (foreign && warn) {
    warn(
      `${foreign.file} is of history format ${foreign.version}, written by another kt version (this one writes 1): ` +
        'this run neither uses nor updates it, so its test durations are not saved (run this kt with its own --results directory to keep them)',
    );
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

/** What saveHistory did: saved (keeping a damaged file aside as `backup`), or left another kt's file alone. */
export type SavedHistory = { saved: true; backup?: string } | { saved: false; foreign: { file: string; version: number } };

/**
 * Writes the history (a temporary file, then a rename). A kt-history.json kt cannot read is
 * first moved aside to kt-history.json.damaged(.N), never replaced: it may hold what a repair can
 * still save. One of another kt version is left in place and nothing is saved: moving it aside
 * at every run of either kt would pile up backups, and replacing it would lose that kt's history.
 */
export function saveHistory(resultsDir: string, history: History): SavedHistory {
  const file = path.join(resultsDir, HISTORY_FILE);
  const { damaged, foreign } = readHistory(resultsDir);
  if (foreign) return { saved: false, foreign };
  const backup = damaged ? freeBackup(file) : undefined;
  if (backup) fs.renameSync(file, backup);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ version: 1, tests: Object.fromEntries(history) }, null, 1));
  fs.renameSync(tmp, file);
  return backup ? { saved: true, backup } : { saved: true };
}
