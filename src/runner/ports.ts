/**
 * The shapes the runner needs from the fstests stream parser and the crash detector. The
 * runner depends on these, not on the parsing modules' internals (docs/architecture.md: a folder imports
 * the interfaces it is given).
 */
import type { CrashInfo, TestOutcome } from '../record/outcome.js';

/** What the runner needs to hear from check's stdout. */
export type CheckStreamEvent =
  | { type: 'test-start'; test: string }
  | { type: 'test-result'; test: string; outcome: TestOutcome; seconds?: number; expunged?: boolean };

export interface CheckStream {
  push(chunk: Buffer | string): CheckStreamEvent[];
  end(): CheckStreamEvent[];
}

/** A crash report as the runner uses it. */
export interface ConsoleCrash extends CrashInfo {
  /** The VM is dead or must be treated as dead (panic, oops with panic_on_oops). */
  fatal: boolean;
  /** The fstests test that ran when the report began, from the kmsg marker. */
  test?: string;
  /** How many fstests markers the VM's console had shown when the report began (CrashReport.markerSeq). */
  markerSeq?: number;
}

export interface ConsoleWatcher {
  /** Raw console bytes in; finished reports out. */
  push(chunk: Buffer): ConsoleCrash[];
  /** End of console (VM gone): reports still being collected come out. */
  flush(): ConsoleCrash[];
  /** Closes the reports still open, keeping a partial line for the next chunk (the console goes on). */
  closeReports(): ConsoleCrash[];
  /** Some report has begun and is not complete yet. */
  readonly reportPending: boolean;
  /** How many fstests markers the console has shown so far. */
  readonly markers: number;
  /** A fatal report (a panic) has begun but is not complete yet. */
  readonly fatalPending: boolean;
}
