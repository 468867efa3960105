/**
 * The pull side of the work queue for N concurrent VMs. A VM asks for its next batch; when the
 * queue is empty but another VM still runs tests, it waits: that VM may crash and return the
 * rest of its batch, which must still run (issue #3: "the run ends with every other test
 * executed").
 */
import { WorkQueue, type WorkItem } from './workQueue.js';

export class Dispatcher {
  readonly queue: WorkQueue;
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private stopped = false;

  constructor(tests: readonly string[]) {
    this.queue = new WorkQueue(tests);
  }

  /** Next batch of at most `size(queue length)` items; null when all work is done or stopped. */
  async next(size: (remaining: number) => number): Promise<WorkItem[] | null> {
    for (;;) {
      if (this.stopped) return null;
      if (this.queue.size > 0) {
        const batch = this.queue.take(size(this.queue.size));
        this.inFlight += batch.length;
        return batch;
      }
      if (this.inFlight === 0) return null;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Marks items of a batch as settled (finished, or returned to the queue). */
  settle(count: number): void {
    this.inFlight -= count;
    this.wake();
  }

  /** Returns the untested rest of a dead VM's batch to the head of the queue. */
  returnToHead(items: WorkItem[]): void {
    this.queue.pushFront(items);
    this.settle(items.length);
  }

  /** Queues a rerun (--retries) at the tail. */
  retry(item: WorkItem): void {
    this.queue.pushBack([item]);
    this.wake();
  }

  /** Stop handing out work (SIGINT/SIGTERM); returns what never started. */
  stop(): WorkItem[] {
    this.stopped = true;
    this.wake();
    return this.queue.drain();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}
