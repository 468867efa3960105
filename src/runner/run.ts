/**
 * `kt run`'s engine: given a plan, a machine factory and a sink for events, boot N workers over
 * one dispatcher, record every event, and say how the run ended. It prints nothing, installs no
 * signal handler and never exits the process: the CLI owns all of that (src/cli/runCommand.ts)
 * and hands in an AbortSignal for SIGINT/SIGTERM.
 */
import { setMaxListeners } from 'node:events';
import os from 'node:os';
import { HostError, isKtError, type KtError } from '../errors.js';
import { EVENTS_VERSION, type EventInput, type PreflightOutcome, type TestDevOrigin, type RunEvent, type SectionConfig, type WorkSpec } from '../record/events.js';
import type { TestOutcome } from '../record/outcome.js';
import { isTestFailure } from '../record/outcome.js';
import type { BootResult, Machine } from '../vm/machine.js';
import type { BatchDeps } from './batchRun.js';
import { Dispatcher, type RetryPolicy } from './dispatcher.js';
import { estimator } from './order.js';
import type { CheckStream, ConsoleWatcher } from './ports.js';
import { MachineSupply } from './supply.js';
import { Worker } from './worker.js';
import type { WorkItem } from './workQueue.js';

/** How a run ended, for run-end and the exit code. */
export type RunStatus = 'completed' | 'interrupted' | 'error';

/** The guest-side steps of a run (guestSetup.ts renders them for kt's guests). */
export interface GuestSteps {
  /**
   * The once-per-boot set-up; 'remembered' when it was skipped (guestSetup.ts PreflightMemo).
   * Its guest commands, and the section's, stop when `signal` aborts (a Ctrl-C during set-up).
   */
  setupGuest(machine: Machine, boot?: BootResult, signal?: AbortSignal): Promise<PreflightOutcome>;
  /**
   * Switches the VM to `section` (its check config, a fresh TEST_DEV). `boot` only for the first
   * switch after the VM's boot: TEST_DEV may then be made already (guestSetup.ts TestDevTemplates).
   */
  prepareSection(machine: Machine, section: string, signal?: AbortSignal, boot?: BootResult): Promise<void>;
  /** How the first prepareSection after `boot` gives TEST_DEV its filesystem, for machine-up. */
  testDevOrigin?(section: string, boot: BootResult): TestDevOrigin;
  checkCommand(items: readonly WorkItem[]): string;
  guestResultDir(section: string): string;
}

export interface RunInputs {
  runId: string;
  /** Every planned item in the order VMs take them. */
  work: WorkSpec[];
  /** The sections of the run, for the record. */
  sections: SectionConfig[];
  jobs: number;
  /** What run-start records about the run besides the plan. */
  header: { kernel: string; bootKernel?: string; accel: 'kvm' | 'tcg'; argv: string[]; ktVersion: string; shard?: string; fstests?: string; cwd?: string };
  /** Receives every event (the event log, the live reporter). May throw a KtError (disk full). */
  sink(event: RunEvent): void;
  /** A new machine, not booted, named `vm<index>`, to be made ready for `section` first. */
  createMachine(index: number, section: string): Promise<Machine>;
  guest: GuestSteps;
  createCheckStream(): CheckStream;
  createConsoleWatcher(): ConsoleWatcher;
  /** Tests per check invocation for a queue length. */
  batchSize(remaining: number): number;
  /**
   * Batching by time: the seconds a test is expected to take (its last run, from history;
   * undefined when unknown) and --batch. When any test has an estimate, a batch holds at most
   * maxBatch tests and a share of the estimated seconds left (order.ts batchBudget), and
   * batchSize is not used.
   */
  batchByTime?: {
    estimateSec(item: WorkItem): number | undefined;
    maxBatch: number;
    /** What a test without an estimate counts as (the plan's, order.ts unknownEstimateOf); default: the 90th percentile of the estimates. */
    unknownSec?: number;
    /** check's start-up as an earlier run measured it (history.ts `startup`), until this run measures its own. */
    startupSec?: number;
  };
  /** Deadline in seconds of a test (undefined: check's work outside tests). */
  deadlineSec(item: WorkItem | undefined): number;
  /** Reruns a finished attempt? (--retries, with or without a baseline). */
  retryPolicy: RetryPolicy;
  saveArtifact(item: WorkItem, ext: string, data: Buffer | string): string;
  saveVmcore?(machine: Machine): Promise<string | undefined>;
  consoleLogOf(machine: Machine): string;
  /** Aborted on SIGINT/SIGTERM (with the signal's name as reason): stop handing out tests, shut the VMs down. */
  stop: AbortSignal;
  /** Consecutive boot failures that end the run (default 3). */
  maxBootFailures?: number;
  /** VMs kept booted ahead, to replace a crashed one at once (default 0). */
  spares?: number;
  timing?: BatchDeps['timing'];
  /**
   * What kt warned about before the run began (its plan: an -x group that is empty; the host:
   * little space for the disks; a damaged history): recorded as `warning` events right after
   * run-start, so the reports and the JSON record keep what the terminal showed.
   */
  startWarnings?: readonly string[];
}

export interface RunResult {
  status: RunStatus;
  /** Every event, in order (what the sink received). */
  events: RunEvent[];
  /** The error that ended the run (status error). */
  error?: KtError;
}

/** --retries N: rerun a failed, crashed or timed-out attempt up to N times. */
export function retriesPolicy(retries: number): RetryPolicy {
  return (item: WorkItem, outcome: TestOutcome) => isTestFailure(outcome.status) && item.attempt <= retries;
}

export async function executeRun(inputs: RunInputs): Promise<RunResult> {
  const started = Date.now();
  const events: RunEvent[] = [];
  let fatal: KtError | undefined;
  /** Stops the workers: the user's signal, or a fatal error of ours. */
  const stop = new AbortController();
  const onStop = () => stop.abort();
  inputs.stop.addEventListener('abort', onStop, { once: true });
  if (inputs.stop.aborted) stop.abort();
  const workerCount = Math.min(inputs.jobs, Math.max(1, inputs.work.length));
  const byTime = inputs.batchByTime;
  const estimate = byTime ? estimator<WorkItem>(inputs.work.map((w) => ({ ...w, attempt: 1, freshVm: false })), (i) => byTime.estimateSec(i), byTime.unknownSec) : undefined;
  const dispatcher = new Dispatcher(inputs.work, inputs.retryPolicy, byTime && estimate ? { estimateSec: estimate, workers: workerCount, maxBatch: byTime.maxBatch, startupSec: byTime.startupSec } : undefined);
  // Every worker listens to the stop signal while it boots or runs a batch: at -j 11 and more
  // that passes Node's default of 10 listeners and prints a "possible memory leak" warning.
  setMaxListeners(10 + 2 * workerCount, stop.signal);
  stop.signal.addEventListener('abort', () => dispatcher.stop(), { once: true });

  const emit = (input: EventInput) => {
    const event = { ...input, ts: new Date().toISOString() } as RunEvent;
    events.push(event);
    try {
      inputs.sink(event);
    } catch (err) {
      // Disk full or results dir gone: stop the run; what was written stays readable.
      fatal ??= isKtError(err) ? err : new HostError('E_INTERNAL', String(err));
      stop.abort();
    }
  };

  const first = inputs.sections[0];
  emit({
    type: 'run-start',
    v: EVENTS_VERSION,
    runId: inputs.runId,
    tests: inputs.work.filter((w) => w.section === first?.name).map((w) => w.test),
    jobs: inputs.jobs,
    kernel: inputs.header.kernel,
    ...(inputs.header.bootKernel ? { bootKernel: inputs.header.bootKernel } : {}),
    accel: inputs.header.accel,
    fstyp: first?.fstyp ?? '',
    section: first?.name ?? 'global',
    hostname: os.hostname(),
    argv: inputs.header.argv,
    ktVersion: inputs.header.ktVersion,
    ...(inputs.header.shard ? { shard: inputs.header.shard } : {}),
    ...(inputs.header.fstests ? { fstests: inputs.header.fstests } : {}),
    ...(inputs.header.cwd ? { cwd: inputs.header.cwd } : {}),
    sections: inputs.sections,
    work: inputs.work,
  });
  for (const message of inputs.startWarnings ?? []) emit({ type: 'warning', message, beforeRun: true });

  let vmCounter = 0;
  const maxBootFailures = inputs.maxBootFailures ?? 3;
  const supply = new MachineSupply(
    {
      emit,
      createMachine: (section) => inputs.createMachine(++vmCounter, section),
      setupGuest: (m, boot, signal) => inputs.guest.setupGuest(m, boot, signal),
      createConsoleWatcher: inputs.createConsoleWatcher,
      prepareSection: (m, s, signal, boot) => inputs.guest.prepareSection(m, s, signal, boot),
      testDevOrigin: (s, boot) => inputs.guest.testDevOrigin?.(s, boot),
      consoleLogOf: inputs.consoleLogOf,
      stopSignal: stop.signal,
      maxBootFailures,
      ...(inputs.timing ? { timing: inputs.timing } : {}),
    },
    inputs.spares ?? 0,
  );
  const workers = Array.from(
    { length: workerCount },
    () =>
      new Worker({
        dispatcher,
        emit,
        supply,
        prepareSection: (m, s, signal) => inputs.guest.prepareSection(m, s, signal),
        checkCommand: (items) => inputs.guest.checkCommand(items),
        guestResultDir: (s) => inputs.guest.guestResultDir(s),
        createCheckStream: inputs.createCheckStream,
        batchSize: inputs.batchSize,
        deadlineSec: inputs.deadlineSec,
        saveArtifact: inputs.saveArtifact,
        ...(inputs.saveVmcore ? { saveVmcore: inputs.saveVmcore } : {}),
        consoleLogOf: inputs.consoleLogOf,
        stopSignal: stop.signal,
        maxBootFailures,
        ...(inputs.timing ? { timing: inputs.timing } : {}),
      }),
  );
  // Standing spares boot once the workers' first VMs are up (supply.startSparesOnceUp).
  const firstSection = inputs.work[0]?.section;
  if (firstSection !== undefined) supply.startSparesOnceUp(firstSection);

  try {
    await Promise.all(
      workers.map((w) =>
        w.run().catch((err: unknown) => {
          // The kernel never boots or the fstests tree is unusable: the other VMs would only
          // meet the same error, so stop them now.
          fatal ??= isKtError(err) ? err : new HostError('E_INTERNAL', String(err instanceof Error ? err.stack : err));
          stop.abort();
        }),
      ),
    );
  } finally {
    await supply.dispose();
    inputs.stop.removeEventListener('abort', onStop);
  }

  const status: RunStatus = inputs.stop.aborted ? 'interrupted' : fatal ? 'error' : 'completed';
  const reason: unknown = inputs.stop.reason;
  const signal = status === 'interrupted' && (reason === 'SIGINT' || reason === 'SIGTERM') ? reason : undefined;
  emit({ type: 'run-end', status, wallMs: Date.now() - started, ...(signal ? { signal } : {}), ...(fatal ? { message: fatal.message } : {}) });
  return { status, events, ...(fatal ? { error: fatal } : {}) };
}
