/**
 * Test order: longest first by earlier durations (LPT: the long tail finishes early and the
 * short tests fill the gaps), stable on a first run (nipa's vmksft-p runner orders the same way). Pure.
 */

import { expectedSeconds, type TestHistory } from '../record/history.js';

/** Seconds per item from earlier runs, by the item's key. */
export type Durations = ReadonlyMap<string, number>;

/**
 * Items with history sort by duration, longest first. An item without history (a new test, or
 * one that crashed or hung last time: those leave no duration) is estimated high, at the 90th
 * percentile of the known ones, so it starts early: if it turns out long it still ends with the
 * others, and if it is short it only fills a gap. At the median, unknown tests ran in the middle
 * of the run, in batches sized for short tests: xfs/013 (275 s) and generic/251 (240 s), absent
 * from a 6.8 history, made a 6.6 run at 16 VMs end 1.22× its lower bound (`npm run
 * bench:simulate`, docs/simulate.md). Ties keep plan order, so a first run with no history runs
 * in fstests' own order.
 */
export function orderLongestFirst<T>(items: readonly T[], durations: Durations, key: (item: T) => string, unknownSec?: number): T[] {
  const unknown = unknownSec ?? unknownEstimate(items.map((t) => durations.get(key(t))));
  return items
    .map((item, index) => ({ item, index, estimate: durations.get(key(item)) ?? unknown }))
    .sort((a, b) => b.estimate - a.estimate || a.index - b.index)
    .map((e) => e.item);
}

/** What a test without history is estimated at: the 90th percentile of the known (0 when none are). */
function unknownEstimate(known: readonly (number | undefined)[]): number {
  const sorted = known.filter((d): d is number => d !== undefined).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))]! : 0;
}

/**
 * The unknown estimate of a run's tests from their history (order.ts orderLongestFirst,
 * estimator): the 90th percentile of the tests that last ran. A test not run last time
 * (notrunSeconds: 0–6 s for all but one of 1,497 in kdevops' runs, bench/data/fstests-notrun)
 * says nothing of how long a test kt never saw end runs;
 * counted in, the 420 of xfs_crc's 1,091 tests pulled the percentile from 31 to 18 s, and
 * unknown tests back toward the middle of the run (`npm run bench:simulate`, docs/simulate.md,
 * "Tests not run"). When no test ran, those not run are all there is to go by.
 */
export function unknownEstimateOf(histories: readonly (TestHistory | undefined)[]): number {
  const ran = histories.flatMap((h) => (h?.lastSeconds !== undefined && h.notrunSeconds === undefined ? [h.lastSeconds] : []));
  return unknownEstimate(ran.length ? ran : histories.map(expectedSeconds));
}

/**
 * How many tests a VM takes per `check` invocation. Every invocation pays check's start-up
 * (sourcing common/rc, mounting TEST_DEV, mkfs of SCRATCH: 10–30 s under TCG, measured by `npm run bench`),
 * so single tests waste time; whole shards lose balance. Guided self-scheduling (Polychronopoulos
 * & Kuck) takes remaining / workers: big batches early, single tests at the end. Measured with
 * `npm run bench` (batching): one check call per test cost 1.30× the time of batched calls.
 */
export function batchSize(remaining: number, workers: number, opts: { maxBatch: number; factor?: number }): number {
  if (remaining <= 0) return 0;
  const factor = opts.factor ?? 1;
  return Math.max(1, Math.min(opts.maxBatch, Math.ceil(remaining / (factor * Math.max(1, workers)))));
}

/**
 * Estimated seconds per item, for batching by time: an item's history where known, else what
 * orderLongestFirst estimates an unknown test at. Undefined when nothing is known (a first
 * run): batches are then sized by count alone.
 */
export function estimator<T>(items: readonly T[], known: (item: T) => number | undefined, unknownSec?: number): ((item: T) => number) | undefined {
  const all = items.map(known);
  if (all.every((d) => d === undefined)) return undefined;
  const unknown = unknownSec ?? unknownEstimate(all);
  return (item) => known(item) ?? unknown;
}

/**
 * Batching by time: the most estimated seconds one batch may hold, given the seconds left in
 * the run (queued + handed out and not finished). Sizing batches by count alone hands the first
 * VM the `maxBatch` longest tests at once (they come first): on the real kdevops durations of
 * bench/data/fstests-durations that made one VM run 7,072 s of tests while Σ/4 was 3,956 s, and
 * its remaining/N count ends a run with long strings of one-test batches, each paying check's
 * start-up (`npm run bench:simulate`, docs/simulate.md).
 *
 * This is factoring (Hummel, Schonberg & Flynn, CACM 35(8), 1992): while a round of N batches
 * is handed out the work left in the run hardly changes, so the batches of a round are alike,
 * and each round takes 1/factor of what is left. Factor 1 (finish together) is best when the
 * estimates are exact; 2 (factoring's usual choice) hedges against wrong estimates with more,
 * smaller batches, each paying check's start-up. 1.5 measured best over both: exact estimates
 * and a run ordered by another kernel's history (docs/simulate.md).
 *
 * Two limits come from what a batch costs, check's start-up (`startupSec`, as the run measures
 * it: the dispatcher's noteCheckStartup):
 *  - one VM has nothing to balance: every split only pays another start-up, so it takes all
 *    (up to --batch tests);
 *  - no batch ends shorter than MIN_BATCH_STARTUPS start-ups (`minSec`) while tests of its
 *    section are queued (--batch and a test that needs a fresh VM still cut it): a batch shorter than the start-up it pays spends more on starting than on
 *    testing, to even out a tail that is already shorter than one start-up (docs/simulate.md,
 *    "Start-up floor");
 *  - the last round: when the round after this one would hold less than FINAL_ROUND_STARTUPS
 *    start-ups of work per VM, that round's hedge costs more than it can even out (each VM pays
 *    one more start-up on the run's path), so this round hands out all that is left, a share of
 *    remaining/N each, and fills it (`fill`: a test that would overshoot is passed over for a
 *    shorter one behind it; what is passed over comes along when it is less than a start-up,
 *    WorkQueue.take). A small run — a developer's handful of tests at -j 2, where a start-up is a
 *    large part of the run — then takes one round or two: 16 real tests of 71 s at 2 VMs with
 *    TCG's 12 s start-up are two batches in 58 s instead of five in 82 s, 40 of 311 s four in
 *    191 s instead of eight in 217 (docs/simulate.md, "Small runs"). Before any batch of the run
 *    has measured the start-up, the one the last run measured stands in (history.ts `startup`).
 */
export function batchBudget(remainingSec: number, workers: number, startupSec = 0, factor = 1.5): BatchBudget {
  if (workers <= 1) return { sec: Infinity, minSec: 0, fill: false };
  const minSec = MIN_BATCH_STARTUPS * startupSec;
  const afterThisRound = (remainingSec * (1 - 1 / factor)) / workers;
  if (startupSec > 0 && afterThisRound < FINAL_ROUND_STARTUPS * startupSec) return { sec: remainingSec / workers, minSec, fill: true };
  // The budget needs no floor of its own: take() never closes a batch below minSec.
  return { sec: remainingSec / (factor * workers), minSec, fill: false };
}

/** A batch's share of the run (batchBudget): at most `sec` of estimates, at least `minSec` while its section has tests queued. */
export interface BatchBudget {
  sec: number;
  minSec: number;
  /** Pass over a test that would overshoot `sec` and take shorter ones behind it (the last round). */
  fill: boolean;
}

/** The smallest batch, in check start-ups (batchBudget). */
const MIN_BATCH_STARTUPS = 1;

/**
 * The last round begins when the next would hold less than this many start-ups per VM
 * (batchBudget). Measured over the simulation table and small runs of real tests at 2–8 VMs
 * (docs/simulate.md, "Small runs"): with 3, the small runs took 0.91× as long on the mean, one of
 * 24 small-run cells and one of the table's got worse (47 → 50 s; 6.8 ← 6.6 at 16 VMs, +0.005);
 * 2 and 1 gained less on small runs, and without `fill` one round left remainders that cost a
 * round more (30 real tests at 8 VMs with a 12 s start-up: 81 → 89 s).
 */
const FINAL_ROUND_STARTUPS = 3;

/**
 * `--shard i/n` for CI jobs: a pure function of the ordered test list (same in every job),
 * dealing tests round-robin so each shard gets a share of long and short tests.
 */
export function selectShard<T>(tests: readonly T[], index: number, total: number): T[] {
  return tests.filter((_, i) => i % total === index - 1);
}

/**
 * Per-test deadline: a multiple of the longest earlier run, with a floor (start-up noise, first
 * runs) and a ceiling (a hang must end). An explicit --test-timeout wins.
 */
export function testDeadlineSec(
  history: { maxSeconds?: number },
  opts: { override?: number; factor: number; floorSec: number; ceilingSec: number },
): number {
  if (opts.override !== undefined) return opts.override;
  if (history.maxSeconds === undefined) return opts.ceilingSec;
  return Math.min(opts.ceilingSec, Math.max(opts.floorSec, Math.ceil(history.maxSeconds * opts.factor)));
}

/**
 * How long check may go without progress outside any test: its start-up (sourcing common/rc,
 * SCRATCH's mkfs, TEST's mount: fstests' `check`), the filesystem checks after a test, its
 * clean-up after the last. Seconds of work, never a test's hours: twice the floor (20 min under
 * TCG, 4 min under KVM), so a kernel that deadlocks in mkfs or mount is a hang in minutes, not
 * after the ceiling. A longer --test-timeout raises it; a shorter one does not lower it: a
 * quick test's timeout (10 s) is shorter than check's start-up on a real tree under TCG (11-12 s,
 * docs/speed.md), and a deadline there would blame the batch's first test, which never began.
 */
export function outsideTestDeadlineSec(opts: { override?: number; floorSec: number }): number {
  return Math.max(opts.override ?? 0, 2 * opts.floorSec);
}
