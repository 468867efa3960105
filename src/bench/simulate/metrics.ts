/**
 * Figures of a simulated run, computed from what the simulated guests recorded (boots and
 * check invocations) and kt's own events. Pure.
 */
import type { BootRecord, CheckRecord } from './simMachine.js';

/** A classic lower bound of any schedule on `vms` machines, plus one boot (each VM boots once). */
export function lowerBoundSec(durations: readonly number[], vms: number, bootSec: number): number {
  const sum = durations.reduce((a, b) => a + b, 0);
  const longest = durations.reduce((a, b) => Math.max(a, b), 0);
  return Math.max(sum / vms, longest) + bootSec;
}

export interface Interval {
  startMs: number;
  endMs: number;
}

export interface TailFigures {
  /** Until then every VM slot was busy (booting or in check); after it, never again. */
  allBusyUntilSec: number;
  /** makespan − allBusyUntil: how long the run ends with idle VMs. */
  tailSec: number;
  /** VM-seconds idle in the tail (∫ idle slots dt from allBusyUntil to the end). */
  tailIdleVmSec: number;
  /** When the 1st, the median and the last VM slot went idle for good. */
  vmsIdleAtSec: { first: number; median: number; last: number };
  /** Busy VM-seconds ÷ (VMs × makespan). */
  utilization: number;
}

/**
 * Sweeps the busy intervals (a slot is busy while its VM boots or runs check): the times at
 * which the number of busy slots fell below k for the last time, k = vms … 1.
 */
export function tailFigures(intervals: readonly Interval[], vms: number, startMs: number, endMs: number): TailFigures {
  const delta = new Map<number, number>();
  let busyMs = 0;
  for (const i of intervals) {
    delta.set(i.startMs, (delta.get(i.startMs) ?? 0) + 1);
    delta.set(i.endMs, (delta.get(i.endMs) ?? 0) - 1);
    busyMs += i.endMs - i.startMs;
  }
  const times = [...delta.keys()].sort((a, b) => a - b);
  /** idleFrom[k]: last time the busy count dropped from ≥ k to < k (k = 1..vms). */
  const idleFrom = new Array<number>(vms + 1).fill(startMs);
  let busy = 0;
  let tailIdleMs = 0;
  const steps: { t: number; busy: number }[] = [];
  for (const t of times) {
    const next = busy + delta.get(t)!;
    for (let k = Math.max(next + 1, 1); k <= Math.min(busy, vms); k++) idleFrom[k] = t;
    busy = next;
    steps.push({ t, busy });
  }
  const fullUntil = idleFrom[vms]!;
  for (let s = 0; s < steps.length; s++) {
    const from = Math.max(steps[s]!.t, fullUntil);
    const to = Math.min(steps[s + 1]?.t ?? endMs, endMs);
    if (to > from) tailIdleMs += (vms - Math.min(vms, steps[s]!.busy)) * (to - from);
  }
  const sec = (ms: number) => round((ms - startMs) / 1000);
  // idleFrom[vms] is the first slot to go idle for good, idleFrom[1] the last.
  const idleTimes = idleFrom.slice(1).reverse();
  return {
    allBusyUntilSec: sec(fullUntil),
    tailSec: round((endMs - fullUntil) / 1000),
    tailIdleVmSec: round(tailIdleMs / 1000),
    vmsIdleAtSec: { first: sec(idleTimes[0]!), median: sec(idleTimes[Math.floor(vms / 2)]!), last: sec(idleTimes[vms - 1]!) },
    utilization: round(busyMs / (vms * Math.max(1, endMs - startMs)), 4),
  };
}

export interface BatchFigure {
  machine: string;
  startSec: number;
  endSec: number;
  tests: number;
  /** Σ of the batch's test durations (what the guest spent in tests). */
  testSec: number;
}

/** The batches as figures, in start order. */
export function batchFigures(checks: readonly CheckRecord[], startMs: number, durationSec: (test: string) => number): BatchFigure[] {
  return [...checks]
    .sort((a, b) => a.startMs - b.startMs)
    .map((c) => ({
      machine: c.machine,
      startSec: round((c.startMs - startMs) / 1000),
      endSec: round(((c.endMs ?? c.startMs) - startMs) / 1000),
      tests: c.tests.length,
      testSec: c.tests.reduce((a, t) => a + durationSec(t), 0),
    }));
}

/** Busy intervals of the VM slots: boots and check invocations. */
export function busyIntervals(boots: readonly BootRecord[], checks: readonly CheckRecord[], endMs: number): Interval[] {
  return [...boots, ...checks].map((r) => ({ startMs: r.startMs, endMs: r.endMs ?? endMs }));
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
