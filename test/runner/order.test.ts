import { describe, expect, it } from 'vitest';
import { batchSize, orderLongestFirst, selectShard, testDeadlineSec } from '../../src/runner/order.js';
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

  it('estimates unknown tests at the median of the known ones', () => {
    const d = new Map([
      ['a', 100],
      ['b', 10],
      ['c', 1],
    ]);
    // 'new' is estimated at 10 s, ties with b, and comes first because it came first in the plan.
    expect(orderLongestFirst(['c', 'new', 'b', 'a'], d, id)).toEqual(['a', 'new', 'b', 'c']);
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

describe('WorkQueue', () => {
  it('returns a crashed batch to the head in order', () => {
    const q = new WorkQueue(work('a', 'b', 'c', 'd', 'e'));
    const batch = q.take(3);
    expect(batch.map((i) => i.test)).toEqual(['a', 'b', 'c']);
    q.pushFront(batch.slice(1));
    expect(q.take(10).map((i) => i.test)).toEqual(['b', 'c', 'd', 'e']);
  });

  it('hands out a fresh-VM retry alone', () => {
    const q = new WorkQueue(work('a', 'b'));
    q.pushFront([{ test: 'x', section: 'xfs', attempt: 2, freshVm: true }]);
    expect(q.take(5).map((i) => i.test)).toEqual(['x']);
    expect(q.take(5).map((i) => i.test)).toEqual(['a', 'b']);
  });
});
