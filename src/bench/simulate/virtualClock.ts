/**
 * Runs async code on a simulated clock: setTimeout/clearTimeout/setInterval and Date are
 * replaced by @sinonjs/fake-timers, and time jumps straight to the next timer whenever every
 * promise chain has settled. A simulated hour costs only the work done in it.
 *
 * Between timers the driver yields one turn of the REAL event loop (the real setImmediate,
 * which fake-timers leaves alone here): the microtask and nextTick queues are drained before
 * an immediate runs, so every reaction to the last timer has happened before time moves on.
 * The simulated code does no real I/O, so nothing else can be pending.
 */
import FakeTimers from '@sinonjs/fake-timers';

/** The run finished no timer and no pending work: it waits for something that never comes. */
export class SimulationDeadlock extends Error {
  override name = 'SimulationDeadlock';
}

export interface VirtualRun<T> {
  value: T;
  /** Simulated milliseconds from start to the settled promise. */
  simulatedMs: number;
  /** Timers fired. */
  timersFired: number;
  /**
   * Longest real time one step took: a timer's callback and every reaction to it, until the
   * event loop was free again (what a live reporter or a signal handler would wait for).
   */
  maxStepMs: number;
  /** Simulated time (ms since start) of that step. */
  maxStepAtMs: number;
  /** CPU time (user + system) of the most expensive step: unlike real time, not inflated by other processes. */
  maxStepCpuMs: number;
}

/**
 * Calls `fn` with fake timers installed (simulated epoch `startMs`) and drives the clock until
 * its promise settles. Timers still pending then are dropped with the clock.
 */
export async function runInVirtualTime<T>(fn: () => Promise<T>, startMs: number): Promise<VirtualRun<T>> {
  const realSetImmediate = globalThis.setImmediate;
  const turn = () => new Promise<void>((resolve) => realSetImmediate(resolve));
  const clock = FakeTimers.install({
    now: startMs,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    // A simulated run of a day with hundreds of VMs fires well over the default 1000 timers.
    loopLimit: Number.MAX_SAFE_INTEGER,
  });
  let timersFired = 0;
  let maxStepMs = 0;
  let maxStepAtMs = 0;
  let maxStepCpuMs = 0;
  try {
    const settled: { outcome?: { ok: true; value: T } | { ok: false; error: unknown } } = {};
    fn().then(
      (value) => (settled.outcome = { ok: true, value }),
      (error: unknown) => (settled.outcome = { ok: false, error }),
    );
    let stepStart = performance.now();
    let stepCpu = process.cpuUsage();
    for (;;) {
      await turn();
      const step = performance.now() - stepStart;
      const cpu = process.cpuUsage(stepCpu);
      maxStepCpuMs = Math.max(maxStepCpuMs, (cpu.user + cpu.system) / 1000);
      if (step > maxStepMs) {
        maxStepMs = step;
        maxStepAtMs = clock.now - startMs;
      }
      const outcome = settled.outcome;
      if (outcome) {
        if (!outcome.ok) throw outcome.error;
        return { value: outcome.value, simulatedMs: clock.now - startMs, timersFired, maxStepMs, maxStepAtMs, maxStepCpuMs };
      }
      if (clock.countTimers() === 0) {
        throw new SimulationDeadlock(`the simulated run waits with no timer pending at ${new Date(clock.now).toISOString()}`);
      }
      stepStart = performance.now();
      stepCpu = process.cpuUsage();
      clock.next();
      timersFired++;
    }
  } finally {
    clock.uninstall();
  }
}
