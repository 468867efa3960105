import { describe, expect, it } from 'vitest';
import { batchBudget, batchSize, estimator, orderLongestFirst, outsideTestDeadlineSec, selectShard, testDeadlineSec, unknownEstimateOf } from '../../src/runner/order.js';
import fs from 'node:fs';
import { WorkQueue } from '../../src/runner/workQueue.js';

const id = (t: string) => t;
const work = (...tests: string[]) => tests.map((test) => ({ section: 'xfs', test }));

describe('orderLongestFirst', () => {
  it('keeps plan order when there is no history', () => {
    expect(orderLongestFirst(['generic/001', 'generic/002', 'xfs/001'], new Map(), id)).toEqual([
      'generic/001',
      'generic/002',
      'xfs/001',
    ]);
  });

  it('puts the longest first, using the real durations of sample check.time', () => {
    // test/fstests/samples/pass-three-real-tests/results/check.time
    const d = new Map([
      ['generic/001', 112],
      ['generic/002', 13],
      ['xfs/001', 25],
    ]);
    expect(orderLongestFirst(['generic/001', 'generic/002', 'xfs/001'], d, id)).toEqual([
      'generic/001',
      'xfs/001',
      'generic/002',
    ]);
  });

  it('estimates unknown tests high (90th percentile of the known), so they start early', () => {
    // Ten real durations of bench/data/fstests-durations/kdevops-tmpfs_default-6.6.0-rc4-auto.check.time.
    const d = new Map([
      ['generic/208', 202],
      ['generic/416', 184],
      ['generic/707', 177],
      ['generic/256', 156],
      ['generic/204', 138],
      ['generic/027', 137],
      ['generic/323', 123],
      ['generic/310', 71],
      ['generic/125', 64],
      ['generic/001', 5],
    ]);
    // p90 of the ten is 202 s: 'new' ties with generic/208 and keeps its place before it in the plan.
    const plan = ['generic/001', 'new', ...[...d.keys()].filter((t) => t !== 'generic/001')];
    const ordered = orderLongestFirst(plan, d, id);
    expect(ordered.slice(0, 3)).toEqual(['new', 'generic/208', 'generic/416']);
    expect(ordered.at(-1)).toBe('generic/001');
  });
});

describe('unknownEstimateOf', () => {
  /** A `TEST SECONDS` file of bench/data as its tests' seconds. */
  const data = (dir: string, name: string) =>
    fs
      .readFileSync(new URL(`../../bench/data/${dir}/${name}`, import.meta.url), 'utf8')
      .trim()
      .split('\n')
      .map((l) => ({ seconds: Number(l.split(' ')[1]) }));

  it('takes the 90th percentile of the tests that ran: tests not run (0–6 s) do not pull it down', () => {
    // kdevops' xfs_crc 6.6.0-rc5: 671 tests ran, 420 were not run.
    const ran = data('fstests-durations', 'kdevops-xfs_crc-6.6.0-rc5-auto.check.time').map((d) => ({ lastSeconds: d.seconds, maxSeconds: d.seconds }));
    const notrun = data('fstests-notrun', 'kdevops-xfs_crc-6.6.0-rc5-auto.notrun.time').map((d) => ({ notrunSeconds: d.seconds }));
    expect(unknownEstimateOf(ran)).toBe(31);
    expect(unknownEstimateOf([...ran, ...notrun, undefined])).toBe(31);
    // A test that ran before and was not run last time counts as not run.
    expect(unknownEstimateOf([...ran.map((h) => ({ ...h, notrunSeconds: 1 })), { lastSeconds: 7, maxSeconds: 7 }])).toBe(7);
    // Counted in, as every estimate: 18 s.
    expect(unknownEstimateOf([...ran, ...notrun].map((h) => ({ notrunSeconds: 'notrunSeconds' in h ? h.notrunSeconds : h.lastSeconds })))).toBe(18);
  });

  it('falls back to what is known when no test ran, and to 0 when nothing is', () => {
    expect(unknownEstimateOf([{ notrunSeconds: 1 }, { notrunSeconds: 6 }, undefined])).toBe(6);
    expect(unknownEstimateOf([undefined, {}])).toBe(0);
  });

  it('is what orderLongestFirst and estimator use when given', () => {
    const d = new Map([
      ['generic/001', 113],
      ['generic/002', 1],
    ]);
    expect(orderLongestFirst(['generic/002', 'new', 'generic/001'], d, id, 200)).toEqual(['new', 'generic/001', 'generic/002']);
    expect(estimator(['generic/001', 'generic/002', 'new'], (t) => d.get(t), 200)!('new')).toBe(200);
  });
});

describe('batchSize', () => {
  it('takes big batches early and single tests at the end', () => {
    expect(batchSize(993, 4, { maxBatch: 32 })).toBe(32);
    expect(batchSize(40, 4, { maxBatch: 32 })).toBe(10);
    expect(batchSize(3, 4, { maxBatch: 32 })).toBe(1);
    expect(batchSize(0, 4, { maxBatch: 32 })).toBe(0);
  });

  it('gives a single VM the whole list in one check call', () => {
    expect(batchSize(12, 1, { maxBatch: 32 })).toBe(12);
  });
});

describe('estimator', () => {
  it('is undefined when no item has history (a first run batches by count)', () => {
    expect(estimator(['a', 'b'], () => undefined)).toBeUndefined();
  });

  it('uses history where known and the unknown-test estimate of orderLongestFirst elsewhere', () => {
    const d = new Map([
      ['generic/001', 113],
      ['generic/002', 9],
      ['xfs/001', 20],
    ]);
    const est = estimator(['generic/001', 'generic/002', 'xfs/001', 'new'], (t) => d.get(t))!;
    expect(est('generic/002')).toBe(9);
    expect(est('new')).toBe(113);
  });
});

describe('batchBudget', () => {
  it('is the seconds left in the run over 1.5 × VMs (factoring)', () => {
    // Σ of kdevops-xfs_reflink-6.6.0-rc5-auto.check.time on 4 VMs.
    expect(batchBudget(15824, 4).sec).toBeCloseTo(15824 / 6);
    expect(batchBudget(100, 4, 0, 1)).toEqual({ sec: 25, minSec: 0, fill: false });
    expect(batchBudget(100, 2, 0, 2)).toEqual({ sec: 25, minSec: 0, fill: false });
  });

  it('keeps every batch at one check start-up at least', () => {
    expect(batchBudget(1000, 4, 6)).toEqual({ sec: 1000 / 6, minSec: 6, fill: false });
    expect(batchBudget(15824, 4, 6)).toEqual({ sec: 15824 / 6, minSec: 6, fill: false });
  });

  it('hands out all that is left, filled, once the next round would hold under three start-ups per VM', () => {
    // 1000 s on 4 VMs after this round: 1000 / 3 / 4 = 83 s per VM, 13.9 start-ups of 6 s: factoring.
    // 200 s: 200 / 3 / 4 = 16.7 s per VM, under 3 × 6 = 18 s: the last round, 200 / 4 each.
    expect(batchBudget(200, 4, 6)).toEqual({ sec: 50, minSec: 6, fill: true });
    expect(batchBudget(217, 4, 6).fill).toBe(false); // 18.08 s per VM: one more round pays
    expect(batchBudget(30, 4, 6)).toEqual({ sec: 7.5, minSec: 6, fill: true });
    expect(batchBudget(0, 4, 6)).toEqual({ sec: 0, minSec: 6, fill: true });
    // A developer's 16 real tests of 71 s (generic/001–018 on xfs, kdevops) at -j 2 with check's
    // 12 s start-up under TCG: one round. 40 of 311 s: a round of factoring first.
    expect(batchBudget(71, 2, 12)).toEqual({ sec: 35.5, minSec: 12, fill: true });
    expect(batchBudget(311, 2, 12)).toEqual({ sec: 311 / 3, minSec: 12, fill: false });
    // Nothing known of the start-up (no batch measured it, no earlier run): factoring.
    expect(batchBudget(30, 4, 0)).toEqual({ sec: 5, minSec: 0, fill: false });
  });

  it('gives one VM everything: splitting would only pay more start-ups', () => {
    expect(batchBudget(15824, 1)).toEqual({ sec: Infinity, minSec: 0, fill: false });
    expect(batchBudget(15824, 0, 6)).toEqual({ sec: Infinity, minSec: 0, fill: false });
  });
});

describe('selectShard', () => {
  it('partitions the list: every test in exactly one shard', () => {
    const tests = Array.from({ length: 23 }, (_, i) => `generic/${String(i).padStart(3, '0')}`);
    const shards = [1, 2, 3].map((i) => selectShard(tests, i, 3));
    expect(shards.flat().sort()).toEqual(tests);
    expect(shards.map((s) => s.length)).toEqual([8, 8, 7]);
  });
});

describe('testDeadlineSec', () => {
  const opts = { factor: 5, floorSec: 300, ceilingSec: 3600 };
  it('uses a multiple of the longest earlier run, within floor and ceiling', () => {
    expect(testDeadlineSec({ maxSeconds: 112 }, opts)).toBe(560);
    expect(testDeadlineSec({ maxSeconds: 5 }, opts)).toBe(300);
    expect(testDeadlineSec({ maxSeconds: 5000 }, opts)).toBe(3600);
    expect(testDeadlineSec({}, opts)).toBe(3600);
  });
  it('lets --test-timeout win', () => {
    expect(testDeadlineSec({ maxSeconds: 112 }, { ...opts, override: 30 })).toBe(30);
  });
});

describe('outsideTestDeadlineSec', () => {
  it('gives check\'s work outside tests minutes, not a test\'s ceiling, and a longer --test-timeout, never a shorter one', () => {
    expect(outsideTestDeadlineSec({ floorSec: 600 })).toBe(1200);
    expect(outsideTestDeadlineSec({ floorSec: 120 })).toBe(240);
    expect(outsideTestDeadlineSec({ floorSec: 600, override: 10 })).toBe(1200);
    expect(outsideTestDeadlineSec({ floorSec: 120, override: 3600 })).toBe(3600);
  });
});

describe('WorkQueue', () => {
  it('returns a crashed batch to the head in order', () => {
    const q = new WorkQueue(work('a', 'b', 'c', 'd', 'e'));
    const batch = q.take(3);
    expect(batch.map((i) => i.test)).toEqual(['a', 'b', 'c']);
    q.pushFront(batch.slice(1));
    expect(q.take(10).map((i) => i.test)).toEqual(['b', 'c', 'd', 'e']);
  });

  it('ends a batch before the first item past the time budget, keeping the order', () => {
    const est = new Map([
      ['a', 1091],
      ['b', 534],
      ['c', 455],
      ['d', 5],
    ]);
    const estimate = (i: { test: string }) => est.get(i.test)!;
    const q = new WorkQueue(work('a', 'b', 'c', 'd'));
    // A test longer than the budget still goes, alone.
    expect(q.take(32, undefined, { sec: 600, estimate }).map((i) => i.test)).toEqual(['a']);
    // b fits (534), c would pass 600: the batch stops there rather than skip to d.
    expect(q.take(32, undefined, { sec: 600, estimate }).map((i) => i.test)).toEqual(['b']);
    expect(q.take(32, undefined, { sec: 600, estimate }).map((i) => i.test)).toEqual(['c', 'd']);
    expect(q.size).toBe(0);
  });

  it('keeps the count cap under a time budget', () => {
    const q = new WorkQueue(work('a', 'b', 'c'));
    expect(q.take(2, undefined, { sec: 1e9, estimate: () => 1 }).map((i) => i.test)).toEqual(['a', 'b']);
    expect(q.estimatedSec(() => 7)).toBe(7);
  });

  it('hands out a fresh-VM retry alone', () => {
    const q = new WorkQueue(work('a', 'b'));
    q.pushFront([{ test: 'x', section: 'xfs', attempt: 2, freshVm: true }]);
    expect(q.take(5).map((i) => i.test)).toEqual(['x']);
    expect(q.take(5).map((i) => i.test)).toEqual(['a', 'b']);
  });
});
