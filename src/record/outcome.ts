/**
 * The outcome of one test: a discriminated union, so a notrun cannot carry a diff and a crash
 * cannot be mistaken for a failure (docs/architecture.md: "a crash is an outcome").
 */

/** A kernel crash or hang report as detected on a VM's console (see src/crash). */
export interface CrashInfo {
  /** One line a human reads first, e.g. "Kernel panic - not syncing: sysrq triggered crash". */
  title: string;
  /** Crash class: panic, oops, bug, warning, gpf, kasan, ubsan, kfence, softlockup, ... */
  type: string;
  /** First frame of the call trace that is not a generic helper, when one was found. */
  frame?: string;
  /** Stable hash over type + title + frame, used to de-duplicate crashes across VMs. */
  fingerprint: string;
  /** The console lines of the report (already cut to a sane length). */
  excerpt: string;
  /**
   * The report lost its frames or its end (interleaved or truncated console): its title and
   * fingerprint cannot be trusted, so it is never merged with other crashes (src/crash).
   */
  corrupted?: boolean;
}

export type TestOutcome =
  /** check printed " <N>s". */
  | { status: 'passed' }
  /** check printed a failure: output mismatch, [failed, exit status N], _check_dmesg, ... */
  | { status: 'failed'; message: string; diff?: string }
  /** check printed "[not run] <reason>". */
  | { status: 'notrun'; reason: string }
  /** The kernel crashed (panic, oops, BUG) while this test ran. */
  | { status: 'crashed'; message: string; crash: CrashInfo }
  /** The test exceeded its deadline (hang); the VM was discarded. */
  | { status: 'timedout'; message: string; crash?: CrashInfo }
  /** kt could not run the test (VM lost for a non-kernel reason, transport dropped, ...). */
  | { status: 'error'; message: string };

export type TestStatus = TestOutcome['status'];

/** Statuses that make `kt run` exit 1. */
export function isFailingStatus(status: TestStatus): boolean {
  return status === 'failed' || status === 'crashed' || status === 'timedout' || status === 'error';
}
