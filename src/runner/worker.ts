/**
 * One worker owns one VM at a time: it boots a machine, pulls batches from the dispatcher,
 * runs each batch with one `check` invocation, and turns every way a VM can die into a test
 * outcome (issue #3). A dead VM is discarded; the rest of its batch returns to the queue head.
 */
import type { EventInput, TestArtifacts } from '../record/events.js';
import type { CrashInfo, TestOutcome } from '../record/outcome.js';
import type { Dispatcher } from './dispatcher.js';
import type { WorkItem } from './workQueue.js';
import type { CheckStream, CheckStreamEvent, ConsoleCrash, ConsoleWatcher } from './ports.js';
import type { Machine } from '../vm/machine.js';
import { TimeoutError } from '../vm/qmp.js';
import { HostError } from '../errors.js';
import { parseFetchedArtifacts, renderCheckCommand, renderFetchArtifacts, type ArtifactExtension } from './guestCommands.js';

export interface WorkerDeps {
  dispatcher: Dispatcher;
  /** Appends an event to the run's log and the live reporters. */
  emit(event: EventInput): void;
  /** A new, not yet booted machine with a fresh name (vm3, vm4, ...). */
  createMachine(): Promise<Machine>;
  /** Runs on a freshly booted machine before its first test (mount, local.config, mkfs). */
  setupGuest(machine: Machine): Promise<void>;
  createCheckStream(): CheckStream;
  createConsoleWatcher(): ConsoleWatcher;
  /** Tests per check invocation for the current queue length. */
  batchSize(remaining: number): number;
  /** Per-test deadline in seconds. */
  deadlineSec(test: string): number;
  /** Writes a test's artifact into the run dir; returns its run-dir-relative path. */
  saveArtifact(test: string, attempt: number, ext: string, data: Buffer | string): string;
  /** Saves a vmcore of a panicked VM when --vmcore is on; returns its relative path. */
  saveVmcore?(machine: Machine): Promise<string | undefined>;
  consoleLogOf(machine: Machine): string;
  retries: number;
  /** SIGINT/SIGTERM: stop at once, report nothing for the test in flight. */
  stopSignal: AbortSignal;
  /** Consecutive boot failures after which the run gives up (the kernel does not boot). */
  maxBootFailures: number;
}

/** Why a VM stopped being usable in the middle of a batch. */
type VmFailure =
  | { kind: 'crash'; crash: ConsoleCrash }
  | { kind: 'hang'; message: string }
  | { kind: 'qemu-exit'; message: string; exitCode: number | undefined }
  | { kind: 'transport'; message: string };

/** Console lines kept per test, for the console excerpt of a crashed or hung test. */
const CONSOLE_KEEP_BYTES = 256 * 1024;
/** Reports that explain a guest that stopped answering (src/crash CrashType). */
const STALL_TYPES = new Set(['softlockup', 'hardlockup', 'rcustall', 'hungtask']);
/** After the console shows a fatal crash, how long QEMU gets to exit by itself. */
const CRASH_EXIT_GRACE_MS = 10_000;
/** How long sysrq dumps of a hung guest get to reach the console. */
const SYSRQ_SETTLE_MS = 3_000;

export class Worker {
  private machine: Machine | undefined;
  private testsOnMachine = 0;
  private bootFailures = 0;

  constructor(private readonly deps: WorkerDeps) {}

  async run(): Promise<void> {
    const d = this.deps;
    try {
      for (;;) {
        const batch = await d.dispatcher.next((remaining) => d.batchSize(remaining));
        if (!batch) break;
        if (d.stopSignal.aborted) {
          d.dispatcher.settle(batch.length);
          break;
        }
        if (batch[0]!.freshVm && this.machine && this.testsOnMachine > 0) await this.discard();
        if (!this.machine) {
          let booted: boolean;
          try {
            booted = await this.boot();
          } catch (err) {
            // Fatal for the run: give the batch back so no other worker waits for it forever.
            d.dispatcher.returnToHead(batch);
            throw err;
          }
          if (!booted) {
            d.dispatcher.returnToHead(batch);
            continue;
          }
        }
        if (d.stopSignal.aborted) {
          d.dispatcher.settle(batch.length);
          break;
        }
        await this.runBatch(this.machine!, batch);
      }
    } finally {
      await this.discard();
    }
  }

  private async boot(): Promise<boolean> {
    const d = this.deps;
    const machine = await d.createMachine();
    this.machine = machine;
    this.testsOnMachine = 0;
    d.emit({ type: 'machine-boot', machine: machine.name, argv: machine.argv });
    try {
      const { bootMs, kernelRelease } = await machine.boot(d.stopSignal);
      await d.setupGuest(machine);
      d.emit({ type: 'machine-up', machine: machine.name, bootMs, kernelRelease });
      this.bootFailures = 0;
      return true;
    } catch (err) {
      await this.discard();
      if (d.stopSignal.aborted) return false;
      // Setup errors of the fstests tree or config are the user's to fix: no retry helps.
      if (err instanceof HostError && err.code.startsWith('E_GUEST_SETUP')) throw err;
      this.bootFailures++;
      d.emit({
        type: 'machine-lost',
        machine: machine.name,
        reason: 'boot-failure',
        message: err instanceof Error ? err.message : String(err),
        consoleLog: d.consoleLogOf(machine),
      });
      // A boot can hang by bad luck (seen under TCG); the same failure again is the kernel's.
      if (this.bootFailures >= d.maxBootFailures) throw err;
      return false;
    }
  }

  private async discard(): Promise<void> {
    const m = this.machine;
    this.machine = undefined;
    if (m) await m.dispose();
  }

  private async runBatch(machine: Machine, batch: WorkItem[]): Promise<void> {
    const d = this.deps;
    const items = new Map(batch.map((item) => [item.test, item]));
    const finished = new Set<string>();
    const abort = new AbortController();
    const stream = d.createCheckStream();
    const watcher = d.createConsoleWatcher();
    let failure: VmFailure | undefined;
    let current: { item: WorkItem; startedAt: number; console: string[]; consoleBytes: number; timer?: NodeJS.Timeout; reports: ConsoleCrash[] } | undefined;
    let fatalTimer: NodeJS.Timeout | undefined;

    let failed!: () => void;
    const failedPromise = new Promise<void>((resolve) => (failed = resolve));
    const fail = (f: VmFailure) => {
      failed();
      // The first cause wins: a panic explains the QEMU exit and the lost connection after it.
      if (!failure || (failure.kind !== 'crash' && f.kind === 'crash')) failure = f;
      if (f.kind !== 'crash') abort.abort();
    };

    const onConsole = (chunk: Buffer) => {
      if (current && current.consoleBytes < CONSOLE_KEEP_BYTES) {
        current.console.push(chunk.toString('utf8'));
        current.consoleBytes += chunk.length;
      }
      for (const report of watcher.push(chunk)) {
        if (current) current.reports.push(report);
        if (report.fatal) fail({ kind: 'crash', crash: report });
      }
      // QEMU normally exits on its own after a panic (panic=-1, pvpanic). When it does not (a
      // guest paused on panic for --vmcore stops before the report's last line), close the
      // report ourselves and stop waiting.
      if (!fatalTimer && (watcher.fatalPending || failure?.kind === 'crash')) {
        fatalTimer = setTimeout(() => {
          const reports = watcher.flush();
          if (current) current.reports.push(...reports);
          const fatal = reports.find((r) => r.fatal);
          if (fatal) fail({ kind: 'crash', crash: fatal });
          abort.abort();
        }, CRASH_EXIT_GRACE_MS);
      }
    };
    const unsubscribeConsole = machine.onConsole(onConsole);
    const stopWatching = new AbortController();
    void machine.exited.then((exit) => {
      if (stopWatching.signal.aborted) return;
      fail({
        kind: 'qemu-exit',
        exitCode: exit.exitCode,
        message: describeQemuExit(exit.exitCode, exit.signal),
      });
    });
    void machine.transportClosed.then(() => {
      if (stopWatching.signal.aborted) return;
      // Give a dying VM a moment: the QEMU exit or console crash explains it better.
      setTimeout(() => fail({ kind: 'transport', message: 'the ssh connection to the guest dropped' }), 3_000);
    });
    const onStop = () => abort.abort();
    d.stopSignal.addEventListener('abort', onStop, { once: true });
    if (d.stopSignal.aborted) abort.abort();

    const armDeadline = (test: string) => {
      const sec = d.deadlineSec(test);
      return setTimeout(() => {
        void this.dumpHungTasks(machine).finally(() => {
          // The test may have finished while the dumps were taken: blame only a test still running.
          if (current?.item.test === test) fail({ kind: 'hang', message: `${test} did not finish within ${sec} s (test deadline)` });
        });
      }, sec * 1000);
    };
    // check also runs outside tests (mount of TEST_DEV, mkfs of SCRATCH_DEV, final unmounts);
    // a kernel hang there gets the longest deadline kt would give any test.
    let idleTimer: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idleTimer);
      const sec = d.deadlineSec('');
      idleTimer = setTimeout(() => {
        void this.dumpHungTasks(machine).finally(() => {
          if (!current) fail({ kind: 'hang', message: `check made no progress for ${sec} s outside any test` });
        });
      }, sec * 1000);
    };

    // Stream events are handled strictly in order: fetching a test's files must finish
    // before the next test's result is reported.
    let chain = Promise.resolve();
    const handle = async (ev: CheckStreamEvent) => {
      const item = items.get(ev.test);
      if (!item || finished.has(ev.test)) return; // not ours (a -L rerun line); ignore
      if (ev.type === 'test-start') {
        clearTimeout(current?.timer);
        clearTimeout(idleTimer);
        current = { item, startedAt: Date.now(), console: [], consoleBytes: 0, reports: [] };
        current.timer = armDeadline(ev.test);
        d.emit({ type: 'test-begin', test: ev.test, machine: machine.name, attempt: item.attempt });
        return;
      }
      const startedAt = current?.item.test === ev.test ? current.startedAt : Date.now();
      clearTimeout(current?.timer);
      if (!current || current.item.test !== ev.test) {
        // [expunged] and some notrun lines come without a separate start.
        d.emit({ type: 'test-begin', test: ev.test, machine: machine.name, attempt: item.attempt });
      }
      current = undefined;
      finished.add(ev.test);
      this.testsOnMachine++;
      armIdle();
      const fetched = await this.fetchArtifacts(machine, item, ev.outcome);
      this.finishTest(item, machine.name, ev.outcome, Date.now() - startedAt, fetched, ev.seconds);
    };
    const feed = (events: CheckStreamEvent[]) => {
      for (const ev of events) chain = chain.then(() => handle(ev));
    };

    let checkExit: { exitCode: number | null; stdout: string } | undefined;
    let execError: unknown;
    armIdle();
    try {
      checkExit = await machine.exec(renderCheckCommand(batch.map((i) => i.test)), {
        // After an abort ssh2 may still deliver data; a late test-start must not arm timers.
        onStdout: (chunk) => {
          if (!abort.signal.aborted) feed(stream.push(chunk));
        },
        signal: abort.signal,
      });
    } catch (err) {
      // Aborted or connection lost: `failure` (or the stop signal) says why.
      execError = err;
    }
    // A failure's diff is only settled by the next line or the end of the stream: settle it, so
    // a test that failed just before its VM died keeps its own outcome.
    feed(stream.end());
    clearTimeout(idleTimer);
    await chain.catch(() => undefined);
    if (!failure && !d.stopSignal.aborted && batch.some((i) => !finished.has(i.test))) {
      // check's channel closed with tests unreported: usually the guest is dying (a panic
      // cuts the connection before QEMU exits). Give the real cause a moment to show.
      await Promise.race([failedPromise, sleep(CRASH_EXIT_GRACE_MS)]);
      await chain.catch(() => undefined);
      // Nothing explained it: the command channel itself failed (or closed without an exit
      // status). The VM cannot be trusted with the next batch.
      if (!failure && (execError !== undefined || checkExit?.exitCode === null)) {
        failure = { kind: 'transport', message: `check's ssh channel ended without an exit status (${execError instanceof Error ? execError.message : 'closed'})` };
      }
    }
    unsubscribeConsole();
    if (current?.timer) clearTimeout(current.timer);
    clearTimeout(fatalTimer);
    d.stopSignal.removeEventListener('abort', onStop);

    if (d.stopSignal.aborted) {
      // Interrupted by the user: the test in flight is "not executed", not a failure.
      stopWatching.abort();
      d.dispatcher.settle(batch.length);
      return;
    }

    if (!failure && checkExit && finished.size === 0 && !current && checkExit.exitCode !== null && checkExit.exitCode !== 0) {
      stopWatching.abort();
      d.dispatcher.settle(batch.length);
      throw new HostError(
        'E_GUEST_SETUP_CHECK',
        `fstests' check exited ${checkExit.exitCode} before running any test:\n${checkExit.stdout.trim().split('\n').slice(-15).join('\n')}`,
        'this is a config or environment error of the fstests tree (see the lines above); fix it and rerun',
      );
    }

    if (failure) {
      // Wait briefly for the console to finish the report and QEMU to go.
      await Promise.race([machine.exited, sleep(failure.kind === 'crash' ? CRASH_EXIT_GRACE_MS : 1_000)]);
      stopWatching.abort();
      const late = watcher.flush();
      if (current) current.reports.push(...late);
      const fatal = [...(current?.reports ?? []), ...late].find((r) => r.fatal);
      if (fatal && failure.kind !== 'hang') failure = { kind: 'crash', crash: fatal };
      const vmcore = failure.kind === 'crash' && d.saveVmcore ? await d.saveVmcore(machine).catch(() => undefined) : undefined;
      // A VM lost while check was starting up has no running test; blame the first one it was
      // about to run, so a kernel that dies in mount/mkfs cannot reboot VMs forever.
      const starting = batch.find((i) => !finished.has(i.test));
      const blamed =
        current ?? (starting ? { item: starting, startedAt: Date.now(), console: [] as string[], consoleBytes: 0, reports: [] as ConsoleCrash[] } : undefined);
      if (blamed) {
        if (!current) blamed.console.push(machine.consoleTail(80));
        const consoleText = blamed.console.join('');
        const consolePath = d.saveArtifact(blamed.item.test, blamed.item.attempt, 'console', consoleText);
        const outcome = outcomeForFailure(failure, blamed.reports, consoleText);
        this.testsOnMachine++;
        finished.add(blamed.item.test);
        this.finishTest(blamed.item, machine.name, outcome, Date.now() - blamed.startedAt, { artifacts: { console: consolePath } });
      }
      const crash = failure.kind === 'crash' ? toCrashInfo(failure.crash) : undefined;
      d.emit({
        type: 'machine-lost',
        machine: machine.name,
        reason: failure.kind === 'crash' ? 'crash' : failure.kind === 'hang' ? 'hang' : failure.kind,
        message: failure.kind === 'crash' ? failure.crash.title : failure.message,
        ...(blamed ? { test: blamed.item.test } : {}),
        ...(crash ? { crash } : {}),
        consoleLog: d.consoleLogOf(machine),
        ...(vmcore ? { vmcore } : {}),
      });
      const rest = batch.filter((i) => !finished.has(i.test));
      d.dispatcher.settle(batch.length - rest.length);
      d.dispatcher.returnToHead(rest);
      await this.discard();
      return;
    }

    stopWatching.abort();
    // check ended normally but said nothing about some tests (e.g. it no longer knows them).
    for (const item of batch) {
      if (finished.has(item.test)) continue;
      d.emit({ type: 'test-begin', test: item.test, machine: machine.name, attempt: item.attempt });
      this.finishTest(item, machine.name, { status: 'error', message: `check exited (status ${checkExit?.exitCode}) without a result for ${item.test}` }, 0, { artifacts: {} });
    }
    d.dispatcher.settle(batch.length);
  }

  private finishTest(
    item: WorkItem,
    machine: string,
    outcome: TestOutcome,
    durationMs: number,
    fetched: { artifacts: TestArtifacts; dmesg?: string; fullTail?: string },
    checkSeconds?: number,
  ): void {
    const d = this.deps;
    d.emit({
      type: 'test-end',
      test: item.test,
      machine,
      attempt: item.attempt,
      outcome,
      durationMs,
      ...(checkSeconds !== undefined ? { checkSeconds } : {}),
      artifacts: fetched.artifacts,
      ...(fetched.dmesg ? { dmesg: fetched.dmesg } : {}),
      ...(fetched.fullTail ? { fullTail: fetched.fullTail } : {}),
    });
    const failed = outcome.status === 'failed' || outcome.status === 'crashed' || outcome.status === 'timedout';
    if (failed && item.attempt <= d.retries) {
      d.dispatcher.retry({ test: item.test, attempt: item.attempt + 1, freshVm: true });
    }
  }

  private async fetchArtifacts(
    machine: Machine,
    item: WorkItem,
    outcome: TestOutcome,
  ): Promise<{ artifacts: TestArtifacts; dmesg?: string; fullTail?: string }> {
    const d = this.deps;
    const artifacts: TestArtifacts = {};
    let files: Map<ArtifactExtension, { size: number; tail: Buffer }>;
    try {
      const out: Buffer[] = [];
      await machine.exec(renderFetchArtifacts(item.test), { onStdout: (c) => out.push(c), timeoutMs: 60_000 });
      files = parseFetchedArtifacts(Buffer.concat(out));
    } catch {
      return { artifacts };
    }
    const keys: Record<ArtifactExtension, keyof TestArtifacts | undefined> = { full: 'full', dmesg: 'dmesg', 'out.bad': 'outBad', notrun: undefined };
    for (const [ext, file] of files) {
      const key = keys[ext];
      if (key) artifacts[key] = d.saveArtifact(item.test, item.attempt, ext, file.tail);
    }
    const text = (ext: ArtifactExtension, max: number) => {
      const f = files.get(ext);
      return f ? f.tail.subarray(Math.max(0, f.tail.length - max)).toString('utf8') : undefined;
    };
    return {
      artifacts,
      dmesg: text('dmesg', 64 * 1024),
      // The .full of a passing test is rarely read; keep the record small.
      fullTail: outcome.status === 'passed' ? undefined : text('full', 16 * 1024),
    };
  }

  /** Before a hung VM is killed: blocked tasks (w) and all CPUs' backtraces (l) to the console. */
  private async dumpHungTasks(machine: Machine): Promise<void> {
    try {
      // The task dumps are KERN_INFO: raise the console level first (loglevel=5 at boot).
      await machine.exec('dmesg -n 8; echo w > /proc/sysrq-trigger; echo l > /proc/sysrq-trigger', { timeoutMs: 5_000 });
    } catch (err) {
      // The guest's userspace may be stuck too; the keyboard path goes through QEMU.
      if (err instanceof TimeoutError || err instanceof Error) await machine.sysrq('8wl').catch(() => undefined);
    }
    await sleep(SYSRQ_SETTLE_MS);
  }
}

function describeQemuExit(exitCode: number | undefined, signal: string | undefined): string {
  if (signal) return `qemu was killed by ${signal}`;
  // fstests.md §7: with -action panic=exit-failure QEMU exits 1 after a guest panic.
  if (exitCode === 1) return 'qemu exited 1 (guest panic reported through pvpanic)';
  if (exitCode === 0) return 'the guest powered off or rebooted (qemu exited 0)';
  return `qemu exited with status ${exitCode}`;
}

export function toCrashInfo(c: ConsoleCrash): CrashInfo {
  return {
    title: c.title,
    type: c.type,
    ...(c.frame ? { frame: c.frame } : {}),
    fingerprint: c.fingerprint,
    excerpt: c.excerpt,
  };
}

/** The outcome of the test that was running when its VM failed. */
export function outcomeForFailure(failure: VmFailure, reports: ConsoleCrash[], consoleText: string): TestOutcome {
  const tail = consoleText.split(/\r?\n/).slice(-60).join('\n');
  switch (failure.kind) {
    case 'crash':
      return { status: 'crashed', message: failure.crash.title, crash: toCrashInfo(failure.crash) };
    case 'hang': {
      // A hung-task or soft-lockup report explains a hang better than "deadline passed".
      const why = reports.find((r) => r.type !== 'warning') ?? reports[0];
      return why
        ? { status: 'timedout', message: `${failure.message}: ${why.title}`, crash: toCrashInfo(why) }
        : { status: 'timedout', message: `${failure.message}\n--- console ---\n${tail}` };
    }
    case 'qemu-exit':
    case 'transport': {
      // A lockup or stall reported before the VM went away is the better explanation.
      const why = reports.find((r) => STALL_TYPES.has(r.type));
      if (why) return { status: 'timedout', message: `${failure.message}: ${why.title}`, crash: toCrashInfo(why) };
      if (failure.kind === 'transport') return { status: 'error', message: `${failure.message}\n--- console ---\n${tail}` };
      // pvpanic exit without a readable report is still a kernel crash.
      if (failure.exitCode === 1) {
        return {
          status: 'crashed',
          message: failure.message,
          crash: { title: 'kernel panic (no console report)', type: 'panic', fingerprint: 'panic-no-report', excerpt: tail },
        };
      }
      return { status: 'error', message: `${failure.message}\n--- console ---\n${tail}` };
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
