/**
 * The summary of one or more event logs: what every reporter renders. Plain data (JSON-safe),
 * computed once by `summarizeRun` so that junit, json, markdown, text and GitHub output can never
 * disagree about what happened.
 */
import type { MachineLostEvent, SectionConfig, TestArtifacts } from './events.js';
import { isFailingStatus, type CrashInfo, type TestOutcome, type TestStatus } from './outcome.js';

/** A test's final status: an outcome status, or `notexecuted` when no attempt finished. */
export type SummaryStatus = TestStatus | 'notexecuted';

/** One finished run of one test on one machine (one test-end event). */
export interface TestAttempt {
  /** 1 for the first run, 2+ for retries. */
  attempt: number;
  /** VM that ran it (vm1, vm2, ...). */
  machine: string;
  /** What happened. */
  outcome: TestOutcome;
  /** Wall time kt observed, test-begin to outcome. */
  durationMs: number;
  /** Seconds fstests printed, when it printed them. */
  checkSeconds?: number;
  /** ISO time the attempt ended (the test-end event). */
  endedAt: string;
  /** Files of the attempt, relative to the run directory of `runId`. */
  artifacts: TestArtifacts;
  /** fstests `.dmesg` text (capped by the runner). */
  dmesg?: string;
  /** Tail of `.full` (capped by the runner). */
  fullTail?: string;
  /** Run (or CI shard) that produced the attempt. */
  runId: string;
  /** Kernel reports on the console during the attempt that did not end the VM (WARNING, KASAN, ...). */
  reports: CrashInfo[];
  /** ISO time the attempt began (its test-begin), when known. */
  startedAt?: string;
}

/** The result of one test in one section, over all its attempts. */
export interface TestResult {
  /** fstests id, e.g. `generic/001`. */
  test: string;
  /** Config section it ran in (`global` when none). */
  section: string;
  /** Status of the last finished attempt; `notexecuted` when none finished. */
  status: SummaryStatus;
  /** Every finished attempt, runs in the order they started, attempt order within a run; the last one decides `status`. */
  attempts: TestAttempt[];
  /** An earlier attempt of the same run failed, crashed or timed out and the last one passed. */
  flaky: boolean;
  /** Machine the test was still running on when its run stopped (begun, never finished). */
  unfinishedOn?: string;
  /** Why a `notexecuted` test has no result, e.g. "run interrupted". */
  notExecutedReason?: string;
  /** How the run that planned a `notexecuted` test ended (`error`: kt failed, e.g. no VM booted). */
  notExecutedRunStatus?: RunStatus;
}

/** Number of tests per final status; `flaky` tests are also counted in `passed`. */
export type StatusCounts = Record<SummaryStatus, number> & {
  /** Passed on a retry after failing, crashing or timing out. */
  flaky: number;
  /** Distinct tests (name + section). */
  total: number;
};

/** One distinct kernel crash (one fingerprint), wherever and however often it happened. */
export interface CrashGroup {
  /** `CrashInfo.fingerprint`, the de-duplication key. */
  fingerprint: string;
  /** The first report seen with this fingerprint. */
  crash: CrashInfo;
  /** How many times it happened (once per machine and running test). */
  count: number;
  /** Tests that were running when it happened, first seen first. */
  tests: string[];
  /** Machines it happened on. */
  machines: string[];
  /** It ended (or would have ended) the VM: a panic, a fatal oops, a hang; false for a WARNING. */
  fatal: boolean;
}

/** One VM of a run, from its first to its last event (the timeline of the HTML report). */
export interface MachineSpan {
  /** VM name within its run. */
  machine: string;
  /** Run (or shard) it belonged to. */
  runId: string;
  /** ISO time QEMU was started (machine-boot). */
  bootAt?: string;
  /** ISO time it was ready for tests (machine-up). */
  upAt?: string;
  /** Boot time the machine reported (machine-up bootMs). */
  bootMs?: number;
  /** ISO time it was discarded (machine-lost), when it was. */
  lostAt?: string;
  /** Why it was lost. */
  lostReason?: MachineLostEvent['reason'];
}

/** A VM that kt discarded (a machine-lost event). */
export interface MachineLoss {
  /** VM name within its run. */
  machine: string;
  /** Run (or shard) the VM belonged to. */
  runId: string;
  /** Why kt discarded it. */
  reason: MachineLostEvent['reason'];
  /** Human-readable detail from the runner. */
  message: string;
  /** Fingerprint of the crash that killed it, when one was detected. */
  crashFingerprint?: string;
  /** Test running on it when it was lost. */
  test?: string;
  /** Console log, relative to the run dir. */
  consoleLog: string;
  /** Guest memory dump, relative to the run dir. */
  vmcore?: string;
}

/** How one event log ended: from run-end, or `killed` when the log has none (SIGKILL, OOM, host crash). */
export type RunStatus = 'completed' | 'interrupted' | 'error' | 'killed';

/** One event log: one `kt run`, or one CI shard of it. */
export interface RunInfo {
  /** Run id from run-start (`unknown` for a log without one). */
  runId: string;
  /** Config section. */
  section: string;
  /** Host that ran it. */
  hostname: string;
  /** Kernel image. */
  kernel: string;
  /** Filesystem under test. */
  fstyp: string;
  /** Accelerator used. */
  accel: string;
  /** Parallel VMs. */
  jobs: number;
  /** `i/n` for a CI shard. */
  shard?: string;
  /** ISO start time. */
  startedAt: string;
  /** How the run ended. */
  status: RunStatus;
  /** Signal that interrupted it. */
  signal?: string;
  /** run-end message (infrastructure error). */
  message?: string;
  /** Wall time: run-end's, or first to last event for a killed run. */
  wallMs: number;
  /** Tests (section, test pairs) the run was asked to execute. */
  planned: number;
  /** Every section of the run with its options (one for a single-suite run). */
  sections: SectionConfig[];
  /** The log recorded its sections' options (logs of kt before sections did not). */
  hasSectionConfigs: boolean;
  /** kt version that wrote the log. */
  ktVersion?: string;
  /** fstests tree the run used, when recorded. */
  fstests?: string;
  /** The command line, for the record and `kt repro`. */
  argv: string[];
}

/** A section (fstests config section): one JUnit testsuite. */
export interface SectionInfo {
  /** Section name. */
  name: string;
  /** Hosts that ran it (several for CI shards). */
  hostnames: string[];
  /** Earliest run start in this section. */
  startedAt: string;
  /** First run start to last run end in this section. */
  wallMs: number;
  /** Filesystem under test (first run's). */
  fstyp: string;
  /** Kernel image (first run's). */
  kernel: string;
  /** MKFS_OPTIONS of the section, when recorded. */
  mkfsOptions?: string;
  /** MOUNT_OPTIONS of the section, when recorded. */
  mountOptions?: string;
  /** kt version of the run that made it. */
  ktVersion?: string;
}

/** A test and its duration, for the slowest-tests list. */
export interface SlowTest {
  /** fstests id. */
  test: string;
  /** Section. */
  section: string;
  /** Duration of the final attempt. */
  durationMs: number;
  /** Machine of the final attempt. */
  machine: string;
}

/** A warning event from the runner. */
export interface RunWarning {
  /** ISO time. */
  ts: string;
  /** Text. */
  message: string;
  /** VM it concerns, if any. */
  machine?: string;
  /** Said before the run began: of its plan (an -x group that is empty), the host or the history. */
  beforeRun?: boolean;
}

/** Everything the reporters render. */
export interface RunSummary {
  /** Each event log (run or shard), in input order. */
  runs: RunInfo[];
  /** Sections, first seen first. */
  sections: SectionInfo[];
  /** Every planned or executed test, grouped by section in plan order. */
  tests: TestResult[];
  /** Tests per final status. */
  counts: StatusCounts;
  /** Distinct crashes, first seen first. */
  crashes: CrashGroup[];
  /** Up to 10 slowest executed tests, slowest first. */
  slowest: SlowTest[];
  /** VMs booted (machine-boot events) and lost, and each VM's span. */
  machines: { booted: number; lost: MachineLoss[]; spans: MachineSpan[] };
  /** Runner warnings. */
  warnings: RunWarning[];
  /** Earliest run start (ISO), or '' when no log had a run-start. */
  startedAt: string;
  /** Earliest start to latest end over all runs. */
  wallMs: number;
  /** Some run was interrupted by a signal or ended without run-end. */
  interrupted: boolean;
}

/** The attempt that decided the test's status, if any finished. */
export function finalAttempt(result: TestResult): TestAttempt | undefined {
  return result.attempts[result.attempts.length - 1];
}

/** Tests whose final status makes `kt run` exit 1. */
export function failingTests(summary: RunSummary): TestResult[] {
  return summary.tests.filter((t) => t.status !== 'notexecuted' && isFailingStatus(t.status));
}

/**
 * Fatal kernel crashes that no test's outcome carries: a VM that panicked between batches (the
 * delayed work of a test whose result was already in, an unmount) or while it booted. A crash
 * during a test is that test's `crashed` or `timedout` outcome and is judged with it.
 */
export function crashesOutsideTests(summary: RunSummary): CrashGroup[] {
  const owned = new Set<string>();
  for (const t of summary.tests) {
    for (const a of t.attempts) {
      const o = a.outcome;
      if ((o.status === 'crashed' || o.status === 'timedout') && o.crash) owned.add(o.crash.fingerprint);
    }
  }
  return summary.crashes.filter((g) => g.fatal && !owned.has(g.fingerprint));
}

/**
 * True when the summary should make `kt` exit 1 (see errors.ts ExitCode): a failing test, or a
 * kernel crash outside every test (a panic is never a pass, even when no test is blamed for it).
 */
export function hasFailures(summary: RunSummary): boolean {
  return failingTests(summary).length > 0 || crashesOutsideTests(summary).length > 0;
}
