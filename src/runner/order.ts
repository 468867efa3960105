/**
 * Test order: longest first by earlier durations (LPT: the long tail finishes early and the
 * short tests fill the gaps), stable on a first run (nipa's vmksft-p runner orders the same way). Pure.
 */

/** Seconds per item from earlier runs, by the item's key. */
export type Durations = ReadonlyMap<string, number>;

/**
 * Items with history sort by duration, longest first; an item without history is estimated at
 * the median of the known ones (a fresh test is rarely the slowest, rarely the fastest). Ties
 * keep plan order, so a first run with no history runs in fstests' own order.
 */
export function orderLongestFirst<T>(items: readonly T[], durations: Durations, key: (item: T) => string): T[] {
  const known = items.map((t) => durations.get(key(t))).filter((d): d is number => d !== undefined);
  const sorted = [...known].sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor(sorted.length / 2)]! : 0;
  return items
    .map((item, index) => ({ item, index, estimate: durations.get(key(item)) ?? median }))
    .sort((a, b) => b.estimate - a.estimate || a.index - b.index)
    .map((e) => e.item);
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
