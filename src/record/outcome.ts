/**
 * The outcome of one test: a discriminated union, so a notrun cannot carry a diff and a crash
 * cannot be mistaken for a failure (docs/architecture.md: "a crash is an outcome"). The zod
 * schemas are the one definition: the types below are inferred from them, and the event-log
 * reader validates with them.
 */
import { z } from 'zod';

/** A kernel crash or hang report as detected on a VM's console (see src/crash). */
export const crashInfoSchema = z.object({
  /** One line a human reads first, in syzbot's format, e.g. "KASAN: use-after-free Read in foo". */
  title: z.string(),
  /** Crash class: panic, oops, bug, warning, gpf, kasan, ubsan, kfence, softlockup, ... */
  type: z.string(),
  /** First frame of the call trace that is not a generic helper, when one was found. */
  frame: z.string().optional(),
  /** Stable hash over type + title + frame, used to de-duplicate crashes across VMs. */
  fingerprint: z.string(),
  /** The console lines of the report (already cut to a sane length). */
  excerpt: z.string(),
  /**
   * The report lost its frames or its end (interleaved or truncated console): its title and
   * fingerprint cannot be trusted, so it is never merged with other crashes (src/crash).
   */
  corrupted: z.boolean().optional(),
});
export type CrashInfo = z.infer<typeof crashInfoSchema>;

export const testOutcomeSchema = z.discriminatedUnion('status', [
  /** check printed " <N>s". */
  z.object({ status: z.literal('passed') }),
  /** check printed a failure: output mismatch, [failed, exit status N], _check_dmesg, ... */
  z.object({ status: z.literal('failed'), message: z.string(), diff: z.string().optional() }),
  /** check printed "[not run] <reason>". */
  z.object({ status: z.literal('notrun'), reason: z.string() }),
  /** The kernel crashed (panic, oops, BUG) while this test ran. */
  z.object({ status: z.literal('crashed'), message: z.string(), crash: crashInfoSchema }),
  /** The test exceeded its deadline (hang); the VM was discarded. */
  z.object({ status: z.literal('timedout'), message: z.string(), crash: crashInfoSchema.optional() }),
  /** kt could not run the test (VM lost for a non-kernel reason, transport dropped, ...). */
  z.object({ status: z.literal('error'), message: z.string() }),
]);
export type TestOutcome = z.infer<typeof testOutcomeSchema>;

export type TestStatus = TestOutcome['status'];

/** Statuses that make `kt run` exit 1 (without a baseline; see verdict.ts). */
export function isFailingStatus(status: TestStatus): boolean {
  return status === 'failed' || status === 'crashed' || status === 'timedout' || status === 'error';
}

/** Statuses that mean the kernel or the test misbehaved (retries and flakiness look at these). */
export function isTestFailure(status: TestStatus): boolean {
  return status === 'failed' || status === 'crashed' || status === 'timedout';
}
