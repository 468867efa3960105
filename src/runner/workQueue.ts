/**
 * The one pull queue shared by every VM. A VM takes a batch when it is free; when a VM dies,
 * the untested rest of its batch goes back to the head, so it runs next on another VM
 * (Playwright's dispatcher does the same after a worker crash). Work items are (section, test)
 * pairs: several filesystem configurations share one pool of VMs.
 */
import type { WorkSpec } from '../record/events.js';
import { testKey } from '../record/testKey.js';

/** One unit of work. */
export interface WorkItem {
  test: string;
  /** Section (filesystem configuration) it runs in. */
  section: string;
  /** 1 on the first run; 2+ for --retries reruns. */
  attempt: number;
  /** Must start on a VM that ran nothing before (retries of failed tests). */
  freshVm: boolean;
}

/** Identity of an item within a run: the same test in two sections is two items. */
export function itemKey(item: { section: string; test: string }): string {
  return testKey(item.section, item.test);
}

export class WorkQueue {
  private items: WorkItem[];

  constructor(work: readonly WorkSpec[]) {
    this.items = work.map((w) => ({ test: w.test, section: w.section, attempt: 1, freshVm: false }));
  }

  get size(): number {
    return this.items.length;
  }

  /** Σ of the estimated seconds of the queued items. */
  estimatedSec(estimate: (item: WorkItem) => number): number {
    let sum = 0;
    for (const item of this.items) sum += estimate(item);
    return sum;
  }

  /**
   * Takes up to n items of one section (a batch is one `check` call with one config). An item
   * that needs a fresh VM always travels alone. `prefer` names the section the VM is set up for:
   * when the head is of another section, a batch of the preferred one is taken if queued, so a VM
   * re-formats only when its section has no work left. With a `budget`, the batch also ends
   * before the first item that would take its estimated seconds past `budget.sec`, once it holds
   * `budget.minSec` (the first item is always taken; the queue's order is kept); with
   * `budget.fill`, such an item is passed over and shorter ones behind it still fill the batch.
   *
   * `usedVm`: the asking VM ran tests already, so a fresh-VM item would cost it its healthy VM
   * (worker.ts retires it). It takes the other work and leaves such an item to a VM that comes
   * fresh — mid-run, the replacement of the lost VM whose spared test it is (blame.ts) — and
   * takes one only when nothing else is queued, so no item waits for a VM that never comes (at a
   * run's end, a VM that waited for work is woken by the requeue and takes it: the run is ending).
   */
  take(n: number, prefer?: string, budget?: { sec: number; minSec?: number; fill?: boolean; estimate(item: WorkItem): number }, usedVm = false): WorkItem[] {
    if (n <= 0 || this.items.length === 0) return [];
    // The first item a batch can hold: the head, unless it wants a fresh VM.
    const first = this.items.find((i) => !i.freshVm);
    if (this.items[0]!.freshVm && (!usedVm || first === undefined)) return this.items.splice(0, 1);
    let section = first!.section;
    if (prefer !== undefined && prefer !== section && this.items.some((i) => i.section === prefer && !i.freshVm)) section = prefer;
    const taken = new Set<WorkItem>();
    /** Filling: the section's tests passed over, and their estimated seconds. */
    const passed: WorkItem[] = [];
    let passedSec = 0;
    let sec = 0;
    let full = false;
    for (const item of this.items) {
      if (full || taken.size >= n || item.section !== section || item.freshVm) continue;
      const est = budget ? budget.estimate(item) : 0;
      if (budget && taken.size > 0 && sec + est > budget.sec && sec >= (budget.minSec ?? 0)) {
        // Filling the last round: a shorter test further on may still fit the room left.
        if (!budget.fill) full = true;
        passed.push(item);
        passedSec += est;
        continue;
      }
      sec += est;
      taken.add(item);
    }
    // What filling passed over, when it is less than a start-up (and --batch has room): a batch of
    // its own would spend more on check's start-up than on it, so it comes along.
    if (budget?.fill && passed.length > 0 && passedSec < (budget.minSec ?? 0) && taken.size + passed.length <= n) for (const item of passed) taken.add(item);
    // In queue order, as check runs them (--exact-order).
    const batch: WorkItem[] = [];
    const rest: WorkItem[] = [];
    for (const item of this.items) (taken.has(item) ? batch : rest).push(item);
    this.items = rest;
    return batch;
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
