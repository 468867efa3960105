/**
 * What CheckOutputParser reports while it reads check's stdout (docs/fstests.md §2). Plain JSON
 * values, so they can be logged, replayed and compared with golden files.
 */
import type { TestOutcome } from '../record/outcome.js';

/** Header fields check prints before the tests of a section (docs/fstests.md §2.1). */
export type HeaderField = 'SECTION' | 'RECREATING' | 'FSTYP' | 'PLATFORM' | 'MKFS_OPTIONS' | 'MOUNT_OPTIONS';

/** `FSTYP         -- xfs (non-debug)` and the other header lines. */
export interface HeaderEvent {
  type: 'header';
  /** Which header line. */
  field: HeaderField;
  /** Text after `-- `. */
  value: string;
}

/**
 * A test name at the start of a line: the test is running (or hung, if nothing follows).
 * Reported as soon as the padded name is seen, so it never carries the ` 5s ... ` previous
 * time (it may not have arrived yet); the test-result does.
 */
export interface TestStartEvent {
  type: 'test-start';
  /** Test id, e.g. `generic/001`. */
  test: string;
}

/** A line the running test printed itself (`check -d`), or other text before its outcome. */
export interface TestOutputEvent {
  type: 'test-output';
  /** The test in flight. */
  test: string;
  /** The text, without check's padding and -T timestamps. */
  line: string;
}

/** The outcome check printed for a test. */
export interface TestResultEvent {
  type: 'test-result';
  /** Test id. */
  test: string;
  /** passed, failed (message and the printed diff) or notrun (also used for expunged). */
  outcome: TestOutcome;
  /** The pass time check printed (` 5s`): wall seconds including post-test checks. */
  seconds?: number;
  /** True when check printed `[expunged]` (the test was excluded by -e/-E/-X). */
  expunged?: true;
  /** N of `[failed, exit status N]`. */
  exitStatus?: number;
  /** Seconds of the last pass from check.time (` 5s ... `). */
  previousSeconds?: number;
  /** -T start time, `HH:MM:SS`. */
  startedAt?: string;
  /** -T stop time, `HH:MM:SS`. */
  endedAt?: string;
  /** Text check printed after an empty line below a failure (the `.hints` file). */
  hints?: string[];
}

/** A new test, section or summary began before this test printed an outcome (`check -n`, lost output). */
export interface TestUnfinishedEvent {
  type: 'test-unfinished';
  /** The test that never got an outcome. */
  test: string;
}

/** `-L N`: `<t> aggregate results across 2 runs: fail=2 (100.0%)`. */
export interface AggregateEvent {
  type: 'aggregate';
  /** Test id. */
  test: string;
  /** Number of runs (first run + reruns). */
  runs: number;
  /** Runs per status as check names them (pass, fail, notrun, ...). */
  counts: Record<string, number>;
}

/** `Ran: a b c` — every test tried, not-run ones included (docs/fstests.md §2.3). */
export interface SummaryRanEvent {
  type: 'summary-ran';
  /** Test ids. */
  tests: string[];
}

/** `Not run: a b`. */
export interface SummaryNotRunEvent {
  type: 'summary-not-run';
  /** Test ids. */
  tests: string[];
}

/** `Failures: a b`. */
export interface SummaryFailuresEvent {
  type: 'summary-failures';
  /** Test ids. */
  tests: string[];
}

/** `Failed X of Y tests` (Y counts not-run tests too). */
export interface SummaryFailedEvent {
  type: 'summary-failed';
  /** X: tests that failed (first runs only with -L). */
  failed: number;
  /** Y: tests tried. */
  total: number;
}

/** `Passed all Y tests`. */
export interface SummaryPassedEvent {
  type: 'summary-passed';
  /** Y: tests tried. */
  total: number;
}

/** `Interrupted!` (a signal reached check; its summary is then unreliable, docs/fstests.md §7). */
export interface SummaryInterruptedEvent {
  type: 'summary-interrupted';
}

/** `Xunit report: <path>` (check -R xunit). */
export interface XunitReportEvent {
  type: 'xunit-report';
  /** Path of result.xml in the guest. */
  path: string;
}

/** The `=========================` line under `SECTION -- x`: check's end-of-run recap of a section. */
export interface SectionRecapEvent {
  type: 'section-recap';
  /** Section named by the SECTION line just before, or "" if there was none. */
  section: string;
}

/** A line that is not part of check's output grammar (harness `=== ...` lines, config errors, ...). */
export interface UnparsedEvent {
  type: 'unparsed';
  /** The line as received, without its line ending. */
  line: string;
}

export type CheckEvent =
  | HeaderEvent
  | TestStartEvent
  | TestOutputEvent
  | TestResultEvent
  | TestUnfinishedEvent
  | AggregateEvent
  | SummaryRanEvent
  | SummaryNotRunEvent
  | SummaryFailuresEvent
  | SummaryFailedEvent
  | SummaryPassedEvent
  | SummaryInterruptedEvent
  | XunitReportEvent
  | SectionRecapEvent
  | UnparsedEvent;
