/**
 * The event stream of a run: the one record every reporter is built from.
 *
 * The runner appends each event to `<run-dir>/events.jsonl` the moment it happens, so a run
 * killed by Ctrl-C, the OOM killer or a host crash still has its results, and `kt report`
 * replays one or many logs (CI shards) through the same reporters. Events are plain JSON:
 * reporters never see live objects. Bump EVENTS_VERSION on any incompatible change.
 */
import type { CrashInfo, TestOutcome } from './outcome.js';

/** Major version of the event format: readers reject another major. */
export const EVENTS_VERSION = 1;

/** Where the files of one test landed, relative to the run directory. */
export interface TestArtifacts {
  /** Tail of fstests' `<seq>.full`. */
  full?: string;
  /** fstests' `<seq>.dmesg` (only written by check when dmesg had something). */
  dmesg?: string;
  /** fstests' `<seq>.out.bad`. */
  outBad?: string;
  /** Console lines of the VM while the test ran (crash/hang cases). */
  console?: string;
}

export interface RunStartEvent {
  type: 'run-start';
  v: typeof EVENTS_VERSION;
  /** Wall clock, ISO-8601. */
  ts: string;
  runId: string;
  /** The full ordered test list this run (or shard) was asked to execute. */
  tests: string[];
  /** Number of parallel VMs. */
  jobs: number;
  /** Kernel image used, as given or resolved. */
  kernel: string;
  /** Accelerator actually used after probing. */
  accel: 'kvm' | 'tcg';
  /** Filesystem type under test. */
  fstyp: string;
  /** Config section name (fstests-style) — "global" when none. */
  section: string;
  /** Host name, for JUnit's hostname attribute. */
  hostname: string;
  /** The CLI arguments, for the record. */
  argv: string[];
  /** `i/n` when this run is one CI shard. */
  shard?: string;
  /** kt's version (package.json). */
  ktVersion?: string;
}

export interface MachineBootEvent {
  type: 'machine-boot';
  ts: string;
  /** Stable name within the run: vm1, vm2, ... (a replacement VM gets a new name). */
  machine: string;
  /** The qemu argv, for reproduction. */
  argv: string[];
}

export interface MachineUpEvent {
  type: 'machine-up';
  ts: string;
  machine: string;
  /** qemu start → commands accepted over the transport. */
  bootMs: number;
  /** `uname -r` in the guest. */
  kernelRelease: string;
}

export interface MachineLostEvent {
  type: 'machine-lost';
  ts: string;
  machine: string;
  /** Why kt discarded it: crash, hang, qemu exit, transport loss, boot failure. */
  reason: 'crash' | 'hang' | 'qemu-exit' | 'transport' | 'boot-failure';
  message: string;
  /** The test that was running (its test-end with the same crash comes first). */
  test?: string;
  crash?: CrashInfo;
  /** Console log of the VM, relative to the run dir. */
  consoleLog: string;
  /** Guest memory dump, relative to the run dir, when --vmcore took one. */
  vmcore?: string;
}

export interface MachineDoneEvent {
  type: 'machine-done';
  ts: string;
  machine: string;
}

export interface TestBeginEvent {
  type: 'test-begin';
  ts: string;
  test: string;
  machine: string;
  /** 1 for the first run of this test, 2+ for retries (--retries). */
  attempt: number;
}

export interface TestEndEvent {
  type: 'test-end';
  ts: string;
  test: string;
  machine: string;
  attempt: number;
  outcome: TestOutcome;
  /** Wall time kt observed, from test-begin to outcome. */
  durationMs: number;
  /** The duration fstests itself printed (" 5s"), when it printed one. */
  checkSeconds?: number;
  artifacts: TestArtifacts;
  /** fstests `.dmesg` text (capped), for JUnit's system-out. */
  dmesg?: string;
  /** Tail of `.full` (capped). */
  fullTail?: string;
}

export interface WarningEvent {
  type: 'warning';
  ts: string;
  message: string;
  machine?: string;
}

export interface RunEndEvent {
  type: 'run-end';
  ts: string;
  /** completed: every test has an outcome; interrupted: SIGINT/SIGTERM; error: infra failure. */
  status: 'completed' | 'interrupted' | 'error';
  wallMs: number;
  signal?: 'SIGINT' | 'SIGTERM';
  message?: string;
}

export type RunEvent =
  | RunStartEvent
  | MachineBootEvent
  | MachineUpEvent
  | MachineLostEvent
  | MachineDoneEvent
  | TestBeginEvent
  | TestEndEvent
  | WarningEvent
  | RunEndEvent;

/** Distributes Omit over the union so callers can emit events without a timestamp. */
export type EventInput = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'ts'> : never) : never;
