/**
 * Durations of earlier runs, kept by kt next to its results (`<results>/kt-history.json`) so
 * the next run can order longest-first and derive per-test deadlines. fstests' own check.time
 * lives in each VM's results directory and is not updated for a test whose VM died, so kt keeps
 * its own record.
 */
import fs from 'node:fs';
import path from 'node:path';
import { median } from '../util/median.js';
import { isSeconds } from '../util/seconds.js';
import type { RunEvent } from './events.js';

export const HISTORY_FILE = 'kt-history.json';

/** Per test, in seconds: the last and the longest duration of a run that ran it (passed or failed). */
export interface TestDurations {
  lastSeconds: number;
  maxSeconds: number;
}

/**
 * What kt knows of a test: its durations when it ran (absent when it never ran here), and
 * `notrunSeconds` when its last attempt ended "not run" (fstests' `_notrun`: a requirement the
 * section lacks), after that many seconds.
 */
export interface TestHistory extends Partial<TestDurations> {
  notrunSeconds?: number;
}

export type History = Map<string, TestHistory>;

/**
 * check's start-up per section, in seconds, as the last run that measured one saw it (the median
 * of its batches' `checkStartupMs`, test-begin): what the next run's batching counts on until its
 * own first batch has measured it (order.ts batchBudget; runner/dispatcher.ts checkStartupSec).
 */
export type Startups = Map<string, number>;

/** Tests are keyed by section too: generic/001 on ext4 and on xfs differ. */
export function historyKey(section: string, test: string): string {
  return `${section}:${test}`;
}

/** The history read, and a kt-history.json kt cannot read or must leave alone (for the CLI to say). */
export interface LoadedHistory {
  history: History;
  /** check's start-ups, when the file has them (a kt before them wrote none). */
  startup?: Startups;
  /** Unreadable or corrupt: kept aside as kt-history.json.damaged(.N) when a run saves its own. */
  damaged?: { file: string; why: string };
  /** Written by a kt with another history format: left as it is, neither used nor updated. */
  foreign?: { file: string; version: number };
}

function isDurations(value: unknown): value is TestDurations {
  return typeof value === 'object' && value !== null && typeof (value as TestDurations).lastSeconds === 'number' && typeof (value as TestDurations).maxSeconds === 'number';
}

function isSecondsRecord(value: unknown): value is Record<string, number> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every(isSeconds);
}

/**
 * The file, format 1: `tests` holds the durations of tests that ran, `notrun` (added later, in
 * the same format) the seconds of those whose last attempt was not run, `startup` (later still)
 * check's start-up by section. A kt that predates a part reads `tests` as before and ignores the
 * part, so the two still share one results directory;
 * an entry in `tests` without durations would make such a kt call the whole file damaged.
 */
interface HistoryFile {
  version: 1;
  tests: Record<string, TestDurations>;
  notrun?: Record<string, number>;
  /** Added later, like `notrun`: check's start-up by section (Startups). */
  startup?: Record<string, number>;
}

/** The tests of a history this kt wrote, the version of another kt's, or why the text is neither. */
function parseHistory(text: string): { history: History; startup?: Startups } | { version: number } | { why: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { why: 'not JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { why: 'not a JSON object' };
  const { version, tests, notrun, startup } = raw as { version?: unknown; tests?: unknown; notrun?: unknown; startup?: unknown };
  // Another format version is another kt's file, whole: the results directory is shared by two kt
  // versions (a CI cache, a bisect across releases), and each keeps its own history there.
  if (typeof version === 'number' && Number.isInteger(version) && version !== 1) return { version };
  if (version !== 1) return { why: version === undefined ? 'without a format version' : `of an unknown format version (${JSON.stringify(version)})` };
  if (typeof tests !== 'object' || tests === null || Array.isArray(tests) || !Object.values(tests).every(isDurations)) return { why: 'not a record of test durations' };
  if (notrun !== undefined && !isSecondsRecord(notrun)) return { why: 'not a record of test durations (its "notrun" part)' };
  const history: History = new Map();
  for (const [key, d] of Object.entries(tests as Record<string, TestDurations>)) history.set(key, { lastSeconds: d.lastSeconds, maxSeconds: d.maxSeconds });
  for (const [key, seconds] of Object.entries(notrun ?? {})) history.set(key, { ...history.get(key), notrunSeconds: seconds });
  // The start-ups only hint at the first round's batches: a part kt cannot read is left out, and
  // never costs the file its durations.
  return isSecondsRecord(startup) ? { history, startup: new Map(Object.entries(startup)) } : { history };
}

function toFile(history: History, startup?: Startups): HistoryFile {
  const tests: Record<string, TestDurations> = {};
  const notrun: Record<string, number> = {};
  for (const [key, h] of history) {
    if (h.lastSeconds !== undefined && h.maxSeconds !== undefined) tests[key] = { lastSeconds: h.lastSeconds, maxSeconds: h.maxSeconds };
    if (h.notrunSeconds !== undefined) notrun[key] = h.notrunSeconds;
  }
  return {
    version: 1,
    tests,
    ...(Object.keys(notrun).length ? { notrun } : {}),
    ...(startup?.size ? { startup: Object.fromEntries(startup) } : {}),
  };
}

/**
 * The seconds a test is expected to take next, undefined when kt never saw it end: its last
 * attempt's, so a test that was not run last time (in the same section, so most likely again)
 * counts as the seconds its requirement checks took, not as a test of unknown length. Unknown
 * tests are estimated high (order.ts orderLongestFirst); kdevops' `-g auto` sections leave
 * 11–69% of their tests not run (xfs_reflink 11–13%, xfs_crc 38%, nfs 63%, tmpfs 69%:
 * bench/data/fstests-durations/README.md), and every one of them would otherwise run early, as
 * a long test, run after run.
 */
export function expectedSeconds(h: TestHistory | undefined): number | undefined {
  return h?.notrunSeconds ?? h?.lastSeconds;
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
  return parsed;
}

/**
 * The history and check's start-ups of `readHistory` (no start-ups when the file has none);
 * `warn` hears once per run of a file it cannot use: a damaged one (which saveHistory keeps aside
 * when a run — not a dry run — saves its own), or another kt version's (which stays, unused and
 * not updated).
 */
export function loadRunHistory(resultsDir: string, warn?: (message: string) => void): { history: History; startup: Startups } {
  const { history, startup, damaged, foreign } = readHistory(resultsDir);
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
  return { history, startup: startup ?? new Map() };
}

/**
 * Folds a run's finished tests into the history (pure). Crashes and hangs are not durations. A
 * test not run keeps the durations of its earlier runs (its deadline, order.ts testDeadlineSec,
 * stays that of a test that runs: a section that gains the device it lacked runs it again) and
 * notes the seconds it took, until an attempt ends otherwise: a test that ran, crashed or hung
 * is no longer one that says "not run" in a second (kt's own errors leave the mark).
 */
export function updateHistory(history: History, events: readonly RunEvent[]): History {
  const next = new Map(history);
  let section = 'global';
  for (const ev of events) {
    if (ev.type === 'run-start') section = ev.section;
    if (ev.type !== 'test-end') continue;
    const key = historyKey(ev.section ?? section, ev.test);
    const prev = next.get(key);
    // check prints no seconds for a test not run (fstests' check: "[not run] <reason>").
    const seconds = ev.checkSeconds ?? Math.round(ev.durationMs / 1000);
    if (ev.outcome.status === 'notrun') {
      next.set(key, { ...prev, notrunSeconds: seconds });
      continue;
    }
    if (ev.outcome.status === 'passed' || ev.outcome.status === 'failed') {
      next.set(key, { lastSeconds: seconds, maxSeconds: Math.max(seconds, prev?.maxSeconds ?? 0) });
      continue;
    }
    // Crashed or timed out: no duration, and the mark no longer says what the test does. An
    // error is kt's or the host's (a check that exited before the test began, a lost
    // connection): it says nothing of the test, and one bad batch would otherwise wipe the marks
    // of every test in it.
    if (ev.outcome.status !== 'crashed' && ev.outcome.status !== 'timedout') continue;
    if (prev?.notrunSeconds === undefined) continue;
    const { notrunSeconds: _gone, ...durations } = prev;
    if (durations.lastSeconds === undefined) next.delete(key);
    else next.set(key, durations);
  }
  return next;
}

/**
 * Folds a run's measured check start-ups into `startup` (pure): each section a batch of the run
 * started in gets the median of the run's start-ups there, to a tenth of a second; the others
 * keep theirs.
 */
export function updateStartups(startup: Startups, events: readonly RunEvent[]): Startups {
  const bySection = new Map<string, number[]>();
  let section = 'global';
  for (const ev of events) {
    if (ev.type === 'run-start') section = ev.section;
    // A wall clock stepped back mid start-up gives a negative one: not a start-up to keep.
    if (ev.type !== 'test-begin' || !isSeconds(ev.checkStartupMs)) continue;
    const s = ev.section ?? section;
    const ms = bySection.get(s) ?? [];
    ms.push(ev.checkStartupMs);
    bySection.set(s, ms);
  }
  const next = new Map(startup);
  for (const [s, ms] of bySection) next.set(s, Math.round(median(ms) / 100) / 10);
  return next;
}

/** The start-up a run of these sections counts on first: the median of theirs, undefined when none is known. */
export function startupOf(startup: Startups, sections: readonly string[]): number | undefined {
  const known = sections.flatMap((s) => (startup.has(s) ? [startup.get(s)!] : []));
  return known.length ? median(known) : undefined;
}

/** What saveHistory did: saved (keeping a damaged file aside as `backup`), or left another kt's file alone. */
export type SavedHistory = { saved: true; backup?: string } | { saved: false; foreign: { file: string; version: number } };

/**
 * Writes the history (a temporary file, then a rename). A kt-history.json kt cannot read is
 * first moved aside to kt-history.json.damaged(.N), never replaced: it may hold what a repair can
 * still save. One of another kt version is left in place and nothing is saved: moving it aside
 * at every run of either kt would pile up backups, and replacing it would lose that kt's history.
 */
export function saveHistory(resultsDir: string, history: History, startup?: Startups): SavedHistory {
  const file = path.join(resultsDir, HISTORY_FILE);
  const { damaged, foreign } = readHistory(resultsDir);
  if (foreign) return { saved: false, foreign };
  const backup = damaged ? freeBackup(file) : undefined;
  if (backup) fs.renameSync(file, backup);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(toFile(history, startup), null, 1));
  fs.renameSync(tmp, file);
  return backup ? { saved: true, backup } : { saved: true };
}
