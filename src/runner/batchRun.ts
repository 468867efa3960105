/**
 * One batch on one VM: a single `check --exact-order` call over a list of tests of one section,
 * with check's stdout parsed live into test-begin/test-end events and the kernel console watched
 * for crash reports. Every way the VM can fail (a panic on the console, a hang past a deadline,
 * QEMU exiting, the ssh channel dropping) ends the batch with a blame (blame.ts).
 *
 * Every timer, listener and abort controller of the batch belongs to one Disposer, released once
 * when the batch ends, whatever the path out. The console, QEMU's exit and the channel's loss are
 * watched for the VM's whole life (machineWatch.ts); a batch only attaches to that watch.
 *
 * Two clocks: what the guest is doing (which test runs: the console and the deadlines follow it
 * at once, as check's stdout says so) and what the record says (test-begin, console-report and
 * test-end events, emitted strictly in order, each test-end after its artifacts were fetched).
 */
import type { EventInput, TestArtifacts } from '../record/events.js';
import type { TestOutcome } from '../record/outcome.js';
import { HostError } from '../errors.js';
import type { ExecResult, Machine } from '../vm/machine.js';
import { fetchArtifacts } from './artifacts.js';
import { blame, blamedTest, toCrashInfo, describeQemuExit, type VmFailure } from './blame.js';
import { Disposer } from './disposer.js';
import type { MachineWatch } from './machineWatch.js';
import type { CheckStream, CheckStreamEvent, ConsoleCrash } from './ports.js';
import { itemKey, type WorkItem } from './workQueue.js';

export interface BatchDeps {
  /** Appends an event to the run's record and the live reporters. */
  emit(event: EventInput): void;
  /** An item has its outcome (the dispatcher decides about retries). */
  onFinished(item: WorkItem, outcome: TestOutcome): void;
  /** The VM is failing (a fatal report began, a deadline passed, QEMU exited): said once. */
  onFailing?(): void;
  /**
   * check named the batch's first test on its stdout, `sec` after it was called: its start-up is
   * over. Said at most once, and never for a batch whose VM was lost before check got that far
   * (blame's test-begin is no sign of check's progress).
   */
  onCheckStarted?(sec: number): void;
  /** check named this test of the batch: it is running now (the dispatcher counts what is left of it). */
  onTestBegun?(item: WorkItem): void;
  createCheckStream(): CheckStream;
  /** Deadline in seconds for a test, or for check's work outside any test (undefined). */
  deadlineSec(item: WorkItem | undefined): number;
  /** The guest command that runs check over the batch. */
  checkCommand(items: readonly WorkItem[]): string;
  /** check's result directory in the guest for a section (where `<seq>.full` & co. land). */
  guestResultDir(section: string): string;
  /** Writes a test's artifact into the run dir; returns its run-dir-relative path. */
  saveArtifact(item: WorkItem, ext: string, data: Buffer | string): string;
  /** Saves a vmcore of a panicked VM when --vmcore is on; returns its relative path. */
  saveVmcore?(machine: Machine): Promise<string | undefined>;
  /** The VM's console log, run-dir relative. */
  consoleLogOf(machine: Machine): string;
  /** SIGINT/SIGTERM: stop at once, report nothing for the test in flight. */
  stopSignal: AbortSignal;
  /** Waits, overridable by tests that replay real samples quickly. */
  timing?: Partial<BatchTiming>;
  /**
   * The tests this VM ran before the batch, by name (the latest attempt): a delayed report may
   * name one of them, of another section in a run of several (worker.ts keeps it).
   */
  ranBefore?: ReadonlyMap<string, WorkItem>;
}

export interface BatchTiming {
  /** After the console shows a fatal report, how long QEMU gets to exit by itself. */
  crashExitGraceMs: number;
  /** After the ssh channel drops, how long a better explanation (panic, QEMU exit) may take. */
  transportGraceMs: number;
  /** How long sysrq dumps of a hung guest get to reach the console. */
  sysrqSettleMs: number;
  /** At the end of a batch with a report still open: how long the console may stay quiet before it is closed. */
  consoleQuietMs: number;
}

const DEFAULT_TIMING: BatchTiming = { crashExitGraceMs: 10_000, transportGraceMs: 3_000, sysrqSettleMs: 3_000, consoleQuietMs: 300 };

/** The waits in force: the defaults, with what a caller (a test replaying samples) overrides. */
export function batchTiming(overrides: Partial<BatchTiming> | undefined): BatchTiming {
  return { ...DEFAULT_TIMING, ...overrides };
}

/** Console kept per test (its last bytes), for the console excerpt of a crashed or hung test. */
const CONSOLE_KEEP_BYTES = 256 * 1024;

/** How a batch ended. */
export type BatchEnd =
  /** The VM is healthy; every item of the batch has an outcome. */
  | { kind: 'done' }
  /** The VM must be discarded; the blamed test has its outcome; `requeue` never ran. */
  | { kind: 'lost'; requeue: WorkItem[] }
  /** SIGINT/SIGTERM: `unfinished` gets no outcome. */
  | { kind: 'interrupted'; unfinished: WorkItem[] }
  /** check refused to start: the fstests tree's config or environment on a fresh VM (fatal for the run), else maybe the VM's state (worker.ts). */
  | { kind: 'setup-error'; error: HostError; unfinished: WorkItem[] };

/** The console of a test: its last CONSOLE_KEEP_BYTES, kept as chunks. */
class ConsoleTail {
  private chunks: Buffer[] = [];
  private bytes = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes - (this.chunks[0]?.length ?? 0) >= CONSOLE_KEEP_BYTES && this.chunks.length > 1) this.bytes -= this.chunks.shift()!.length;
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - CONSOLE_KEEP_BYTES)).toString('utf8');
  }
}

interface Running {
  item: WorkItem;
  startedAt: number;
  console: ConsoleTail;
  reports: ConsoleCrash[];
}

export async function runBatch(watch: MachineWatch, batch: readonly WorkItem[], deps: BatchDeps): Promise<BatchEnd> {
  const disposer = new Disposer();
  try {
    return await new BatchRun(watch, batch, deps, disposer).run();
  } finally {
    disposer.dispose();
  }
}

class BatchRun {
  private readonly machine: Machine;
  private readonly items: Map<string, WorkItem>;
  /** Items with an outcome decided (the record may still be writing it). */
  private readonly finished = new Set<string>();
  private readonly timing: BatchTiming;
  private readonly abort: AbortController;
  private readonly watchdog;
  private readonly stream: CheckStream;
  private running: Running | undefined;
  /** Reports seen while no test ran, since the last test ended (check's start-up, between tests). */
  private idleReports: ConsoleCrash[] = [];
  /** Console while no test ran (the same window as idleReports). */
  private idleConsole = new ConsoleTail();
  private failure: VmFailure | undefined;
  private resolveFailed!: () => void;
  private readonly failed = new Promise<void>((resolve) => (this.resolveFailed = resolve));
  private crashGraceArmed = false;
  /** The tests the VM ran before this batch, as they were when it began (the worker's map grows during it). */
  private readonly ranBefore: ReadonlyMap<string, WorkItem>;
  /** fstests markers the VM's console had shown when the batch began: a later one is this batch's check's. */
  private readonly markersAtStart: number;
  /** The crash grace passed without QEMU exiting (a guest paused on panic for --vmcore): waiting longer is useless. */
  private crashGraceOver = false;
  /** Resolves on SIGINT/SIGTERM: no wait of the batch outlasts the user's stop. */
  private readonly stopped: Promise<void>;
  private failingAnnounced = false;
  private checkStarted = false;
  /** When check was called (run): its start-up ends at the first test it names. */
  private checkCalledAt = 0;
  /** Bumped on every sign of progress; a deadline only fires for the state it was armed in. */
  private generation = 0;
  /** Record work, strictly in order: events, and each test's artifacts before its test-end. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly watch: MachineWatch,
    private readonly batch: readonly WorkItem[],
    private readonly deps: BatchDeps,
    private readonly d: Disposer,
  ) {
    this.machine = watch.machine;
    this.items = new Map(batch.map((i) => [i.test, i]));
    this.ranBefore = new Map(deps.ranBefore ?? []);
    this.markersAtStart = watch.markers;
    this.timing = batchTiming(deps.timing);
    this.abort = d.controller();
    this.stopped = new Promise((resolve) => d.onAbort(deps.stopSignal, resolve));
    this.watchdog = d.slot();
    this.stream = deps.createCheckStream();
  }

  async run(): Promise<BatchEnd> {
    const { machine, deps, d, watch } = this;
    // Interrupted before it began (while the VM was set up): nothing runs.
    if (deps.stopSignal.aborted) return { kind: 'interrupted', unfinished: [...this.batch] };
    d.add(
      watch.attach({
        onChunk: (chunk) => this.onConsole(chunk),
        onReport: (report) => this.onReport(report),
        onExit: (exit) => this.fail({ kind: 'qemu-exit', exitCode: exit.exitCode, message: describeQemuExit(exit.exitCode, exit.signal) }),
        // Give a dying VM a moment: the QEMU exit or console crash explains it better.
        onTransportClosed: () => d.timeout(() => this.fail({ kind: 'transport', message: 'the ssh connection to the guest dropped' }), this.timing.transportGraceMs),
      }),
    );
    d.onAbort(deps.stopSignal, () => this.abort.abort());
    this.armWatchdog(undefined);

    let checkExit: ExecResult | undefined;
    let execError: unknown;
    this.checkCalledAt = Date.now();
    try {
      checkExit = await machine.exec(deps.checkCommand(this.batch), {
        // After an abort ssh2 may still deliver data; a late test-start must not arm timers.
        onStdout: (chunk) => {
          if (!this.abort.signal.aborted) this.feed(this.stream.push(chunk));
        },
        signal: this.abort.signal,
      });
    } catch (err) {
      // Aborted or connection lost: `failure` (or the stop signal) says why.
      execError = err;
    }
    // A failure's diff is only settled by the next line or the end of the stream: settle it, so
    // a test that failed just before its VM died keeps its own outcome.
    this.feed(this.stream.end());
    await this.drain();

    if (!this.failure && !deps.stopSignal.aborted && this.unfinished().length > 0) {
      // check's channel closed with tests unreported: usually the guest is dying (a panic cuts
      // the connection before QEMU exits). Give the real cause a moment to show.
      await Promise.race([this.failed, d.sleep(this.timing.crashExitGraceMs), this.stopped]);
      await this.drain();
      // Nothing explained it: the command channel itself failed (or closed without an exit
      // status). The VM cannot be trusted with the next batch.
      if (!this.failure && (execError !== undefined || checkExit?.exitCode === null)) {
        this.failure = {
          kind: 'transport',
          message: `check's ssh channel ended without an exit status (${execError instanceof Error ? execError.message : 'closed'})`,
        };
      }
    }
    this.watchdog.clear();

    if (deps.stopSignal.aborted) {
      // A crash report under way when the user stopped the run is recorded with what it has.
      if (!this.failure && this.watch.fatalPending) for (const report of this.watch.closeReports()) this.onReport(report);
      await this.drain();
      // A VM that failed before the stop (a crash just before Ctrl-C) is recorded first: its
      // test's outcome and the lost VM are facts of the run, not of the interruption.
      if (this.failure) return { kind: 'interrupted', unfinished: await this.blameFailure(this.failure) };
      // Interrupted by the user: the test in flight is "not executed", not a failure.
      return { kind: 'interrupted', unfinished: this.unfinished() };
    }

    if (!this.failure && checkExit && this.finished.size === 0 && !this.running && checkExit.exitCode !== null && checkExit.exitCode !== 0) {
      const error = new HostError(
        'E_GUEST_SETUP_CHECK',
        `fstests' check exited ${checkExit.exitCode} before running any test:\n${checkExit.stdout.trim().split('\n').slice(-15).join('\n')}`,
        'this is a config or environment error of the fstests tree (see the lines above); fix it and rerun',
      );
      return { kind: 'setup-error', error, unfinished: this.unfinished() };
    }

    if (this.failure) return { kind: 'lost', requeue: await this.blameFailure(this.failure) };

    await this.closeOpenReports();
    // check ended normally but said nothing about some tests (e.g. it no longer knows them).
    for (const item of this.unfinished()) {
      const running = this.running?.item === item;
      this.record(() => {
        if (!running) this.deps.emit({ type: 'test-begin', test: item.test, section: item.section, machine: machine.name, attempt: item.attempt });
        this.finish(item, { status: 'error', message: `check exited (status ${checkExit?.exitCode}) without a result for ${item.test}` }, 0, { artifacts: {} });
      });
      this.finished.add(itemKey(item));
    }
    this.running = undefined;
    await this.drain();
    return { kind: 'done' };
  }

  private unfinished(): WorkItem[] {
    return this.batch.filter((i) => !this.finished.has(itemKey(i)));
  }

  /**
   * A report the console has begun but not finished when check is done (a WARNING is only
   * closed by the line after it): once the console has been quiet a moment, close it, so it is
   * recorded for this batch's test rather than left for whatever the VM does next.
   */
  private async closeOpenReports(): Promise<void> {
    if (!this.watch.reportPending) return;
    const deadline = Date.now() + 10 * this.timing.consoleQuietMs;
    while (Date.now() - this.watch.lastChunkAt < this.timing.consoleQuietMs && Date.now() < deadline) await this.d.sleep(this.timing.consoleQuietMs / 3);
    for (const report of this.watch.closeReports()) this.onReport(report);
    await this.drain();
  }

  private announceFailing(): void {
    if (this.failingAnnounced) return;
    this.failingAnnounced = true;
    this.deps.onFailing?.();
  }

  private fail(f: VmFailure): void {
    if (this.d.disposed) return;
    // After SIGINT/SIGTERM, a dropped channel or a QEMU exit may be the shutdown itself; only
    // the console's own word (a crash report) is news.
    if (this.deps.stopSignal.aborted && f.kind !== 'crash') return;
    this.announceFailing();
    // The first cause wins, but a panic explains the QEMU exit and the lost connection after
    // it; a hang stays a hang (its reports give it a title).
    if (!this.failure || (this.failure.kind !== 'crash' && this.failure.kind !== 'hang' && f.kind === 'crash')) this.failure = f;
    this.resolveFailed();
    if (f.kind === 'crash') this.armCrashGrace();
    else this.abort.abort();
  }

  private onConsole(chunk: Buffer): void {
    (this.running?.console ?? this.idleConsole).push(chunk);
    // The watch parsed the chunk first: a panic report that began in it counts now.
    if (this.watch.fatalPending) this.armCrashGrace();
  }

  /**
   * A panic report began (or completed: its whole text may come in one console read). QEMU
   * normally exits on its own after a panic (panic=-1, pvpanic). When it does not (a guest paused
   * on panic for --vmcore stops, and may stop before the report's last line), close the report
   * ourselves and stop waiting for check. Armed once.
   */
  private armCrashGrace(): void {
    if (this.crashGraceArmed) return;
    this.crashGraceArmed = true;
    // A panic report has begun: the replacement VM can start booting now.
    this.announceFailing();
    this.d.timeout(() => {
      this.crashGraceOver = true;
      for (const report of this.watch.closeReports()) this.onReport(report);
      this.abort.abort();
    }, this.timing.crashExitGraceMs);
  }

  /** A finished console report: fatal ones fail the VM; the others are recorded for their test. */
  private onReport(report: ConsoleCrash): void {
    const r = this.running;
    if (r && (report.test === undefined || (report.test === r.item.test && this.markedHere(report)))) r.reports.push(report);
    else this.idleReports.push(report);
    if (report.fatal) {
      this.fail({ kind: 'crash', crash: report });
      return;
    }
    const test = report.test ?? r?.item.test;
    const item = report.test !== undefined ? this.markedItem(report.test, report) : test !== undefined ? this.items.get(test) : undefined;
    this.record(() =>
      this.deps.emit({
        type: 'console-report',
        machine: this.machine.name,
        ...(test !== undefined ? { test } : {}),
        ...(item ? { section: item.section, attempt: item.attempt } : {}),
        report: toCrashInfo(report),
      }),
    );
  }

  /**
   * The report began after a marker this batch's check wrote (or no marker names its test): its
   * test is this batch's run of it, not an earlier run of the same name on this VM (in a run of
   * several sections each queues the same test, and the delayed work of one section's run may
   * report while the next section's check starts). Decided by the console's own order (the
   * report's marker count), not by when check's stdout named a test: the two streams race.
   */
  private markedHere(report: ConsoleCrash): boolean {
    return report.markerSeq === undefined || report.markerSeq > this.markersAtStart;
  }

  /** The run of `test` (named by `report`'s marker) the report belongs to: this batch's or the VM's earlier one. */
  private markedItem(test: string, report: ConsoleCrash): WorkItem | undefined {
    const here = this.items.get(test);
    const before = this.ranBefore.get(test);
    return this.markedHere(report) ? (here ?? before) : (before ?? here);
  }

  private armWatchdog(item: WorkItem | undefined): void {
    const generation = ++this.generation;
    const sec = this.deps.deadlineSec(item);
    this.watchdog.set(() => void this.onDeadline(generation, item, sec), sec * 1000);
  }

  private async onDeadline(generation: number, item: WorkItem | undefined, sec: number): Promise<void> {
    // The batch may have ended, or the test finished, just as the timer fired.
    if (this.d.disposed || generation !== this.generation) return;
    await this.dumpHungTasks();
    // The test may have finished while the dumps were taken: blame only a state still current.
    if (generation !== this.generation) return;
    this.fail({
      kind: 'hang',
      message: item ? `${item.test} did not finish within ${sec} s (test deadline)` : `check made no progress for ${sec} s outside any test`,
    });
  }

  /** Before a hung VM is killed: blocked tasks (w) and all CPUs' backtraces (l) to the console. */
  private async dumpHungTasks(): Promise<void> {
    try {
      // The task dumps are KERN_INFO: raise the console level first.
      await this.machine.exec('dmesg -n 8; echo w > /proc/sysrq-trigger; echo l > /proc/sysrq-trigger', { timeoutMs: 5_000 });
    } catch {
      // The guest's userspace may be stuck too; the keyboard path goes through QEMU.
      await this.machine.sysrq('8wl').catch(() => undefined);
    }
    await this.d.sleep(this.timing.sysrqSettleMs);
  }

  /** Queues record work after what is queued; a failing step is reported, never drops the rest. */
  private record(step: () => void | Promise<void>): void {
    this.chain = this.chain.then(step).catch((err: unknown) => {
      this.deps.emit({ type: 'warning', machine: this.machine.name, message: `kt could not record a result: ${err instanceof Error ? err.message : String(err)}` });
    });
  }

  private async drain(): Promise<void> {
    await this.chain;
  }

  /** check's stdout, as it arrives: the guest's state changes now, the record follows in order. */
  private feed(events: CheckStreamEvent[]): void {
    for (const ev of events) {
      const item = this.items.get(ev.test);
      if (!item || this.finished.has(itemKey(item))) continue; // not ours (a -L rerun line); ignore
      let startupMs: number | undefined;
      if (!this.checkStarted) {
        this.checkStarted = true;
        // A line flushed at the end of a command already given up says nothing about when it came.
        if (!this.abort.signal.aborted) {
          startupMs = Date.now() - this.checkCalledAt;
          this.deps.onCheckStarted?.(startupMs / 1000);
        }
      }
      const machine = this.machine.name;
      if (ev.type === 'test-start') {
        this.running = { item, startedAt: Date.now(), console: new ConsoleTail(), reports: [] };
        this.idleReports = [];
        this.idleConsole = new ConsoleTail();
        this.armWatchdog(item);
        this.deps.onTestBegun?.(item);
        this.record(() =>
          this.deps.emit({ type: 'test-begin', test: item.test, section: item.section, machine, attempt: item.attempt, ...(startupMs !== undefined ? { checkStartupMs: startupMs } : {}) }),
        );
        continue;
      }
      const r = this.running?.item === item ? this.running : undefined;
      this.running = undefined;
      this.finished.add(itemKey(item));
      this.idleReports = [];
      this.idleConsole = new ConsoleTail();
      this.armWatchdog(undefined);
      const startedAt = r?.startedAt ?? Date.now();
      const endedAt = Date.now();
      this.record(async () => {
        // [expunged] and some notrun lines come without a separate start.
        if (!r) this.deps.emit({ type: 'test-begin', test: item.test, section: item.section, machine, attempt: item.attempt });
        const fetched = await fetchArtifacts(this.machine, item, ev.outcome, this.deps.guestResultDir(item.section), (i, ext, data) => this.deps.saveArtifact(i, ext, data));
        this.finish(item, ev.outcome, endedAt - startedAt, fetched, ev.seconds);
      });
    }
  }

  private finish(item: WorkItem, outcome: TestOutcome, durationMs: number, fetched: { artifacts: TestArtifacts; dmesg?: string; fullTail?: string }, checkSeconds?: number): void {
    this.deps.emit({
      type: 'test-end',
      test: item.test,
      section: item.section,
      machine: this.machine.name,
      attempt: item.attempt,
      outcome,
      durationMs,
      ...(checkSeconds !== undefined ? { checkSeconds } : {}),
      artifacts: fetched.artifacts,
      ...(fetched.dmesg ? { dmesg: fetched.dmesg } : {}),
      ...(fetched.fullTail ? { fullTail: fetched.fullTail } : {}),
    });
    this.deps.onFinished(item, outcome);
  }

  /** A vmcore when --vmcore asked for one; a failed dump is a warning, the crash is recorded either way. */
  private async takeVmcore(machine: Machine): Promise<string | undefined> {
    if (!this.deps.saveVmcore) return undefined;
    try {
      return await this.deps.saveVmcore(machine);
    } catch (err) {
      this.deps.emit({ type: 'warning', machine: machine.name, message: `no vmcore of ${machine.name}: ${err instanceof Error ? err.message : String(err)}` });
      return undefined;
    }
  }

  /** The VM failed: settle the console, take a vmcore, blame one test; returns what must run again. */
  private async blameFailure(initial: VmFailure): Promise<WorkItem[]> {
    const { machine, deps, d } = this;
    let failure = initial;
    // Wait briefly for the console to finish the report and QEMU to go (unless the crash grace
    // already waited for that in vain, or the user stopped the run).
    if (!(failure.kind === 'crash' && this.crashGraceOver)) {
      await Promise.race([machine.exited, d.sleep(failure.kind === 'crash' ? this.timing.crashExitGraceMs : 1_000), this.stopped]);
    }
    for (const report of this.watch.closeReports()) this.onReport(report);
    await this.drain();
    failure = this.failure ?? failure;
    // The test a fatal report names: with none running, a crash after that test's result is not
    // the next test's (blame.ts blamedTest). A hang names none: a deadline is the running test's.
    const fatalReport = failure.kind === 'crash' ? failure.crash : failure.kind === 'hang' ? undefined : this.idleReports.find((r) => r.fatal);
    const reportTest = fatalReport?.test;
    const reportMarkedHere = fatalReport === undefined || this.markedHere(fatalReport);
    const target = blamedTest(this.batch, this.finished, this.running, reportTest, reportMarkedHere);
    // Only what happened while the blamed test ran (or, with none running, since the last test
    // ended) explains its end: an earlier test's report is not this one's.
    // An earlier batch's run of the same name (another section) is another run: its reports are not this one's.
    const reports = this.running ? this.running.reports : this.idleReports.filter((r) => r.test === undefined || (r.test === (target?.item.test ?? reportTest) && (target === undefined || this.markedHere(r))));
    const fatal = reports.find((r) => r.fatal);
    if (fatal && failure.kind !== 'hang' && failure.kind !== 'crash') failure = { kind: 'crash', crash: fatal };
    // No memory dump once the user stopped the run: it takes as long as the guest has memory.
    const vmcore = failure.kind === 'crash' && !deps.stopSignal.aborted ? await this.takeVmcore(machine) : undefined;
    const consoleText = (this.running?.console ?? this.idleConsole).text() || machine.consoleTail(80);
    const consolePath = target ? deps.saveArtifact(target.item, 'console', consoleText) : '';
    const result = blame({
      failure,
      machine: machine.name,
      batch: this.batch,
      finished: this.finished,
      ...(this.running ? { running: { item: this.running.item, startedAt: this.running.startedAt } } : {}),
      reports,
      ...(reportTest !== undefined ? { reportTest, reportMarkedHere } : {}),
      consolePath,
      consoleLog: deps.consoleLogOf(machine),
      ...(vmcore ? { vmcore } : {}),
      nowMs: Date.now(),
    });
    for (const ev of result.events) deps.emit(ev);
    if (result.blamed) {
      this.finished.add(itemKey(result.blamed.item));
      deps.onFinished(result.blamed.item, result.blamed.outcome);
    }
    return result.requeue;
  }
}
