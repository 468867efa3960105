/**
 * A simulated `kt run`: kt's real engine (src/runner/run.ts executeRun with its real Worker,
 * dispatcher, work queue, retry policy, batchRun, blame, and the real check-output parser and
 * crash detector of src/runner/adapters.ts) over simulated machines (simMachine.ts) on a
 * simulated clock (virtualClock.ts), fed with real per-test durations. Only the VMs and the
 * clock are simulated; every decision is kt's.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { RunEvent, WorkSpec } from '../../record/events.js';
import { createCheckStream, createConsoleWatcher } from '../../runner/adapters.js';
import { createGuestSteps } from '../../runner/guestSetup.js';
import { batchSize, orderLongestFirst, testDeadlineSec, unknownEstimateOf } from '../../runner/order.js';
import { executeRun, retriesPolicy, type RunResult } from '../../runner/run.js';
import { expectedSeconds, type TestHistory } from '../../record/history.js';
import type { WorkItem } from '../../runner/workQueue.js';
import type { TestDuration } from './durations.js';
import type { GuestTexts } from './guestTexts.js';
import { chooseInjections, type Injections } from './injections.js';
import { batchFigures, busyIntervals, lowerBoundSec, round, tailFigures, type BatchFigure, type TailFigures } from './metrics.js';
import { SimulatedMachine, type Fate, type GuestModel } from './simMachine.js';
import { runInVirtualTime } from './virtualClock.js';
import { finalOutcomes, verifyRun } from './verify.js';
import { testKey } from '../../record/testKey.js';

/** kt's KVM test deadlines (src/cli/runCommand.ts DEADLINE.kvm): the durations are KVM runs. */
const KVM_DEADLINE = { factor: 5, floorSec: 120, ceilingSec: 3600 };
/** The simulated epoch: a fixed date, so event times are reproducible. */
const EPOCH_MS = Date.UTC(2026, 0, 1);
/** The one section of a simulated run; its commands are rendered but never run for real. */
const SECTION = { name: 'sim', fstyp: 'xfs', mkfsOptions: '', mountOptions: '', env: {} };

export interface SimulateOptions {
  durations: readonly TestDuration[];
  /**
   * Tests check reports not run, after these seconds (fstests' `_notrun`: the section lacks
   * what they need); planned with the rest, in name order, as a real section plans them.
   */
  notrun?: readonly TestDuration[];
  /**
   * What kt's history says of the tests not run: `seconds`, the seconds they took (kt since
   * notrunSeconds, src/record/history.ts); `unknown`, nothing (kt before it, which kept
   * durations of passed and failed tests only). Either way, durations the `history` run has of
   * them are kept, as kt keeps them.
   */
  notrunEstimate?: 'seconds' | 'unknown';
  /** Seconds kt believes each test takes (its history); default: the durations themselves. */
  history?: ReadonlyMap<string, number>;
  vms: number;
  crashes: number;
  hangs: number;
  bootSec: number;
  checkStartSec: number;
  maxBatch: number;
  retries: number;
  seed: number;
  /**
   * time: kt's batches hold a share of the queued estimated seconds (src/runner/order.ts
   * batchBudget, given the history as RunInputs.estimateSec); count: a share of the queued
   * tests only (kt before that rule, or a run without history).
   */
  batching: 'time' | 'count';
  /** kt's --test-timeout: one deadline for every test instead of the history-derived one. */
  testTimeoutSec?: number;
  /** kt's --spares: VMs booted ahead to replace a lost one (kt's default: 1 with more than one VM). */
  spares?: number;
}

export interface SimulateReport {
  tests: number;
  /** Of them, reported not run by their guest (--notrun). */
  notrunTests: number;
  vms: number;
  sumSec: number;
  longestSec: number;
  makespanSec: number;
  lowerBoundSec: number;
  ratio: number;
  /** Which bound dominates: Σ/N or the longest test. */
  boundBy: 'sum' | 'longest';
  batches: number;
  checkInvocations: number;
  boots: number;
  crashes: { injected: number; detected: number };
  hangs: { injected: number; detected: number };
  /** Tests longer than their deadline (kt's deadline rule from history, or --test-timeout): ended as timed out. */
  overDeadline: string[];
  outcomes: Record<string, number>;
  retriesRun: number;
  tail: TailFigures & {
    /** Test counts of the last 2×N batches handed out, in order. */
    lastBatchSizes: number[];
    /** The batch that finished last. */
    lastToFinish: BatchFigure | undefined;
  };
  peakRssMB: number;
  hostCpuSec: number;
  eventLoopMaxStallMs: number;
  eventLoopP99StallMs: number;
  /** Longest real time kt spent reacting to one simulated event (virtualClock.ts), and when. */
  maxStepMs: number;
  maxStepAtSec: number;
  maxStepCpuMs: number;
  realMs: number;
  timersFired: number;
  events: number;
  violations: string[];
}

export interface SimulateResult {
  report: SimulateReport;
  events: RunEvent[];
  work: WorkSpec[];
  injections: Injections;
  batches: BatchFigure[];
}

export async function simulate(opts: SimulateOptions, texts: GuestTexts): Promise<SimulateResult> {
  const notrunTests = opts.notrun ?? [];
  const seconds = new Map([...opts.durations, ...notrunTests].map((d) => [d.test, d.seconds]));
  const durationSec = (test: string) => seconds.get(test) ?? 0;
  const notrunSet = new Set(notrunTests.map((d) => d.test));
  const ran = opts.history ?? new Map(opts.durations.map((d) => [d.test, d.seconds]));
  // kt's history of each test as its runs leave it (src/record/history.ts), built once: estimates
  // and deadlines come from kt's own rules over it. A test not run here that the --history run
  // ran keeps those durations, as kt's history would.
  const ktHistory = new Map<string, TestHistory>();
  for (const test of seconds.keys()) {
    const s = ran.get(test);
    const durations = s === undefined ? undefined : { lastSeconds: s, maxSeconds: s };
    const h = notrunSet.has(test) && opts.notrunEstimate !== 'unknown' ? { ...durations, notrunSeconds: seconds.get(test)! } : durations;
    if (h) ktHistory.set(test, h);
  }
  const historyOf = (test: string) => ktHistory.get(test);
  const injections = chooseInjections(
    opts.durations.map((d) => d.test),
    opts.crashes,
    opts.hangs,
    opts.seed,
  );
  const fired = new Set<string>();
  const model: GuestModel = {
    durationSec,
    fate(test: string): Fate {
      if (notrunSet.has(test)) return 'notrun';
      if (fired.has(test)) return 'pass';
      fired.add(test);
      return injections.crash.has(test) ? 'crash' : injections.hang.has(test) ? 'hang' : 'pass';
    },
    bootSec: opts.bootSec,
    checkStartSec: opts.checkStartSec,
    checkHeader: texts.checkHeader,
    panicConsole: texts.panicConsole,
    checks: [],
    boots: [],
  };

  const deadline = { ...KVM_DEADLINE, ...(opts.testTimeoutSec !== undefined ? { override: opts.testTimeoutSec } : {}) };
  const deadlineOf = (test: string | undefined) => testDeadlineSec((test !== undefined ? historyOf(test) : undefined) ?? {}, deadline);
  const estimateOf = (test: string) => expectedSeconds(historyOf(test));
  // The plan order: the durations file's (fstests' by name, as the real sets are sorted), the
  // tests not run merged in by name.
  const planned = notrunTests.length ? [...seconds.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) : opts.durations.map((d) => d.test);
  const specs: WorkSpec[] = planned.map((test) => ({ section: SECTION.name, test }));
  const byKey = new Map<string, number>();
  for (const w of specs) {
    const h = estimateOf(w.test);
    if (h !== undefined) byKey.set(testKey(w.section, w.test), h);
  }
  // kt's rule for tests without history (src/runner/plan.ts): over the tests that ran.
  const unknownSec = unknownEstimateOf(planned.map(historyOf));
  const work = orderLongestFirst(specs, byKey, (w) => testKey(w.section, w.test), unknownSec);

  const stall = monitorEventLoopDelay({ resolution: 10 });
  const cpu0 = process.cpuUsage();
  const real0 = performance.now();
  stall.enable();
  const stop = new AbortController();
  const { value: result, timersFired, maxStepMs, maxStepAtMs, maxStepCpuMs } = await runInVirtualTime<RunResult>(
    () =>
      executeRun({
        runId: 'simulated',
        work,
        sections: [{ name: SECTION.name, fstyp: SECTION.fstyp, mkfsOptions: '', mountOptions: '' }],
        jobs: opts.vms,
        header: { kernel: 'simulated', accel: 'kvm', argv: ['simulate'], ktVersion: 'simulated' },
        sink: () => undefined,
        createMachine: async (index) => new SimulatedMachine(`vm${index}`, model),
        guest: createGuestSteps([SECTION], '/simulated/fstests'),
        createCheckStream,
        createConsoleWatcher,
        batchSize: (remaining) => batchSize(remaining, opts.vms, { maxBatch: opts.maxBatch }),
        // A run with a history knows check's start-up from it too (record/history.ts Startups).
        ...(opts.batching === 'time' ? { batchByTime: { estimateSec: (item: WorkItem) => estimateOf(item.test), maxBatch: opts.maxBatch, unknownSec, startupSec: opts.checkStartSec } } : {}),
        deadlineSec: (item) => deadlineOf(item?.test),
        retryPolicy: retriesPolicy(opts.retries),
        saveArtifact: (item, ext) => `${item.test}.${item.attempt}.${ext}`,
        consoleLogOf: (machine) => `console/${machine.name}.log`,
        stop: stop.signal,
        spares: opts.spares ?? 0,
      }),
    EPOCH_MS,
  );
  stall.disable();
  const realMs = performance.now() - real0;
  const cpu = process.cpuUsage(cpu0);

  const events = result.events;
  const end = events.at(-1);
  const makespanMs = end?.type === 'run-end' ? end.wallMs : Number.NaN;
  const endMs = EPOCH_MS + makespanMs;
  // What a run can spend on each test: kt's deadline ends one that runs longer (--test-timeout
  // below a test's length; a slow _notrun, as tmpfs' generic/449 at 3,143 s).
  const all = [...seconds].map(([test, sec]) => Math.min(sec, deadlineOf(test)));
  const sumSec = all.reduce((a, b) => a + b, 0);
  const longestSec = all.reduce((a, b) => Math.max(a, b), 0);
  const bound = lowerBoundSec(all, opts.vms, opts.bootSec);
  const batches = batchFigures(model.checks, EPOCH_MS, durationSec);
  const tail = tailFigures(busyIntervals(model.boots, model.checks, endMs), Math.min(opts.vms, work.length), EPOCH_MS, endMs);
  const lastToFinish = [...batches].sort((a, b) => b.endSec - a.endSec)[0];
  const outcomes = finalOutcomes(events);
  const endsWith = (status: string, tests: ReadonlySet<string>) =>
    events.filter((e) => e.type === 'test-end' && e.attempt === 1 && e.outcome.status === status && tests.has(e.test)).length;
  const violations = verifyRun({ events, work, injections, notrun: notrunSet, durationSec, deadlineSec: (t) => deadlineOf(t), retries: opts.retries });
  /** Tests that take longer than kt's deadline for them: kt ends them as hangs (verify.ts). */
  const overDeadline = [...opts.durations, ...notrunTests].filter((d) => !injections.crash.has(d.test) && !injections.hang.has(d.test) && d.seconds >= deadlineOf(d.test)).map((d) => d.test);
  if (makespanMs / 1000 < bound - 1e-9) violations.push(`makespan ${makespanMs / 1000} s is below the lower bound ${bound} s`);

  const report: SimulateReport = {
    tests: work.length,
    notrunTests: notrunSet.size,
    vms: opts.vms,
    sumSec,
    longestSec,
    makespanSec: round(makespanMs / 1000),
    lowerBoundSec: round(bound),
    ratio: round(makespanMs / 1000 / bound, 4),
    boundBy: sumSec / opts.vms >= longestSec ? 'sum' : 'longest',
    batches: batches.length,
    checkInvocations: model.checks.length,
    boots: model.boots.length,
    crashes: { injected: injections.crash.size, detected: endsWith('crashed', injections.crash) },
    hangs: { injected: injections.hang.size, detected: endsWith('timedout', injections.hang) },
    overDeadline,
    outcomes: outcomes.counts,
    retriesRun: outcomes.retries,
    tail: { ...tail, lastBatchSizes: batches.slice(-2 * opts.vms).map((b) => b.tests), lastToFinish },
    peakRssMB: round(process.resourceUsage().maxRSS / 1024, 1),
    hostCpuSec: round((cpu.user + cpu.system) / 1e6),
    eventLoopMaxStallMs: round(stall.max / 1e6, 1),
    eventLoopP99StallMs: round(stall.percentile(99) / 1e6, 1),
    maxStepMs: round(maxStepMs, 1),
    maxStepAtSec: round(maxStepAtMs / 1000),
    maxStepCpuMs: round(maxStepCpuMs, 1),
    realMs: round(realMs, 0),
    timersFired,
    events: events.length,
    violations,
  };
  return { report, events, work, injections, batches };
}
