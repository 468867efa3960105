/**
 * Blame: when a VM stops being usable in the middle of a batch, decide — purely — which test
 * gets which outcome, which events record it, and which tests go back to the queue. The effect
 * shell (batchRun.ts) saves the console, emits the events and hands the rest to the dispatcher.
 *
 * Rules:
 * - The test that was running is blamed — unless the crash report's last kmsg marker is not this
 *   batch's run of it (another test, or an earlier batch's run of the same name): then the crash
 *   came before the running test's marker, so before any of its work (blamedTest).
 *   When none was (the VM died between tests, or while check was mounting TEST_DEV or making
 *   SCRATCH_DEV before the first test), the first test of the batch that has no result yet is
 *   blamed: a kernel that dies in mount or mkfs must not reboot VMs forever, and that test is the
 *   one whose set-up killed it — unless the report's marker is an earlier batch's (that run's
 *   delayed work may be the cause), or names a test of this batch that has its result.
 * - A test not blamed for these reasons runs again alone on a fresh VM: there no earlier marker
 *   can excuse a crash of its own, so the rules above cannot spare it twice.
 * - The blamed test always gets a test-begin (if it had none) and a test-end, then the VM's
 *   machine-lost names it: the record never has to guess (src/record/summarize.ts).
 * - Every other test of the batch without a result goes back to the head of the queue.
 */
import type { EventInput, TestArtifacts } from '../record/events.js';
import type { CrashInfo, TestOutcome } from '../record/outcome.js';
import type { ConsoleCrash } from './ports.js';
import { itemKey, type WorkItem } from './workQueue.js';

/** Why a VM stopped being usable in the middle of a batch. */
export type VmFailure =
  | { kind: 'crash'; crash: ConsoleCrash }
  | { kind: 'hang'; message: string }
  | { kind: 'qemu-exit'; message: string; exitCode: number | undefined }
  | { kind: 'transport'; message: string };

/** Reports that explain a guest that stopped answering (src/crash CrashType). */
const STALL_TYPES: ReadonlySet<string> = new Set(['softlockup', 'hardlockup', 'rcustall', 'hungtask']);

/** A test that began on the VM and has no outcome yet. */
export interface RunningTest {
  item: WorkItem;
  /** Epoch ms of its test-begin. */
  startedAt: number;
}

export interface BlameInput {
  failure: VmFailure;
  machine: string;
  /** The batch in its order. */
  batch: readonly WorkItem[];
  /** Items that already have an outcome (by itemKey). */
  finished: ReadonlySet<string>;
  /** The test check was running, if any. */
  running?: RunningTest;
  /** Console reports seen while the blamed test ran (or since the batch began). */
  reports: readonly ConsoleCrash[];
  /** The test the fatal report names (the fstests marker that came last before it), if any. */
  reportTest?: string;
  /**
   * That marker was written by this batch's check (default true): else it is an earlier batch's,
   * maybe of a test of the same name in another section.
   */
  reportMarkedHere?: boolean;
  /** Where that console text was saved, run-dir relative. */
  consolePath: string;
  /** The VM's console log, run-dir relative. */
  consoleLog: string;
  vmcore?: string;
  nowMs: number;
}

export interface Blame {
  /** Events to emit, in order. */
  events: EventInput[];
  /** The blamed item and its outcome, for the dispatcher (retry policy). */
  blamed?: { item: WorkItem; outcome: TestOutcome };
  /** Items to put back at the head of the queue. */
  requeue: WorkItem[];
}

export function toCrashInfo(c: ConsoleCrash): CrashInfo {
  return {
    title: c.title,
    type: c.type,
    ...(c.frame ? { frame: c.frame } : {}),
    fingerprint: c.fingerprint,
    excerpt: c.excerpt,
    ...(c.corrupted ? { corrupted: true } : {}),
  };
}

/** Human text of a QEMU exit. */
export function describeQemuExit(exitCode: number | undefined, signal: string | undefined): string {
  if (signal) return `qemu was killed by ${signal}`;
  // QEMU's `-action panic=exit-failure` (qemu-options.hx) makes a pvpanic exit status 1.
  if (exitCode === 1) return 'qemu exited 1 (guest panic reported through pvpanic)';
  if (exitCode === 0) return 'the guest powered off or rebooted (qemu exited 0)';
  return `qemu exited with status ${exitCode}`;
}

/**
 * The outcome of the test that was running when its VM failed. Messages are one line (JUnit's
 * message attribute, the terminal summary); the console stays in the artifact.
 */
export function outcomeForFailure(failure: VmFailure, reports: readonly ConsoleCrash[], consolePath: string): TestOutcome {
  const seeConsole = `(console: ${consolePath})`;
  switch (failure.kind) {
    case 'crash':
      return { status: 'crashed', message: failure.crash.title, crash: toCrashInfo(failure.crash) };
    case 'hang': {
      // A hung-task or soft-lockup report explains a hang better than "deadline passed".
      const why = reports.find((r) => STALL_TYPES.has(r.type)) ?? reports.find((r) => r.type !== 'warning') ?? reports[0];
      return why
        ? { status: 'timedout', message: `${failure.message}: ${why.title}`, crash: toCrashInfo(why) }
        : { status: 'timedout', message: `${failure.message} ${seeConsole}` };
    }
    case 'qemu-exit':
    case 'transport': {
      // A lockup or stall reported before the VM went away is the better explanation.
      const why = reports.find((r) => STALL_TYPES.has(r.type));
      if (why) return { status: 'timedout', message: `${failure.message}: ${why.title}`, crash: toCrashInfo(why) };
      if (failure.kind === 'qemu-exit' && failure.exitCode === 1) {
        // A pvpanic exit without a readable report is still a kernel crash.
        return {
          status: 'crashed',
          message: failure.message,
          crash: { title: 'kernel panic (no console report)', type: 'panic', fingerprint: 'panic-no-report', excerpt: '' },
        };
      }
      return { status: 'error', message: `${failure.message} ${seeConsole}` };
    }
  }
}

function lostReason(failure: VmFailure): 'crash' | 'hang' | 'qemu-exit' | 'transport' {
  return failure.kind;
}

/**
 * check named the running test on its stdout, but the crash report names another test: check
 * writes a test's kmsg marker ("run fstests <test> at …") a few lines after printing its name
 * (fstests' `check`: rm, the expunge check, awk over check.time, then the marker, then the test),
 * so the crash came in between — before anything of the running test ran: the delayed work of
 * the test the report names, or check's own lines. The same holds when the report's marker is an
 * earlier batch's run of the same test name (another section). The running test is not blamed; it
 * runs again on a fresh VM, and its test-begin stays without a test-end (src/record/events.ts).
 */
function markerNotYetWritten(running: RunningTest, reportTest: string | undefined, markedHere: boolean): boolean {
  return reportTest !== undefined && !(reportTest === running.item.test && markedHere);
}

/**
 * Which test is blamed: the running one, else the first of the batch without a result — unless
 * the crash report names a test of the batch that already has its result: then the crash came
 * after that result (check's checks after a test: a TEST_DEV repair, an unmount; or its delayed
 * work) and before check named the next test, which never began: nobody is blamed; or the
 * report's marker is an earlier batch's (this batch's check wrote none yet): nobody is blamed,
 * and the first test without a result runs again on a fresh VM (blame).
 */
export function blamedTest(batch: readonly WorkItem[], finished: ReadonlySet<string>, running: RunningTest | undefined, reportTest?: string, reportMarkedHere = true): RunningTest | undefined {
  return decide({ batch, finished, running, reportTest, reportMarkedHere }).blamed;
}

/** Who is blamed, who is spared (runs again on a fresh VM), and machine-lost's words for a crash that blames nobody. */
interface Decision {
  blamed?: RunningTest;
  spared?: WorkItem;
  why: string;
}

/** The one place the rules of the header are decided (blamedTest and blame both ask it). */
function decide(input: { batch: readonly WorkItem[]; finished: ReadonlySet<string>; running?: RunningTest | undefined; reportTest?: string | undefined; reportMarkedHere?: boolean | undefined }): Decision {
  const { batch, finished, running, reportTest } = input;
  const markedHere = input.reportMarkedHere ?? true;
  const first = batch.find((i) => !finished.has(itemKey(i)));
  if (reportTest === undefined) {
    if (running) return { blamed: running, why: '' };
    return { ...(first ? { blamed: { item: first, startedAt: Number.NaN } } : {}), why: '' };
  }
  const after = markedHere ? `after ${reportTest}'s result` : `after ${reportTest} ran in an earlier batch on this VM`;
  if (running) {
    if (!markerNotYetWritten(running, reportTest, markedHere)) return { blamed: running, why: '' };
    const name = running.item.test;
    return { spared: running.item, why: ` (${after}, before ${name} began its work: check's lines between the two, or ${reportTest}'s delayed work; ${name} runs again on a fresh VM)` };
  }
  if (!markedHere) return { ...(first ? { spared: first } : {}), why: ` (during check's start-up, ${after}: its delayed work, or check's own${first ? `; ${first.test} runs again on a fresh VM` : ''})` };
  if (batch.some((i) => i.test === reportTest && finished.has(itemKey(i)))) return { why: ` (${after}: check's work after that test, or its delayed work)` };
  return { ...(first ? { blamed: { item: first, startedAt: Number.NaN } } : {}), why: '' };
}

export function blame(input: BlameInput): Blame {
  const events: EventInput[] = [];
  const decision = decide(input);
  const target = decision.blamed;
  let blamed: Blame['blamed'];
  if (target) {
    const { item } = target;
    if (!input.running) {
      events.push({ type: 'test-begin', test: item.test, section: item.section, machine: input.machine, attempt: item.attempt });
    }
    const outcome = outcomeForFailure(input.failure, input.reports, input.consolePath);
    const artifacts: TestArtifacts = { console: input.consolePath };
    events.push({
      type: 'test-end',
      test: item.test,
      section: item.section,
      machine: input.machine,
      attempt: item.attempt,
      outcome,
      durationMs: Number.isFinite(target.startedAt) ? Math.max(0, input.nowMs - target.startedAt) : 0,
      artifacts,
    });
    blamed = { item, outcome };
  }
  const crash = input.failure.kind === 'crash' ? toCrashInfo(input.failure.crash) : undefined;
  events.push({
    type: 'machine-lost',
    machine: input.machine,
    reason: lostReason(input.failure),
    message: `${input.failure.kind === 'crash' ? input.failure.crash.title : input.failure.message}${decision.why}`,
    ...(target ? { test: target.item.test, section: target.item.section } : {}),
    ...(crash ? { crash } : {}),
    consoleLog: input.consoleLog,
    ...(input.vmcore ? { vmcore: input.vmcore } : {}),
  });
  const done = new Set(input.finished);
  if (target) done.add(itemKey(target.item));
  // A running test that was not blamed goes back alone, to a fresh VM (workQueue.ts freshVm):
  // there no earlier marker can excuse it, so a crash that comes again is its own, and a test
  // cannot take down one used VM after another without being blamed.
  const spared = decision.spared ? itemKey(decision.spared) : undefined;
  return {
    events,
    ...(blamed ? { blamed } : {}),
    requeue: input.batch.filter((i) => !done.has(itemKey(i))).map((i) => (itemKey(i) === spared ? { ...i, freshVm: true } : i)),
  };
}
