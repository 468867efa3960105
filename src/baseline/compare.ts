/**
 * `kt compare BASE... -- HEAD...`: the base runs become a baseline (updateBaseline on an empty
 * one) and the head runs are judged against it (judge), so a comparison and a `--baseline` run
 * follow the same rules (docs/baseline.md). On top: new crash titles grouped, tests newly not
 * run, and the tests whose duration changed most.
 */
import { crashesOutsideTests, type RunInfo, type RunSummary, type TestResult } from '../record/runSummary.js';
import type { CrashInfo } from '../record/outcome.js';
import type { RunVerdict, TestVerdict } from '../record/verdict.js';
import { emptyBaseline } from './format.js';
import { judge } from './judge.js';
import { titleRecorded } from './legacyTitles.js';
import { updateBaseline } from './update.js';
import { testKey } from '../record/testKey.js';

/** How many duration changes a comparison lists. */
export const DURATION_CHANGES_SHOWN = 10;

/** A change smaller than this is noise (a VM's boot jitter, the host's load). */
export const DURATION_MIN_DELTA_MS = 1000;

/** ... and so is one smaller than this factor either way. */
export const DURATION_MIN_RATIO = 1.2;

/** A test that passed on both sides, with its mean duration on each. */
export interface DurationChange {
  section: string;
  test: string;
  /** Mean duration of its passing attempts in the base runs. */
  baseMs: number;
  /** ... in the head runs. */
  headMs: number;
  /** headMs − baseMs. */
  deltaMs: number;
  /** headMs / baseMs. */
  ratio: number;
}

/** A crash title the base never recorded, with the tests that hit it in the head. */
export interface NewCrash {
  title: string;
  tests: { section: string; test: string }[];
}

/**
 * A fatal kernel crash of the head that no test's outcome carries (record/runSummary.ts
 * crashesOutsideTests): the delayed work of a test whose result was in, check's unmount, a boot.
 */
export interface OutsideCrash {
  title: string;
  /** The head's VMs it came on. */
  machines: string[];
  /**
   * Every head report of this title is one the base runs had outside their tests too (an intact
   * report: an intact base report of its title, or its legacy assertion-helper title; a
   * corrupted one: any base crash outside the tests): the head did not bring it, so it is
   * listed, not a regression (docs/baseline.md, "kt compare").
   */
  inBase: boolean;
}

/** The comparison of two sets of runs. */
export interface Comparison {
  /** Base runs (A). */
  base: RunInfo[];
  /** Head runs (B). */
  head: RunInfo[];
  /** The head judged against the base. */
  verdict: RunVerdict;
  /** Regressions that are new crashes or hangs, grouped by title. */
  newCrashes: NewCrash[];
  /** Regressions that are tests newly not run. */
  newlyNotRun: TestVerdict[];
  /** Largest duration changes first (at most DURATION_CHANGES_SHOWN). */
  durations: DurationChange[];
  /** The head's kernel crashes outside every test, new ones first. */
  crashesOutside: OutsideCrash[];
}

/**
 * The head's crashes outside every test, each marked when a base run had it outside its tests
 * too — by the rules a baseline judges a test's crash by (judge.ts): its title, or the legacy
 * assertion-helper title it once had (legacyTitles.ts). A corrupted report, whose title cannot be
 * trusted, is new only when no base run had any crash outside its tests.
 */
export function outsideCrashes(base: readonly RunSummary[], head: RunSummary): OutsideCrash[] {
  const baseGroups = base.flatMap((s) => crashesOutsideTests(s));
  // As a baseline records titles (observe.ts): a corrupted report's title is no evidence.
  const titles: Record<string, true> = Object.fromEntries(baseGroups.filter((g) => !g.crash.corrupted).map((g) => [g.crash.title, true]));
  const inBase = (crash: CrashInfo): boolean => (crash.corrupted ? baseGroups.length > 0 : titleRecorded(titles, crash));
  const byTitle = new Map<string, OutsideCrash>();
  for (const g of crashesOutsideTests(head)) {
    // One title, several reports (a corrupted one is never merged with the others): the title
    // is the base's only when every one of them is.
    const slot = byTitle.get(g.crash.title) ?? { title: g.crash.title, machines: [], inBase: true };
    slot.inBase &&= inBase(g.crash);
    for (const m of g.machines) if (!slot.machines.includes(m)) slot.machines.push(m);
    byTitle.set(g.crash.title, slot);
  }
  return [...byTitle.values()].sort((x, y) => Number(x.inBase) - Number(y.inBase));
}

function meanPassedMs(result: TestResult): number | undefined {
  const passed = result.attempts.filter((a) => a.outcome.status === 'passed');
  if (passed.length === 0) return undefined;
  return passed.reduce((sum, a) => sum + a.durationMs, 0) / passed.length;
}

/** Mean passing duration per (section, test) over several summaries. */
function passingDurations(summaries: readonly RunSummary[]): Map<string, { section: string; test: string; total: number; count: number }> {
  const out = new Map<string, { section: string; test: string; total: number; count: number }>();
  for (const summary of summaries) {
    for (const result of summary.tests) {
      const ms = meanPassedMs(result);
      if (ms === undefined) continue;
      const key = testKey(result.section, result.test);
      const slot = out.get(key) ?? { section: result.section, test: result.test, total: 0, count: 0 };
      slot.total += ms;
      slot.count += 1;
      out.set(key, slot);
    }
  }
  return out;
}

/** Tests that passed on both sides whose duration changed by ≥ 1 s and ≥ 20%, largest change first. */
export function durationChanges(base: readonly RunSummary[], head: RunSummary): DurationChange[] {
  const before = passingDurations(base);
  const after = passingDurations([head]);
  const changes: DurationChange[] = [];
  for (const [key, h] of after) {
    const b = before.get(key);
    if (!b) continue;
    const baseMs = b.total / b.count;
    const headMs = h.total / h.count;
    const deltaMs = headMs - baseMs;
    const ratio = baseMs > 0 ? headMs / baseMs : Number.POSITIVE_INFINITY;
    if (Math.abs(deltaMs) < DURATION_MIN_DELTA_MS) continue;
    if (ratio < DURATION_MIN_RATIO && ratio > 1 / DURATION_MIN_RATIO) continue;
    changes.push({ section: h.section, test: h.test, baseMs, headMs, deltaMs, ratio });
  }
  return changes
    .sort((x, y) => Math.abs(y.deltaMs) - Math.abs(x.deltaMs) || (x.test < y.test ? -1 : x.test > y.test ? 1 : 0))
    .slice(0, DURATION_CHANGES_SHOWN);
}

/** Compares head against base; `label` names the base in the verdict (e.g. "2 base runs"). */
export function compareRuns(base: readonly RunSummary[], head: RunSummary, label: string): Comparison {
  const { baseline } = updateBaseline(emptyBaseline('kt compare'), base, 'kt compare');
  const verdict = judge(head, baseline, { file: label });
  const newCrashes: NewCrash[] = [];
  for (const v of verdict.regressions) {
    if ((v.rule !== 'new-crash' && v.rule !== 'new-timeout') || v.title === undefined) continue;
    let group = newCrashes.find((c) => c.title === v.title);
    if (!group) {
      group = { title: v.title, tests: [] };
      newCrashes.push(group);
    }
    group.tests.push({ section: v.section, test: v.test });
  }
  return {
    base: base.flatMap((s) => s.runs),
    head: head.runs,
    verdict,
    newCrashes,
    newlyNotRun: verdict.regressions.filter((v) => v.rule === 'newly-notrun'),
    durations: durationChanges(base, head),
    crashesOutside: outsideCrashes(base, head),
  };
}
