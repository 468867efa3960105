/**
 * The pull side of the work queue for N concurrent VMs, and the one place that decides what
 * happens to a finished item (done, or queued again by the retry policy). A VM asks for its
 * next batch; when the queue is empty but another VM still runs tests, it waits: that VM may
 * crash and return the rest of its batch, which must still run.
 */
import type { WorkSpec } from '../record/events.js';
import type { TestOutcome } from '../record/outcome.js';
import { median } from '../util/median.js';
import { isSeconds } from '../util/seconds.js';
import { batchBudget } from './order.js';
import { itemKey, WorkQueue, type WorkItem } from './workQueue.js';

/** Decides whether a finished attempt runs again (on a fresh VM). */
export type RetryPolicy = (item: WorkItem, outcome: TestOutcome) => boolean;

/** Never retry. */
export const noRetries: RetryPolicy = () => false;

/** Batching by time: what the dispatcher needs to size batches by estimated seconds. */
export interface TimeBatching {
  /** Estimated seconds of an item (order.ts estimator). */
  estimateSec(item: WorkItem): number;
  /** VMs sharing the queue. */
  workers: number;
  /** At most this many tests per batch (--batch). */
  maxBatch: number;
  /**
   * check's start-up as an earlier run measured it (history.ts `startup`): what batching counts
   * on until a batch of this run has measured its own.
   */
  startupSec?: number;
}

export class Dispatcher {
  readonly queue: WorkQueue;
  private inFlight = 0;
  /** Estimated seconds of the items handed out and not settled yet (batching by time). */
  private inFlightSec = 0;
  /**
   * The items in flight that began running (begun), with when: batching counts a running test by
   * what is left of its estimate, not whole, so a VM asking for work late in a run is not given a
   * share sized as if the others had all their running tests still ahead of them. By itemKey, not
   * by object: a crash hands back a copy of the running test (blame.ts, `freshVm`).
   */
  private readonly running = new Map<string, { item: WorkItem; since: number }>();
  private waiters: (() => void)[] = [];
  /** check's start-ups as the workers measured them (noteCheckStartup). */
  private startups: number[] = [];
  private stopped = false;
  /** An earlier run's check start-up (TimeBatching.startupSec), 0 when unknown or not a number of seconds. */
  private readonly seedStartupSec: number;

  /**
   * With `byTime`, a batch holds at most `maxBatch` items and a share of the estimated seconds
   * left in the run (order.ts batchBudget); without it, `size(queue length)` items.
   */
  constructor(
    work: readonly WorkSpec[],
    private readonly retryPolicy: RetryPolicy = noRetries,
    private readonly byTime?: TimeBatching,
  ) {
    this.queue = new WorkQueue(work);
    // A NaN would make every batch's floor unreachable (WorkQueue.take).
    const seed = byTime?.startupSec;
    this.seedStartupSec = seed !== undefined && isSeconds(seed) ? seed : 0;
  }

  /**
   * The estimated seconds left in the run: queued, and in flight less what the running tests
   * have run of theirs (what batching by time shares out; 0 without it).
   */
  secondsLeft(): number {
    const t = this.byTime;
    return t ? this.queue.estimatedSec(t.estimateSec) + this.inFlightLeftSec(t) : 0;
  }

  /**
   * Next batch, preferring `section` (the one the asking VM is set up for); null when all work
   * is done or the run stopped. `usedVm`: the asking VM ran tests already (WorkQueue.take).
   */
  async next(size: (remaining: number) => number, section?: string, usedVm = false): Promise<WorkItem[] | null> {
    for (;;) {
      if (this.stopped) return null;
      if (this.queue.size > 0) {
        const t = this.byTime;
        const batch = t
          ? this.queue.take(t.maxBatch, section, {
              ...batchBudget(this.secondsLeft(), t.workers, this.checkStartupSec()),
              estimate: t.estimateSec,
            }, usedVm)
          : this.queue.take(size(this.queue.size), section, undefined, usedVm);
        this.inFlight += batch.length;
        this.inFlightSec += this.secondsOf(batch);
        return batch;
      }
      if (this.inFlight === 0) return null;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /**
   * A batch's check started and its first test began `sec` later (the worker measures it): what
   * every further batch will pay again, which batching by time keeps batches above.
   */
  noteCheckStartup(sec: number): void {
    if (isSeconds(sec)) this.startups.push(sec);
  }

  /**
   * The median check start-up measured so far: a median, so neither the cold first start-ups of a
   * run nor one slowed by a crashing neighbour sets the floor for the rest. Before any batch's
   * check has named a test, an earlier run's (TimeBatching.startupSec), else 0.
   */
  checkStartupSec(): number {
    return this.startups.length === 0 ? this.seedStartupSec : median(this.startups);
  }

  /** An item handed out began running in its VM (check named it). */
  begun(item: WorkItem): void {
    if (this.byTime) this.running.set(itemKey(item), { item, since: Date.now() });
  }

  /** An item finished with an outcome: done, or queued again (at the tail) for a retry. */
  finish(item: WorkItem, outcome: TestOutcome): void {
    if (!this.stopped && this.retryPolicy(item, outcome)) {
      this.queue.pushBack([{ ...item, attempt: item.attempt + 1, freshVm: true }]);
    }
    this.settle([item]);
  }

  /** Returns the untested rest of a dead VM's batch to the head of the queue. */
  requeue(items: readonly WorkItem[]): void {
    if (items.length === 0) return;
    this.queue.pushFront(items);
    this.settle(items);
  }

  /** Items that will not run (the run is stopping): settled without a result. */
  drop(items: readonly WorkItem[]): void {
    this.settle(items);
  }

  /** Stop handing out work (SIGINT/SIGTERM, fatal error); returns what never started. */
  stop(): WorkItem[] {
    this.stopped = true;
    this.wake();
    return this.queue.drain();
  }

  /** Estimated seconds in flight, less what the running tests have run of theirs. */
  private inFlightLeftSec(t: TimeBatching): number {
    const now = Date.now();
    let ran = 0;
    for (const { item, since } of this.running.values()) ran += Math.min(t.estimateSec(item), Math.max(0, now - since) / 1000);
    return Math.max(0, this.inFlightSec - ran);
  }

  private settle(items: readonly WorkItem[]): void {
    for (const item of items) this.running.delete(itemKey(item));
    this.inFlight -= items.length;
    // Never below zero: float sums of many estimates do not cancel exactly.
    this.inFlightSec = this.inFlight === 0 ? 0 : Math.max(0, this.inFlightSec - this.secondsOf(items));
    this.wake();
  }

  private secondsOf(items: readonly WorkItem[]): number {
    const t = this.byTime;
    if (!t) return 0;
    let sum = 0;
    for (const item of items) sum += t.estimateSec(item);
    return sum;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}
