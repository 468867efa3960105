/**
 * The one pull queue shared by every VM. A VM takes a batch when it is free; when a VM dies,
 * the untested rest of its batch goes back to the head, so it runs next on another VM
 * (Playwright's dispatcher does the same after a worker crash; style.md).
 */

/** One unit of work. */
export interface WorkItem {
  test: string;
  /** 1 on the first run; 2+ for --retries reruns. */
  attempt: number;
  /** Must start on a VM that ran nothing before (retries of failed tests). */
  freshVm: boolean;
}

export class WorkQueue {
  private items: WorkItem[];

  constructor(tests: readonly string[]) {
    this.items = tests.map((test) => ({ test, attempt: 1, freshVm: false }));
  }

  get size(): number {
    return this.items.length;
  }

  /** Takes up to n items; an item that needs a fresh VM always travels alone. */
  take(n: number): WorkItem[] {
    if (n <= 0 || this.items.length === 0) return [];
    if (this.items[0]!.freshVm) return this.items.splice(0, 1);
    let count = 0;
    while (count < n && count < this.items.length && !this.items[count]!.freshVm) count++;
    return this.items.splice(0, count);
  }

  /** Puts items back at the head, in their order (the rest of a crashed VM's batch). */
  pushFront(items: readonly WorkItem[]): void {
    this.items.unshift(...items);
  }

  /** Appends items at the tail (retries wait for the first pass to finish). */
  pushBack(items: readonly WorkItem[]): void {
    this.items.push(...items);
  }

  /** Empties the queue and returns what was left (interrupted runs report them). */
  drain(): WorkItem[] {
    return this.items.splice(0);
  }
}
