import { describe, expect, it, vi } from 'vitest';
import { Dispatcher } from '../../src/runner/dispatcher.js';
import { retriesPolicy } from '../../src/runner/run.js';
import { WorkQueue, type WorkItem } from '../../src/runner/workQueue.js';

const work = (...pairs: [string, string][]) => pairs.map(([section, test]) => ({ section, test }));

/** A dispatcher of section xfs batching by time on 2 VMs, each test estimated at its seconds. */
const byTime = (seconds: Map<string, number>) =>
  new Dispatcher(
    [...seconds.keys()].map((test) => ({ section: 'xfs', test })),
    undefined,
    { estimateSec: (i) => seconds.get(i.test)!, workers: 2, maxBatch: 32 },
  );

/** The size rule of batching by count, which batching by time never asks. */
const never = () => {
  throw new Error('the count rule is not used when batching by time');
};

describe('WorkQueue', () => {
  it('takes batches of one section, preferring the section the VM is set up for', () => {
    const q = new WorkQueue(work(['a', 't1'], ['b', 't2'], ['a', 't3'], ['b', 't4']));
    expect(q.take(10, 'b').map((i) => `${i.section} ${i.test}`)).toEqual(['b t2', 'b t4']);
    expect(q.take(10).map((i) => `${i.section} ${i.test}`)).toEqual(['a t1', 'a t3']);
  });

  it('sends an item that needs a fresh VM alone', () => {
    const q = new WorkQueue(work(['a', 't1']));
    q.pushFront([{ section: 'a', test: 't0', attempt: 2, freshVm: true }]);
    expect(q.take(10).map((i) => i.test)).toEqual(['t0']);
  });

  it('leaves an item that needs a fresh VM to a VM that ran nothing while other work is queued', () => {
    const q = new WorkQueue(work(['a', 't1'], ['a', 't2']));
    q.pushFront([{ section: 'a', test: 't0', attempt: 1, freshVm: true }]);
    // A used VM would have to give up its healthy VM for t0: it takes the rest instead.
    expect(q.take(10, 'a', undefined, true).map((i) => i.test)).toEqual(['t1', 't2']);
    expect(q.size).toBe(1);
    // The lost VM's replacement, fresh, takes it.
    expect(q.take(10, undefined, undefined, false).map((i) => i.test)).toEqual(['t0']);
  });

  it('gives a used VM an item that needs a fresh VM when nothing else is queued, so it never waits forever', () => {
    const q = new WorkQueue([]);
    q.pushBack([
      { section: 'a', test: 't1', attempt: 2, freshVm: true },
      { section: 'a', test: 't2', attempt: 2, freshVm: true },
    ]);
    expect(q.take(10, 'a', undefined, true).map((i) => i.test)).toEqual(['t1']);
    expect(q.take(10, 'a', undefined, true).map((i) => i.test)).toEqual(['t2']);
    expect(q.size).toBe(0);
  });

  it("a used VM skips a fresh-VM item at the head for its own section's work, or the next section's", () => {
    const q = new WorkQueue(work(['b', 't2'], ['a', 't3']));
    q.pushFront([{ section: 'a', test: 't1', attempt: 1, freshVm: true }]);
    expect(q.take(10, 'a', undefined, true).map((i) => `${i.section} ${i.test}`)).toEqual(['a t3']);
    expect(q.take(10, 'a', undefined, true).map((i) => `${i.section} ${i.test}`)).toEqual(['b t2']);
    expect(q.take(10, 'a', undefined, true).map((i) => `${i.section} ${i.test}`)).toEqual(['a t1']);
  });
});

describe('Dispatcher', () => {
  it('queues a retry of a failed attempt at the tail on a fresh VM, up to --retries', async () => {
    const d = new Dispatcher(work(['a', 't1'], ['a', 't2']), retriesPolicy(1));
    const batch = (await d.next(() => 10))!;
    d.finish(batch[0]!, { status: 'failed', message: 'x' });
    d.finish(batch[1]!, { status: 'passed' });
    const retry = (await d.next(() => 10))!;
    expect(retry).toEqual([{ section: 'a', test: 't1', attempt: 2, freshVm: true }]);
    d.finish(retry[0]!, { status: 'failed', message: 'x' });
    expect(await d.next(() => 10)).toBeNull();
  });

  it('hands a used VM the other work and a spared test to the VM that comes fresh', async () => {
    const d = new Dispatcher(work(['a', 't1'], ['a', 't2'], ['a', 't3']));
    const [t1] = (await d.next(() => 1))!;
    // Its VM was lost and t1 not blamed: t1 goes back alone, for a fresh VM (blame.ts).
    d.requeue([{ ...t1!, freshVm: true }]);
    expect((await d.next(() => 10, 'a', true))!.map((i) => i.test)).toEqual(['t2', 't3']);
    expect(await d.next(() => 10, 'a', false)).toEqual([{ section: 'a', test: 't1', attempt: 1, freshVm: true }]);
  });

  it('never retries a notrun or an infrastructure error', async () => {
    const d = new Dispatcher(work(['a', 't1'], ['a', 't2']), retriesPolicy(3));
    const [a, b] = (await d.next(() => 10))!;
    d.finish(a!, { status: 'notrun', reason: 'no' });
    d.finish(b!, { status: 'error', message: 'vm lost' });
    expect(await d.next(() => 10)).toBeNull();
  });

  /** The five longest tests of kdevops-xfs_reflink-6.6.0-rc5-auto.check.time and five short ones: Σ = 2873 s. */
  const longAndShort = new Map([
    ['shared/032', 1091],
    ['xfs/227', 534],
    ['generic/176', 455],
    ['generic/017', 449],
    ['generic/476', 324],
    ['generic/001', 5],
    ['generic/002', 2],
    ['generic/003', 11],
    ['generic/004', 1],
    ['generic/005', 1],
  ]);

  it('by time: sizes batches by the seconds left in the run, in-flight work included', async () => {
    const d = byTime(longAndShort);
    // Σ = 2873 s; budget 2873 / (1.5 × 2) = 958 s: shared/032 alone (a longer test still goes).
    const first = (await d.next(never))!;
    expect(first.map((i) => i.test)).toEqual(['shared/032']);
    // Left: 1782 s queued + 1091 in flight = 2873 → 958 s again: xfs/227 (with generic/176, 989 s).
    const second = (await d.next(never))!;
    expect(second.map((i) => i.test)).toEqual(['xfs/227']);
    d.finish(first[0]!, { status: 'passed' });
    // 1248 queued + 534 in flight = 1782 → 594 s: generic/176 alone.
    expect((await d.next(never))!.map((i) => i.test)).toEqual(['generic/176']);
  });

  it('by time: counts a running test by what is left of it, not whole', async () => {
    vi.useFakeTimers({ now: 0, toFake: ['Date'] });
    try {
      const d = byTime(longAndShort);
      const first = (await d.next(never))!;
      expect(first.map((i) => i.test)).toEqual(['shared/032']);
      d.begun(first[0]!);
      // 1000 s later shared/032 has 91 s of its estimate left: 1782 queued + 91 = 1873 → 624 s,
      // xfs/227 alone. Counted whole, the work left would be 1000 s too much (2873 s), the
      // share 333 s too large (958 s).
      vi.setSystemTime(1_000_000);
      expect(d.secondsLeft()).toBe(1873);
      const second = (await d.next(never))!;
      expect(second.map((i) => i.test)).toEqual(['xfs/227']);
      // Past its estimate a running test counts for nothing, never less: 1248 queued + 534 in
      // flight (xfs/227 not begun) = 1782 → 594 s, generic/176 alone.
      vi.setSystemTime(3_000_000);
      expect((await d.next(never))!.map((i) => i.test)).toEqual(['generic/176']);
      // Settled, it is no longer running: its estimate leaves the work in flight once, not once
      // more for the seconds it ran (which would take 1091 s off again).
      d.finish(first[0]!, { status: 'passed' });
      d.begun(second[0]!);
      vi.setSystemTime(3_100_000);
      // 793 queued + 534 − 100 (xfs/227 has run 100 s) + 455 = 1682 → 561 s: generic/017 and
      // generic/476 (773 s) overshoot, so generic/017 alone.
      expect(d.secondsLeft()).toBe(1682);
      expect((await d.next(never))!.map((i) => i.test)).toEqual(['generic/017']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('by time: a running test a crash hands back (a copy, blame.ts) no longer counts as running', async () => {
    vi.useFakeTimers({ now: 0, toFake: ['Date'] });
    try {
      const seconds = new Map([
        ['generic/475', 300],
        ['generic/476', 200],
        ['generic/001', 5],
      ]);
      const d = byTime(seconds);
      // 505 / 3 = 168 s a share: each long test alone, one per VM.
      const [a] = (await d.next(never))!;
      expect(a!.test).toBe('generic/475');
      expect((await d.next(never))!.map((i) => i.test)).toEqual(['generic/476']);
      d.begun(a!);
      vi.setSystemTime(200_000);
      // 5 queued + 300 + 200 in flight − the 200 s generic/475 has run.
      expect(d.secondsLeft()).toBe(305);
      // The VM panicked in it; nobody is blamed, so it goes back as it was, for a fresh VM: all
      // 300 s of it are ahead again, and the 200 s it ran no longer come off.
      d.requeue([{ ...a!, freshVm: true }]);
      expect(d.secondsLeft()).toBe(505);
    } finally {
      vi.useRealTimers();
    }
  });

  it("by time: an earlier run's start-up that is not a number of seconds is not counted on", () => {
    for (const startupSec of [Number.NaN, -3, Infinity]) {
      const d = new Dispatcher(work(['xfs', 'generic/001']), undefined, { estimateSec: () => 1, workers: 2, maxBatch: 32, startupSec });
      expect(d.checkStartupSec()).toBe(0);
    }
  });

  it('by time: keeps batches above the check start-up the workers measured', async () => {
    // The fixture list of `npm run bench` (scaling row) with the seconds its -j 1 run took.
    const seconds = new Map([
      ['generic/002', 5.4],
      ['generic/001', 3.8],
      ['selftest/002', 2.1],
      ['selftest/003', 2.2],
      ['selftest/901', 1.8],
      ['selftest/905', 1.8],
      ['selftest/001', 1.0],
    ]);
    const make = () => byTime(seconds);
    /** Takes a batch and finishes it at once: nothing stays in flight. */
    const run = async (d: Dispatcher) => {
      const batch = (await d.next(never))!;
      for (const item of batch) d.finish(item, { status: 'passed' });
      return batch.map((i) => i.test);
    };
    // Nothing measured: pure factoring, Σ/3 of what is left each time, down to one-test batches.
    const unmeasured = make();
    expect(unmeasured.checkStartupSec()).toBe(0);
    expect(await run(unmeasured)).toEqual(['generic/002']); // 18.1 / 3 = 6.0
    expect(await run(unmeasured)).toEqual(['generic/001']); // 12.7 / 3 = 4.2
    expect(await run(unmeasured)).toEqual(['selftest/002']); // 8.9 / 3 = 3.0
    expect(await run(unmeasured)).toEqual(['selftest/003']); // 6.8 / 3 = 2.3
    expect(await run(unmeasured)).toEqual(['selftest/901']); // 4.6 / 3 = 1.5
    expect(await run(unmeasured)).toEqual(['selftest/905']);
    expect(await run(unmeasured)).toEqual(['selftest/001']);
    // check took 4.6 and 5.4 s to its first test (TCG): median 5 s. 18.1 s for two VMs is under
    // three start-ups per VM after a round of factoring, so this is the last round: each VM asks
    // at the start (nothing finished yet) and takes half, filled, instead of seven batches.
    const measured = make();
    measured.noteCheckStartup(4.6);
    measured.noteCheckStartup(5.4);
    measured.noteCheckStartup(Number.NaN);
    measured.noteCheckStartup(-1);
    expect(measured.checkStartupSec()).toBe(5);
    const tests = (b: WorkItem[] | null) => b!.map((i) => i.test);
    // 18.1 / 2 = 9.05: 5.4 + 3.8 overshoots, so generic/001 is passed over for shorter tests.
    expect(tests(await measured.next(never))).toEqual(['generic/002', 'selftest/002', 'selftest/001']); // 8.5 s
    // 9.6 s queued + 8.5 in flight → 9.05 again: 3.8 + 2.2 + 1.8 = 7.8, selftest/905 would
    // overshoot, but a batch of its own (1.8 s) would be under a start-up: it comes along.
    expect(tests(await measured.next(never))).toEqual(['generic/001', 'selftest/003', 'selftest/901', 'selftest/905']);
    expect(measured.queue.size).toBe(0);
  });

  it("by time: counts on an earlier run's start-up until this run measures its own", async () => {
    const seconds = new Map([
      ['generic/002', 5.4],
      ['generic/001', 3.8],
      ['selftest/002', 2.1],
      ['selftest/001', 1.0],
    ]);
    const d = new Dispatcher(
      [...seconds.keys()].map((test) => ({ section: 'xfs', test })),
      undefined,
      { estimateSec: (i) => seconds.get(i.test)!, workers: 2, maxBatch: 32, startupSec: 11 },
    );
    expect(d.checkStartupSec()).toBe(11);
    // 12.3 s for two VMs with an 11 s start-up: one round, a share of 6.15 s each. Below the
    // 11 s floor the batch takes generic/001 and selftest/002 past the share (5.4, 9.2, 11.3 s);
    // selftest/001 (1 s) would overshoot and is passed over, but a batch of its own would be
    // under a start-up, so it comes along: a second check call would cost more than it saves.
    expect((await d.next(never))!.map((i) => i.test)).toEqual(['generic/002', 'generic/001', 'selftest/002', 'selftest/001']);
    // Measured in this run, the median of this run's own start-ups replaces it.
    d.noteCheckStartup(2);
    expect(d.checkStartupSec()).toBe(2);
  });

  it('takes the median start-up: one slow check call does not set the floor for the run', () => {
    const d = new Dispatcher(work(['xfs', 'generic/001']));
    d.noteCheckStartup(21);
    expect(d.checkStartupSec()).toBe(21);
    d.noteCheckStartup(3600);
    d.noteCheckStartup(19);
    expect(d.checkStartupSec()).toBe(21);
    d.noteCheckStartup(11);
    expect(d.checkStartupSec()).toBe(20);
  });

  it('by time: a batch below one check start-up takes the next test even past the budget', async () => {
    // Factoring: 204 s on 2 VMs with a 5 s start-up leaves 34 s per VM after this round, well
    // over three start-ups, so the share is factoring's (68 s). Four 1 s tests are below a
    // start-up, so generic/476 comes along past the share rather than a 4 s batch paying 5 s;
    // with nothing known of the start-up it waits.
    const long = new Map([
      ['generic/001', 1],
      ['generic/002', 1],
      ['generic/004', 1],
      ['generic/005', 1],
      ['generic/476', 200],
    ]);
    const floor = byTime(long);
    floor.noteCheckStartup(5);
    expect((await floor.next(never))!.map((i) => i.test)).toEqual(['generic/001', 'generic/002', 'generic/004', 'generic/005', 'generic/476']);
    expect((await byTime(long).next(never))!.map((i) => i.test)).toEqual(['generic/001', 'generic/002', 'generic/004', 'generic/005']);
    // The last round: 11 s on 2 VMs with a 3 s start-up, a share of 5.5 s. 0.9 + 0.9 = 1.8 s is
    // below the start-up, so generic/002 comes too (7.2 s); generic/001 (3.8 s) would overshoot
    // and is not under a start-up, so it is the other VM's batch.
    const short = new Map([
      ['generic/004', 0.9],
      ['selftest/004', 0.9],
      ['generic/002', 5.4],
      ['generic/001', 3.8],
    ]);
    const d = byTime(short);
    d.noteCheckStartup(3);
    expect((await d.next(() => 1))!.map((i) => i.test)).toEqual(['generic/004', 'selftest/004', 'generic/002']);
    expect((await d.next(() => 1))!.map((i) => i.test)).toEqual(['generic/001']);
  });

  it('by time on one VM: one batch of everything (up to --batch), nothing to balance', async () => {
    const tests = ['generic/003', 'generic/002', 'generic/001', 'selftest/001'];
    const d = new Dispatcher(
      tests.map((test) => ({ section: 'xfs', test })),
      undefined,
      { estimateSec: () => 10, workers: 1, maxBatch: 3 },
    );
    expect((await d.next(() => 1))!.map((i) => i.test)).toEqual(['generic/003', 'generic/002', 'generic/001']);
    expect((await d.next(() => 1))!.map((i) => i.test)).toEqual(['selftest/001']);
  });

  it('makes a free VM wait while another may still return work, and hands it the requeued rest', async () => {
    const d = new Dispatcher(work(['a', 't1'], ['a', 't2']));
    const first = (await d.next(() => 10))!;
    const waiting = d.next(() => 10);
    d.finish(first[0]!, { status: 'crashed', message: 'panic', crash: { title: 'p', type: 'panic', fingerprint: 'f', excerpt: '' } });
    d.requeue([first[1]!]);
    expect((await waiting)?.map((i) => i.test)).toEqual(['t2']);
  });
});
