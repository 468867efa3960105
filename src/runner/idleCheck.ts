/**
 * What a VM did while no batch watched it: during its boot, guest set-up and section mkfs, while
 * it stood as a spare, while it waited for work, after its last batch. Its console was read all
 * along (machineWatch.ts keeps the reports finished while no batch listened); here they reach
 * the record, and a VM that died meanwhile is recorded as lost without blaming any test — no test
 * ran on it.
 *
 * `idleVerdict` (pure) decides the events; `settleIdle` is the shell that first lets a dying VM
 * finish its report (a pvpanic QEMU exits before the report's last line: the panic only comes
 * out when the console is flushed), then emits them.
 */
import type { EventInput } from '../record/events.js';
import type { Machine, MachineExit } from '../vm/machine.js';
import { batchTiming, type BatchTiming } from './batchRun.js';
import { describeQemuExit, toCrashInfo } from './blame.js';
import { Disposer } from './disposer.js';
import type { MachineWatch } from './machineWatch.js';
import type { ConsoleCrash } from './ports.js';
import type { WorkItem } from './workQueue.js';

export interface IdleInput {
  machine: string;
  /** Reports finished while no batch listened, oldest first (fatal ones included). */
  reports: readonly ConsoleCrash[];
  /** The tests the VM ran, by name (the latest attempt): a report names the test whose fstests marker came last. */
  ran: ReadonlyMap<string, WorkItem>;
  /** QEMU's exit, when it happened. */
  exit?: MachineExit;
  transportLost: boolean;
  /** A fatal report had begun: the VM is going even when nothing else says so yet. */
  fatalPending: boolean;
  /** A step that readies the VM failed (guest set-up, a section's mkfs): its error message. */
  failed?: string;
  /** What the VM was doing, for the messages: "while the VM waited for work". */
  context: string;
  consoleLog: string;
}

export interface IdleVerdict {
  /** Events to emit, in order: console-report for each non-fatal report, then machine-lost when lost. */
  events: EventInput[];
  /** The VM cannot run a batch (discard it): why, as machine-lost says. */
  lost?: string;
}

/** A report's event: tied to the test it names, with that test's section and attempt on this VM (as batchRun.ts records reports). */
export function consoleReportEvent(machine: string, report: ConsoleCrash, ran: ReadonlyMap<string, WorkItem>): EventInput {
  const item = report.test !== undefined ? ran.get(report.test) : undefined;
  return {
    type: 'console-report',
    machine,
    ...(report.test !== undefined ? { test: report.test } : {}),
    ...(item ? { section: item.section, attempt: item.attempt } : {}),
    report: toCrashInfo(report),
  };
}

export function idleVerdict(input: IdleInput): IdleVerdict {
  const events: EventInput[] = [];
  for (const report of input.reports) if (!report.fatal) events.push(consoleReportEvent(input.machine, report, input.ran));
  const fatal = input.reports.find((r) => r.fatal);
  const lost = fatal !== undefined || input.failed !== undefined || input.exit !== undefined || input.transportLost || input.fatalPending;
  if (!lost) return { events };
  // The console explains best; then a step's own error (the VM was being readied); then how it went.
  const [reason, why] = fatal
    ? (['crash', fatal.title] as const)
    : input.failed !== undefined
      ? (['boot-failure', input.failed] as const)
      : input.exit
        ? (['qemu-exit', describeQemuExit(input.exit.exitCode, input.exit.signal)] as const)
        : input.transportLost
          ? (['transport', 'the ssh connection to the guest dropped'] as const)
          : (['crash', 'a kernel crash report began on the console and never ended'] as const);
  // A step's error is its own sentence; the others say when it happened. A crash between
  // batches (delayed work of the last test, an unmount) blames no test — that test's outcome
  // stands — but its report names the test whose fstests marker came last: say which.
  const after = fatal?.test !== undefined && input.ran.has(fatal.test) ? `; the last test it ran: ${fatal.test}` : '';
  const message = reason === 'boot-failure' ? why : `${why} (${input.context}${after})`;
  events.push({ type: 'machine-lost', machine: input.machine, reason, message, ...(fatal ? { crash: toCrashInfo(fatal) } : {}), consoleLog: input.consoleLog });
  return { events, lost: message };
}

export interface SettleDeps {
  emit(event: EventInput): void;
  consoleLogOf(machine: Machine): string;
  /** SIGINT/SIGTERM: stop waiting for a dying VM. */
  stopSignal: AbortSignal;
  timing?: Partial<BatchTiming>;
}

export interface SettleOptions {
  context: string;
  ran?: ReadonlyMap<string, WorkItem>;
  /** The VM is about to be discarded anyway: close the reports still open (a WARNING waiting for its next line). */
  final?: boolean;
  /** A step that readies the VM failed with this message. */
  failed?: string;
}

/**
 * Records what the VM's console said while nobody listened; when the VM is lost (the caller
 * discards it), returns why. A VM that is dying (QEMU exited, channel dropped, a panic report begun)
 * gets up to crashExitGraceMs to exit first, so its report is read whole.
 */
export async function settleIdle(vm: { machine: Machine; watch: MachineWatch }, deps: SettleDeps, options: SettleOptions): Promise<string | undefined> {
  const { machine, watch } = vm;
  const fatalPending = watch.fatalPending;
  const dying = watch.dead || fatalPending;
  if (dying && !watch.exit) await exitOrGrace(machine, batchTiming(deps.timing).crashExitGraceMs, deps.stopSignal);
  // The console of a VM that is gone (or going) is over: every report still open comes out.
  const going = dying || options.final === true || options.failed !== undefined;
  const reports = [...watch.takeIdleReports(), ...(going ? watch.flush() : [])];
  const verdict = idleVerdict({
    machine: machine.name,
    reports,
    ran: options.ran ?? new Map(),
    ...(watch.exit ? { exit: watch.exit } : {}),
    transportLost: watch.transportLost,
    fatalPending,
    ...(options.failed !== undefined ? { failed: options.failed } : {}),
    context: options.context,
    consoleLog: deps.consoleLogOf(machine),
  });
  for (const event of verdict.events) deps.emit(event);
  return verdict.lost;
}

/** Waits until QEMU exits, the grace passes or the run is stopped, and leaves no timer or listener behind. */
async function exitOrGrace(machine: Machine, graceMs: number, stop: AbortSignal): Promise<void> {
  const d = new Disposer();
  try {
    const stopped = new Promise<void>((resolve) => d.onAbort(stop, resolve));
    await Promise.race([machine.exited, d.sleep(graceMs), stopped]);
  } finally {
    d.dispose();
  }
}
