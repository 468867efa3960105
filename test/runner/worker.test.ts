/**
 * The worker's failure handling, replaying REAL guest output (test/fstests/samples) through a
 * scripted Machine: check's stdout as the guest sent it and the kernel console as it was
 * captured. The end-to-end tests do the same with live VMs; these pin the decisions.
 */
import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/runner/dispatcher.js';
import type { EventInput } from '../../src/record/events.js';
import { createCheckStream, createConsoleWatcher } from '../../src/runner/adapters.js';
import { Worker, type WorkerDeps } from '../../src/runner/worker.js';
import { MachineSupply } from '../../src/runner/supply.js';
import type { BootResult, ExecOptions, ExecResult, Machine, MachineExit } from '../../src/vm/machine.js';
import { FakeMachineBase } from './fakeMachine.js';
import { renderCheckCommand } from '../../src/runner/guestCommands.js';
import { retriesPolicy } from '../../src/runner/run.js';
import { HostError } from '../../src/errors.js';
import { checkStdout, consoleText, pendingTimers } from './realSamples.js';


interface Script {
  /** check's stdout, delivered in pieces. */
  stdout: string;
  /** Console text delivered after the stdout. */
  console?: string;
  /** QEMU exits after the console (undefined: it never exits). */
  exit?: MachineExit;
  /** check's exit status when the stream completes normally. */
  checkExit?: number;
  /** The boot takes this long (default: at once). */
  bootDelayMs?: number;
  /** The boot fails with this error. */
  bootError?: Error;
  /** check prints nothing for this long first (its start-up). */
  checkStartMs?: number;
}

class ScriptedMachine extends FakeMachineBase {
  constructor(
    name: string,
    private readonly script: Script,
  ) {
    super(name);
  }

  async boot() {
    if (this.script.bootDelayMs) await new Promise((r) => setTimeout(r, this.script.bootDelayMs));
    if (this.script.bootError) throw this.script.bootError;
    return { bootMs: 1, kernelRelease: '6.1.0-56-cloud-amd64' };
  }
  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.commands.push(command);
    if (!command.includes('./check')) return { exitCode: 0, stdout: '', stderr: '' };
    const s = this.script;
    if (s.checkStartMs) await new Promise((r) => setTimeout(r, s.checkStartMs));
    // Odd-sized chunks: the parser and detector must not care where the bytes are cut.
    for (let i = 0; i < s.stdout.length; i += 37) opts.onStdout?.(Buffer.from(s.stdout.slice(i, i + 37)));
    await tick();
    if (s.console !== undefined) this.console(s.console);
    if (s.exit) {
      this.end(s.exit);
      return new Promise((_, reject) => setTimeout(() => reject(new Error('connection lost')), 5));
    }
    if (s.checkExit === undefined) {
      // A hang: the stream just stops; only the abort signal ends the command.
      return new Promise((_, reject) => opts.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    }
    return { exitCode: s.checkExit, stdout: s.stdout, stderr: '' };
  }
}

function tick() {
  return new Promise((r) => setTimeout(r, 1));
}

function harness(
  tests: string[],
  scripts: Script[],
  overrides: Partial<WorkerDeps> & { retries?: number; spares?: number; supplyPrepare?: () => Promise<void>; machine?: (name: string) => FakeMachineBase } = {},
) {
  const events: EventInput[] = [];
  const machines: FakeMachineBase[] = [];
  const { retries = 0, spares = 0, supplyPrepare = async () => {}, machine, ...rest } = overrides;
  const dispatcher = new Dispatcher(
    tests.map((test) => ({ section: 'xfs', test })),
    retriesPolicy(retries),
  );
  const stopSignal = rest.stopSignal ?? new AbortController().signal;
  const emit = (e: EventInput) => void events.push(e);
  const createMachine = async () => {
    const name = `vm${machines.length + 1}`;
    const script = scripts[machines.length];
    if (!machine && !script) throw new Error('no more scripted machines');
    const m = machine ? machine(name) : new ScriptedMachine(name, script!);
    machines.push(m);
    return m;
  };
  const supply = new MachineSupply(
    { emit, createMachine, setupGuest: async () => 'ran' as const, createConsoleWatcher, prepareSection: supplyPrepare, consoleLogOf: (m) => `console/${m.name}.log`, stopSignal, maxBootFailures: 3 },
    spares,
  );
  const deps: WorkerDeps = {
    dispatcher,
    emit,
    supply,
    prepareSection: async () => {},
    checkCommand: (items) => renderCheckCommand(items[0]!.section, items.map((i) => i.test)),
    guestResultDir: () => '/run/kt/results/xfs',
    createCheckStream,
    batchSize: () => 10,
    deadlineSec: () => 3600,
    saveArtifact: (item, ext) => `results/${item.test}.${ext}`,
    consoleLogOf: (m) => `console/${m.name}.log`,
    stopSignal,
    maxBootFailures: 3,
    // Short waits: the samples are replayed at once; nothing here depends on how short.
    timing: { crashExitGraceMs: 300, transportGraceMs: 50, sysrqSettleMs: 10 },
    ...rest,
  };
  const worker = new Worker(deps);
  return { worker: { run: async () => { try { await worker.run(); } finally { await supply.dispose(); } } }, events, machines, supply, deps, dispatcher };
}

/** Every check start-up the worker tells the dispatcher, in order (and still told). */
function startupsNoted(dispatcher: Dispatcher): number[] {
  const noted: number[] = [];
  const note = dispatcher.noteCheckStartup.bind(dispatcher);
  dispatcher.noteCheckStartup = (sec) => {
    noted.push(sec);
    note(sec);
  };
  return noted;
}

const ends = (events: EventInput[]) =>
  Object.fromEntries(events.flatMap((e) => (e.type === 'test-end' ? [[e.test, e.outcome.status]] : [])));

describe('Worker replaying the real sysrq panic sample', () => {
  it('blames selftest/005, discards the VM and runs the rest of the batch on a new one', async () => {
    const { worker, events, machines } = harness(
      // Sample C ran 001, 004, 005 in that order (check sorts); 002 is ours, after the crash.
      ['selftest/001', 'selftest/004', 'selftest/005', 'selftest/002'],
      [
        {
          // Sample C: check -d ... the stream ends after "selftest/005 ... QA output created by 005".
          stdout: checkStdout('kernel-panic-sysrq'),
          console: consoleText('kernel-panic-sysrq'),
          exit: { exitCode: 0, signal: undefined, stderr: '' },
        },
        { stdout: 'selftest/002        4s\nRan: selftest/002\nPassed all 1 tests\n\n', checkExit: 0 },
      ],
    );
    await worker.run();
    expect(ends(events)).toEqual({ 'selftest/001': 'passed', 'selftest/004': 'notrun', 'selftest/005': 'crashed', 'selftest/002': 'passed' });
    const crashed = events.find((e) => e.type === 'test-end' && e.test === 'selftest/005');
    expect(crashed?.type === 'test-end' && crashed.outcome.status === 'crashed' && crashed.outcome.crash.title).toMatch(/sysrq triggered crash/);
    const lost = events.find((e) => e.type === 'machine-lost');
    expect(lost).toMatchObject({ machine: 'vm1', reason: 'crash', test: 'selftest/005' });
    expect(machines.map((m) => m.disposed)).toEqual([true, true]);
    // The replacement VM ran only what had not run.
    expect(machines[1]!.commands.find((c) => c.includes('./check'))).toMatch(/--exact-order selftest\/002$/);
  }, 30_000);
});

/**
 * The real sysrq panic sample with selftest/005's kmsg marker taken out: check printed
 * "selftest/005" (`named`: its stdout up to there), and the kernel panicked before check wrote
 * "run fstests selftest/005" — the report's last marker is selftest/004's.
 */
function panicBeforeMarker(): { named: string; console: string } {
  const stdout = checkStdout('kernel-panic-sysrq');
  return {
    named: stdout.slice(0, stdout.indexOf('selftest/005') + 'selftest/005       '.length),
    console: consoleText('kernel-panic-sysrq')
      .split('\n')
      .filter((l) => !l.includes('run fstests selftest/005'))
      .join('\n'),
  };
}

describe('Worker when the kernel panics between a test\'s name and its marker', () => {
  it('blames nobody, and the test check had just named runs on the new VM (the real sysrq panic, cut before selftest/005\'s marker)', async () => {
    const { named, console } = panicBeforeMarker();
    const { worker, events, machines } = harness(
      ['selftest/001', 'selftest/004', 'selftest/005', 'selftest/002'],
      [
        { stdout: named, console, exit: { exitCode: 0, signal: undefined, stderr: '' } },
        { stdout: 'selftest/005        3s\nselftest/002        4s\nRan: selftest/005 selftest/002\nPassed all 2 tests\n\n', checkExit: 0 },
      ],
    );
    await worker.run();
    expect(ends(events)).toEqual({ 'selftest/001': 'passed', 'selftest/004': 'notrun', 'selftest/005': 'passed', 'selftest/002': 'passed' });
    const lost = events.find((e) => e.type === 'machine-lost');
    expect(lost).toMatchObject({ machine: 'vm1', reason: 'crash', crash: { title: 'kernel panic: sysrq triggered crash' } });
    expect(lost).not.toHaveProperty('test');
    expect(lost?.type === 'machine-lost' && lost.message).toContain("(after selftest/004's result, before selftest/005 began its work");
    // Its begin on vm1 has no end there; it ran again, as attempt 1, on vm2.
    expect(events.filter((e) => e.type === 'test-begin' && e.test === 'selftest/005').map((e) => e.type === 'test-begin' && `${e.machine} ${e.attempt}`)).toEqual(['vm1 1', 'vm2 1']);
    // Alone, on a fresh VM: there no earlier marker can excuse a crash of its own.
    expect(machines[1]!.commands.filter((c) => c.includes('./check')).map((c) => c.replace(/.*--exact-order /, ''))).toEqual(['selftest/005', 'selftest/002']);
  }, 30_000);
});

describe('Two workers when a test is spared for a fresh VM', () => {
  it('the worker whose VM ran tests keeps its VM for the other work; the spared test goes to the lost VM\'s replacement', async () => {
    // vm1 replays the real sysrq panic cut before selftest/005's marker (as above): selftest/005
    // is spared and queued for a fresh VM. Every other check passes its tests. vm1's disposal
    // lasts until the healthy VM has asked for its next batch, so that VM asks while
    // selftest/005 heads the queue — the moment the rule is for.
    const { named, console: panicConsole } = panicBeforeMarker();
    let healthyAsked!: () => void;
    const asked = new Promise<void>((r) => (healthyAsked = r));
    class Machine extends FakeMachineBase {
      async boot() {
        return { bootMs: 1, kernelRelease: '6.1.0-56-cloud-amd64' };
      }
      async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
        this.commands.push(command);
        if (!command.includes('./check')) return { exitCode: 0, stdout: '', stderr: '' };
        const tests = command.replace(/.*--exact-order /, '').split(' ');
        if (tests[0] === 'selftest/001') {
          opts.onStdout?.(Buffer.from(named));
          await tick();
          this.console(panicConsole);
          this.end({ exitCode: 0, signal: undefined, stderr: '' });
          return new Promise((_, reject) => setTimeout(() => reject(new Error('connection lost')), 5));
        }
        if (this.name === 'vm2' && this.commands.filter((c) => c.includes('./check')).length > 1) healthyAsked();
        // Longer than vm1's crash grace (the harness's crashExitGraceMs): selftest/005 is queued again while this runs.
        await new Promise((r) => setTimeout(r, 1000));
        const out = `${tests.map((t) => `${t.padEnd(19)}1s\n`).join('')}Ran: ${tests.join(' ')}\nPassed all ${tests.length} tests\n\n`;
        opts.onStdout?.(Buffer.from(out));
        return { exitCode: 0, stdout: out, stderr: '' };
      }
      override async dispose() {
        // At most 5 s: without the rule vm2 never runs a second check.
        if (this.commands.some((c) => c.includes('--exact-order selftest/001'))) {
          let limit: NodeJS.Timeout | undefined;
          await Promise.race([asked, new Promise((r) => (limit = setTimeout(r, 5000)))]);
          clearTimeout(limit);
        }
        await super.dispose();
      }
    }
    const { events, machines, deps, supply } = harness(
      ['selftest/001', 'selftest/004', 'selftest/005', 'generic/001', 'generic/002', 'generic/003', 'generic/004', 'generic/005'],
      [],
      { batchSize: () => 3, machine: (name) => new Machine(name) },
    );
    try {
      await Promise.all([new Worker(deps).run(), new Worker(deps).run()]);
    } finally {
      await supply.dispose();
    }
    expect(ends(events)).toMatchObject({ 'selftest/001': 'passed', 'selftest/005': 'passed', 'generic/004': 'passed', 'generic/005': 'passed' });
    const checks = (m: FakeMachineBase) => m.commands.filter((c) => c.includes('./check')).map((c) => c.replace(/.*--exact-order /, ''));
    // vm2 ran its first batch and the queue's rest; selftest/005 ran alone on vm3, the
    // replacement of vm1. No healthy VM was given up, so no fourth VM booted.
    expect(machines.map((m) => m.name)).toEqual(['vm1', 'vm2', 'vm3']);
    expect(checks(machines[1]!)).toEqual(['generic/001 generic/002 generic/003', 'generic/004 generic/005']);
    expect(checks(machines[2]!)).toEqual(['selftest/005']);
  }, 30_000);
});

describe('Worker measuring check start-up', () => {
  it('tells the dispatcher how long check took to its first test, once per batch', async () => {
    const { worker, events, dispatcher } = harness(
      ['selftest/001', 'selftest/002'],
      [{ stdout: 'selftest/001        1s\nselftest/002        1s\nRan: selftest/001 selftest/002\nPassed all 2 tests\n\n', checkExit: 0, checkStartMs: 120 }],
      { batchSize: () => 2 },
    );
    const noted = startupsNoted(dispatcher);
    const begun: string[] = [];
    const note = dispatcher.begun.bind(dispatcher);
    dispatcher.begun = (item) => {
      begun.push(item.test);
      note(item);
    };
    await worker.run();
    expect(ends(events)).toEqual({ 'selftest/001': 'passed', 'selftest/002': 'passed' });
    // Each test's begin is told to the dispatcher too: batching counts a running test by what is left of it.
    expect(begun).toEqual(['selftest/001', 'selftest/002']);
    // One batch, one start-up: the second test's begin is not a start-up. At least the 120 ms
    // check printed nothing (a timer may fire a millisecond early by Date.now()).
    expect(noted).toHaveLength(1);
    expect(noted[0]).toBeGreaterThanOrEqual(0.115);
    expect(dispatcher.checkStartupSec()).toBe(noted[0]);
    // The record has it too, on the batch's first test-begin only (record/history.ts keeps it for
    // the next run's batching).
    const begins = events.filter((e) => e.type === 'test-begin');
    expect(begins.map((e) => e.type === 'test-begin' && e.checkStartupMs)).toEqual([noted[0]! * 1000, undefined]);
  }, 30_000);
});

describe('Worker measuring check start-up when the VM dies first', () => {
  it('notes no start-up for a batch whose VM panicked before check named a test', async () => {
    // Sample C's header only, then its console (that kernel panicked in selftest/005): to kt the
    // VM died before check's first test line.
    const header = checkStdout('kernel-panic-sysrq').split('selftest/001')[0]!;
    const { worker, events, dispatcher } = harness(
      ['selftest/001', 'selftest/002'],
      [
        { stdout: header, console: consoleText('kernel-panic-sysrq'), exit: { exitCode: 0, signal: undefined, stderr: '' } },
        { stdout: 'selftest/001        1s\nselftest/002        1s\nRan: selftest/001 selftest/002\nPassed all 2 tests\n\n', checkExit: 0 },
      ],
      { batchSize: () => 2 },
    );
    const noted = startupsNoted(dispatcher);
    await worker.run();
    // The first VM's crash is blamed on selftest/001 (a test-begin kt made up, after the crash
    // grace): no start-up of check. The second VM's check named its first test: one.
    expect(events.some((e) => e.type === 'machine-lost' && e.machine === 'vm1')).toBe(true);
    expect(noted).toHaveLength(1);
  }, 30_000);
});

describe('Worker on a pvpanic exit without a readable console', () => {
  it('reports the running test as crashed when QEMU exits 1', async () => {
    const { worker, events } = harness(
      ['selftest/001', 'selftest/005'],
      [{ stdout: 'selftest/001        5s\nselftest/005       ', console: '', exit: { exitCode: 1, signal: undefined, stderr: '' } }],
    );
    await worker.run();
    expect(ends(events)).toEqual({ 'selftest/001': 'passed', 'selftest/005': 'crashed' });
  }, 30_000);
});

describe('Worker on a hang (real test-hang sample)', () => {
  it('times out the hung test after its deadline and requeues nothing else', async () => {
    const { worker, events, machines } = harness(
      ['selftest/001', 'selftest/004', 'selftest/006'],
      [{ stdout: checkStdout('test-hang'), console: consoleText('test-hang') }],
      { deadlineSec: (item) => (item?.test === 'selftest/006' ? 0.2 : 3600) },
    );
    await worker.run();
    expect(ends(events)).toEqual({ 'selftest/001': 'passed', 'selftest/004': 'notrun', 'selftest/006': 'timedout' });
    const lost = events.find((e) => e.type === 'machine-lost');
    expect(lost).toMatchObject({ reason: 'hang', test: 'selftest/006' });
    // Before the VM was discarded, the guest was asked for blocked-task dumps.
    expect(machines[0]!.commands.some((c) => c.includes('dmesg -n 8; echo w > /proc/sysrq-trigger'))).toBe(true);
  }, 30_000);
});

describe('Worker when QEMU is killed from outside', () => {
  it('records an error for the running test, not a crash', async () => {
    const { worker, events } = harness(
      ['generic/001', 'generic/002'],
      [
        { stdout: 'generic/001       ', console: '', exit: { exitCode: undefined, signal: 'SIGKILL', stderr: '' } },
        { stdout: 'generic/002        3s\n', checkExit: 0 },
      ],
    );
    await worker.run();
    expect(ends(events)).toEqual({ 'generic/001': 'error', 'generic/002': 'passed' });
    const end = events.find((e) => e.type === 'test-end' && e.test === 'generic/001');
    expect(end?.type === 'test-end' && end.outcome.status === 'error' && end.outcome.message).toMatch(/killed by SIGKILL/);
  }, 30_000);
});

describe('Worker with --retries', () => {
  it('reruns a failed test on a fresh VM', async () => {
    const fail = 'selftest/007      - output mismatch (see /r/selftest/007.out.bad)\n    --- a\nRan: selftest/007\nFailures: selftest/007\nFailed 1 of 1 tests\n\n';
    const { worker, events, machines } = harness(
      ['selftest/007'],
      [{ stdout: fail, checkExit: 1 }, { stdout: 'selftest/007        4s\nRan: selftest/007\nPassed all 1 tests\n\n', checkExit: 0 }],
      { retries: 1 },
    );
    await worker.run();
    const attempts = events.flatMap((e) => (e.type === 'test-end' ? [[e.attempt, e.outcome.status, e.machine]] : []));
    expect(attempts).toEqual([
      [1, 'failed', 'vm1'],
      [2, 'passed', 'vm2'],
    ]);
    expect(machines[0]!.disposed).toBe(true);
  }, 30_000);
});

describe('Worker leaves nothing running', () => {
  it('has no timer pending once run() returns, after results, a crash and a hang', async () => {
    // Every timer set while the worker runs must have fired or been cleared by the time it
    // returns: a leaked deadline would later fire on a VM running someone else's batch.
    const { pending, restore } = pendingTimers();
    try {
      const { worker } = harness(
        ['selftest/001', 'selftest/004', 'selftest/006', 'generic/001'],
        [
          { stdout: checkStdout('test-hang'), console: consoleText('test-hang') },
          { stdout: 'generic/001        3s\n', checkExit: 0 },
        ],
        { deadlineSec: (item) => (item?.test === 'selftest/006' ? 0.2 : 3600) },
      );
      await worker.run();
      const panic = harness(
        ['selftest/001', 'selftest/004', 'selftest/005', 'selftest/002'],
        [
          { stdout: checkStdout('kernel-panic-sysrq'), console: consoleText('kernel-panic-sysrq'), exit: { exitCode: 0, signal: undefined, stderr: '' } },
          { stdout: 'selftest/002        4s\n', checkExit: 0 },
        ],
        // The crash grace timer must go with the batch even when it would fire much later.
        { timing: { crashExitGraceMs: 60_000, transportGraceMs: 60_000, sysrqSettleMs: 10 } },
      );
      await panic.worker.run();
      expect(pending.size).toBe(0);
    } finally {
      restore();
    }
  }, 30_000);
});

describe('Worker when a VM dies between two tests', () => {
  it('blames the next test of the batch with a test-begin first, and machine-lost names it', async () => {
    const { worker, events } = harness(
      ['generic/001', 'generic/002', 'generic/003'],
      [
        // generic/001 passed; the VM died before check printed the next test's name.
        { stdout: 'generic/001        3s\n', console: '', exit: { exitCode: undefined, signal: 'SIGKILL', stderr: '' } },
        { stdout: 'generic/003        2s\n', checkExit: 0 },
      ],
    );
    await worker.run();
    const forTest = events.filter((e) => 'test' in e && e.test === 'generic/002').map((e) => e.type);
    expect(forTest).toEqual(['test-begin', 'test-end', 'machine-lost']);
    expect(ends(events)).toEqual({ 'generic/001': 'passed', 'generic/002': 'error', 'generic/003': 'passed' });
    const end = events.find((e) => e.type === 'test-end' && e.test === 'generic/002');
    // One line, with the console's place instead of its text.
    expect(end?.type === 'test-end' && end.outcome.status === 'error' && end.outcome.message).toBe('qemu was killed by SIGKILL (console: results/generic/002.console)');
  }, 30_000);
});

describe('Worker and non-fatal kernel reports', () => {
  it('records the injected WARNING of the real sample as a console-report of selftest/900', async () => {
    const { worker, events } = harness(
      ['generic/455', 'selftest/001', 'selftest/002', 'selftest/003', 'selftest/004', 'selftest/900', 'selftest/901'],
      [{ stdout: checkStdout('selftests-fail-notrun-dmesg-expunge'), console: consoleText('selftests-fail-notrun-dmesg-expunge'), checkExit: 1 }],
    );
    await worker.run();
    const reports = events.filter((e) => e.type === 'console-report');
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ machine: 'vm1', test: 'selftest/900', section: 'xfs', report: { type: 'warning' } });
    expect(events.some((e) => e.type === 'machine-lost')).toBe(false);
  }, 30_000);
});

/** A worker over sections: each section's check results in its own directory. */
function sectionsWorker(deps: Pick<WorkerDeps, 'dispatcher' | 'emit' | 'supply' | 'prepareSection' | 'stopSignal'> & Partial<WorkerDeps>): Worker {
  return new Worker({
    checkCommand: (items) => renderCheckCommand(items[0]!.section, items.map((i) => i.test)),
    guestResultDir: (s) => `/run/kt/results/${s}`,
    createCheckStream,
    batchSize: () => 10,
    deadlineSec: () => 3600,
    saveArtifact: (item, ext) => `results/${item.section}/${item.test}.${ext}`,
    consoleLogOf: (m) => `console/${m.name}.log`,
    maxBootFailures: 3,
    ...deps,
  });
}

describe('Worker across sections', () => {
  it('re-formats the same VM when its next batch is of another section', async () => {
    const prepared: string[] = [];
    const events: EventInput[] = [];
    const machines: ScriptedMachine[] = [];
    const dispatcher = new Dispatcher([
      { section: 'xfs/4k', test: 'generic/001' },
      { section: 'xfs/1k', test: 'generic/001' },
    ]);
    const stopSignal = new AbortController().signal;
    // The boot's result reaches only the first set-up after the boot (TEST_DEV made once: guestSetup.ts).
    const prepareSection = async (m: Machine, section: string, _signal?: AbortSignal, boot?: BootResult) => void prepared.push(`${m.name} ${section}${boot ? ' after its boot' : ''}`);
    const asked: string[] = [];
    const supply = new MachineSupply(
      {
        emit: (e) => void events.push(e),
        createMachine: async (section) => {
          asked.push(section);
          const m = new ScriptedMachine(`vm${machines.length + 1}`, { stdout: 'generic/001        3s\n', checkExit: 0 });
          machines.push(m);
          return m;
        },
        setupGuest: async () => 'ran' as const,
        createConsoleWatcher,
        prepareSection,
        testDevOrigin: (_section, boot) => (boot.kernelRelease ? 'template' : 'mkfs'),
        consoleLogOf: (m) => `console/${m.name}.log`,
        stopSignal,
        maxBootFailures: 3,
      },
      0,
    );
    const worker = sectionsWorker({ dispatcher, emit: (e) => void events.push(e), supply, prepareSection, stopSignal });
    await worker.run();
    await supply.dispose();
    expect(machines).toHaveLength(1);
    // Booted for its first section, which the machine factory hears (its TEST disk may begin as that section's template).
    expect(asked).toEqual(['xfs/4k']);
    expect(prepared).toEqual(['vm1 xfs/4k after its boot', 'vm1 xfs/1k']);
    expect(events.filter((e) => e.type === 'machine-up').map((e) => e.type === 'machine-up' && e.testDev)).toEqual(['template']);
    expect(events.filter((e) => e.type === 'test-end').map((e) => e.type === 'test-end' && `${e.section} ${e.test} ${e.outcome.status}`)).toEqual([
      'xfs/4k generic/001 passed',
      'xfs/1k generic/001 passed',
    ]);
  }, 30_000);
});

describe('Worker and a delayed report across sections', () => {
  /** Each check command prints the next console text, then the next stdout. */
  class SectionsMachine extends FakeMachineBase {
    constructor(
      name: string,
      private readonly runs: { console: string; stdout: string; exit?: MachineExit }[],
    ) {
      super(name);
    }
    async boot() {
      return { bootMs: 1, kernelRelease: '6.1.0-56-cloud-amd64' };
    }
    async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
      this.commands.push(command);
      if (!command.includes('./check')) return { exitCode: 0, stdout: '', stderr: '' };
      const run = this.runs.shift();
      if (!run) throw new Error('no more scripted check runs');
      this.console(run.console);
      await tick();
      opts.onStdout?.(Buffer.from(run.stdout));
      await tick();
      if (run.exit) {
        this.end(run.exit);
        throw new Error('connection lost');
      }
      return { exitCode: 0, stdout: run.stdout, stderr: '' };
    }
  }

  async function runSections(runs: { console: string; stdout: string; exit?: MachineExit }[], work: { section: string; test: string }[]): Promise<EventInput[]> {
    const events: EventInput[] = [];
    const stopSignal = new AbortController().signal;
    let n = 0;
    const supply = new MachineSupply(
      { emit: (e) => void events.push(e), createMachine: async () => new SectionsMachine(`vm${++n}`, n === 1 ? runs : [{ console: '', stdout: 'generic/001        3s\n' }]), setupGuest: async () => 'ran' as const, createConsoleWatcher, prepareSection: async () => {}, consoleLogOf: (m) => `console/${m.name}.log`, stopSignal, maxBootFailures: 3 },
      0,
    );
    const worker = sectionsWorker({
      dispatcher: new Dispatcher(work),
      emit: (e) => void events.push(e),
      supply,
      prepareSection: async () => {},
      stopSignal,
      timing: { consoleQuietMs: 20, transportGraceMs: 20, crashExitGraceMs: 50 },
    });
    try {
      await worker.run();
    } finally {
      await supply.dispose();
    }
    return events;
  }

  it("does not explain this section's run of a test by the hung-task report of the previous section's run of it", async () => {
    // xfs/4k's generic/001 leaves a task blocked; its report comes as xfs/1k's check starts, and
    // then QEMU is killed before check names xfs/1k's generic/001.
    const hung = [
      '[  130.000001] INFO: task kworker/u4:2:57 blocked for more than 120 seconds.',
      '[  130.000002]       Not tainted 6.1.0-56-cloud-amd64 #1 Debian 6.1.192-2',
      '[  130.000003] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
      '[  130.000004] task:kworker/u4:2    state:D stack:0     pid:57    ppid:2      flags:0x00004000',
      '[  130.000005] Call Trace:',
      '[  130.000006]  <TASK>',
      '[  130.000007]  __schedule+0x34d/0x9e0',
      '[  130.000008]  schedule+0x5a/0xd0',
      '[  130.000009]  xfs_ail_push_all_sync+0xb9/0x100 [xfs]',
      '[  130.000010]  process_one_work+0x1c7/0x380',
      '[  130.000011]  </TASK>',
      '',
    ].join('\n');
    const events = await runSections(
      [
        { console: '[   10.000001] run fstests generic/001 at 2026-12-04 06:00:00\n', stdout: 'generic/001        3s\n' },
        { console: hung, stdout: '', exit: { exitCode: undefined, signal: 'SIGKILL', stderr: '' } },
      ],
      [
        { section: 'xfs/4k', test: 'generic/001' },
        { section: 'xfs/1k', test: 'generic/001' },
      ],
    );
    const end = events.find((e) => e.type === 'test-end' && e.section === 'xfs/1k' && e.machine === 'vm1');
    expect(end?.type === 'test-end' && end.outcome).toMatchObject({ status: 'error', message: expect.stringMatching(/^qemu was killed by SIGKILL/) });
    expect(end?.type === 'test-end' && 'crash' in end.outcome && end.outcome.crash).toBeFalsy();
  }, 30_000);

  it("ties a WARNING that names a test of the previous section's batch to that section's attempt, not to the same test queued in this batch", async () => {
    // Section xfs/4k runs generic/001 (its kmsg marker is the last on the console); then section
    // xfs/1k's check starts, and before it names its first test the delayed work of
    // xfs/4k's generic/001 warns. xfs/1k's own generic/001 is queued, not begun.
    const events = await runSections(
      [
      { console: '[   10.000001] run fstests generic/001 at 2026-12-04 06:00:00\n', stdout: 'generic/001        3s\n' },
      {
        console: '[   20.000001] WARNING: CPU: 1 PID: 57 at fs/xfs/xfs_inode.c:1812 xfs_inactive+0x1a/0x2c0 [xfs]\n[   20.000100] ---[ end trace 0000000000000000 ]---\n',
        stdout: 'generic/002        3s\ngeneric/001        3s\n',
      },
      ],
      [
        { section: 'xfs/4k', test: 'generic/001' },
        { section: 'xfs/1k', test: 'generic/002' },
        { section: 'xfs/1k', test: 'generic/001' },
      ],
    );
    expect(events.filter((e) => e.type === 'test-end').map((e) => e.type === 'test-end' && `${e.section} ${e.test}`)).toEqual(['xfs/4k generic/001', 'xfs/1k generic/002', 'xfs/1k generic/001']);
    const reports = events.filter((e) => e.type === 'console-report');
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ machine: 'vm1', test: 'generic/001', section: 'xfs/4k', attempt: 1, report: { type: 'warning' } });
  }, 30_000);
});

describe('Worker with a warm spare', () => {
  it('takes the spare booted ahead after a panic, and the supply disposes the spare it did not need', async () => {
    const { worker, events, machines } = harness(
      ['selftest/001', 'selftest/004', 'selftest/005', 'selftest/002'],
      [
        { stdout: checkStdout('kernel-panic-sysrq'), console: consoleText('kernel-panic-sysrq'), exit: { exitCode: 0, signal: undefined, stderr: '' } },
        { stdout: 'selftest/002        4s\n', checkExit: 0 },
        { stdout: '', checkExit: 0 },
      ],
      { spares: 1 },
    );
    await worker.run();
    expect(ends(events)).toEqual({ 'selftest/001': 'passed', 'selftest/004': 'notrun', 'selftest/005': 'crashed', 'selftest/002': 'passed' });
    // The harness never calls startSparesOnceUp, so take() keeps one standing spare from the
    // start: vm2, up before vm1 is discarded; vm3, booted to stand in for it, was never needed
    // and was disposed with the supply.
    const bootOrder = events.filter((e) => e.type === 'machine-boot').map((e) => e.type === 'machine-boot' && e.machine);
    expect(bootOrder.slice(0, 2)).toEqual(['vm1', 'vm2']);
    const vm2Up = events.findIndex((e) => e.type === 'machine-up' && e.machine === 'vm2');
    const crash = events.findIndex((e) => e.type === 'machine-lost' && e.machine === 'vm1');
    expect(vm2Up).toBeLessThan(crash);
    expect(machines.every((m) => m.disposed)).toBe(true);
  }, 30_000);
});

describe('MachineSupply standing spares', () => {
  it('boots the spare once the workers\' first VMs are up, not beside them', async () => {
    const { events, supply, deps } = harness(
      ['generic/001', 'generic/002'],
      // Boots that take a while, so a spare booted beside them would show as such.
      [{ stdout: 'generic/001        3s\n', checkExit: 0, bootDelayMs: 50 }, { stdout: 'generic/002        3s\n', checkExit: 0, bootDelayMs: 50 }, { stdout: '', checkExit: 0 }],
      { spares: 1, batchSize: () => 1 },
    );
    // As executeRun does: spares asked for before the two workers run.
    supply.startSparesOnceUp('xfs');
    try {
      await Promise.all([new Worker(deps).run(), new Worker(deps).run()]);
    } finally {
      await supply.dispose();
    }
    const at = (type: string, machine: string) => events.findIndex((e) => e.type === type && 'machine' in e && e.machine === machine);
    expect(ends(events)).toEqual({ 'generic/001': 'passed', 'generic/002': 'passed' });
    // vm1 and vm2 are the workers' VMs; vm3, the spare, is asked for only once both are up.
    expect(at('machine-boot', 'vm3')).toBeGreaterThan(at('machine-up', 'vm1'));
    expect(at('machine-boot', 'vm3')).toBeGreaterThan(at('machine-up', 'vm2'));
  }, 30_000);
});

describe('MachineSupply around a crash', () => {
  const panicking: Script = { stdout: checkStdout('kernel-panic-sysrq'), console: consoleText('kernel-panic-sysrq'), exit: { exitCode: 0, signal: undefined, stderr: '' } };
  const bootOrder = (events: EventInput[]) => events.flatMap((e) => (e.type === 'machine-boot' ? [e.machine] : []));
  const at = (events: EventInput[], type: string, machine: string) => events.findIndex((e) => e.type === type && 'machine' in e && e.machine === machine);

  it('without spares, starts the replacement as the panic report begins, before the VM is given up', async () => {
    const { worker, events } = harness(['selftest/001', 'selftest/004', 'selftest/005', 'selftest/002'], [panicking, { stdout: 'selftest/002        4s\n', checkExit: 0 }]);
    await worker.run();
    expect(bootOrder(events)).toEqual(['vm1', 'vm2']);
    expect(at(events, 'machine-boot', 'vm2')).toBeLessThan(at(events, 'machine-lost', 'vm1'));
  }, 30_000);

  it('with a standing spare, the worker takes it and its replacement boots once a test runs on it: no boot more', async () => {
    const { worker, events, supply, machines } = harness(
      ['selftest/001', 'selftest/004', 'selftest/005', 'selftest/002'],
      [panicking, { stdout: 'selftest/002        4s\n', checkExit: 0 }, { stdout: '', checkExit: 0 }, { stdout: '', checkExit: 0 }, { stdout: '', checkExit: 0 }],
      { spares: 1 },
    );
    supply.startSparesOnceUp('xfs');
    await worker.run();
    expect(ends(events)).toMatchObject({ 'selftest/005': 'crashed', 'selftest/002': 'passed' });
    // vm1 the worker's; vm2 the standing spare (booted once vm1 was up), which ran selftest/002
    // (the panic prefetched nothing: a spare stood); vm3 the spare's replacement, booted only
    // once selftest/002 had begun on vm2, so it did not slow check's start-up there.
    expect(bootOrder(events)).toEqual(['vm1', 'vm2', 'vm3']);
    const begin002 = events.findIndex((e) => e.type === 'test-begin' && e.test === 'selftest/002');
    expect(events[begin002]).toMatchObject({ machine: 'vm2' });
    expect(at(events, 'machine-boot', 'vm3')).toBeGreaterThan(begin002);
    expect(machines.every((m) => m.disposed)).toBe(true);
  }, 30_000);

  it('boots no spare after a first boot that ends the run (a host key that is not the pinned one)', async () => {
    const err = new HostError('E_BOOT_HOST_KEY', "vm1: the guest's ssh host key SHA256:x does not match the expected SHA256:y", 'rebuild the image');
    const { supply, deps, events } = harness(['generic/001'], [{ stdout: '', bootError: err }, { stdout: '', checkExit: 0 }], { spares: 1 });
    supply.startSparesOnceUp('xfs');
    try {
      await expect(new Worker(deps).run()).rejects.toThrow(/does not match/);
    } finally {
      await supply.dispose();
    }
    expect(bootOrder(events)).toEqual(['vm1']);
  }, 30_000);
});

describe('Worker when a VM dies after its tests', () => {
  it('records the crash and the lost VM without blaming a test, and runs the rest on a new VM', async () => {
    const { worker, events } = harness(
      ['generic/001', 'generic/002'],
      [
        // generic/001 passed; then the kernel panicked (deferred work) and the VM went away.
        { stdout: 'generic/001        3s\n', console: consoleText('kernel-panic-sysrq'), exit: { exitCode: 1, signal: undefined, stderr: '' } },
        { stdout: 'generic/002        2s\n', checkExit: 0 },
      ],
      { batchSize: () => 1 },
    );
    await worker.run();
    expect(ends(events)).toEqual({ 'generic/001': 'passed', 'generic/002': 'passed' });
    const lost = events.find((e) => e.type === 'machine-lost');
    expect(lost).toMatchObject({ machine: 'vm1', reason: 'crash', crash: { type: 'panic' } });
    expect(lost && 'test' in lost ? lost.test : undefined).toBeUndefined();
  }, 30_000);
});

describe('Worker interrupted while a VM is made ready', () => {
  it('runs nothing of the batch once the stop signal came during set-up', async () => {
    const stop = new AbortController();
    const { worker, events, machines } = harness(['generic/001'], [{ stdout: 'generic/001        3s\n', checkExit: 0 }], {
      stopSignal: stop.signal,
      // SIGINT while the VM makes its TEST_DEV filesystem.
      supplyPrepare: async () => void stop.abort('SIGINT'),
    });
    await worker.run();
    expect(machines).toHaveLength(1);
    expect(machines[0]!.commands.some((c) => c.includes('./check'))).toBe(false);
    expect(events.some((e) => e.type === 'test-begin')).toBe(false);
    expect(machines[0]!.disposed).toBe(true);
  }, 30_000);
});

describe('Worker and a report still open when check ends', () => {
  it('closes it once the console is quiet and records it for the last test', async () => {
    const console = '[   10.000000] run fstests generic/001 at 2026-11-21 23:22:40\n[   11.000000] WARNING: CPU: 0 PID: 1 at fs/xfs/xfs_trans.c:1097 xfs_trans_cancel+0x1/0x2\n';
    const { worker, events } = harness(['generic/001'], [{ stdout: 'generic/001        3s\n', console, checkExit: 0 }], {
      timing: { crashExitGraceMs: 300, transportGraceMs: 50, sysrqSettleMs: 10, consoleQuietMs: 20 },
    });
    await worker.run();
    const reports = events.filter((e) => e.type === 'console-report');
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ test: 'generic/001', report: { type: 'warning' } });
    // Recorded before the VM took other work, in the record's order: after the test's begin.
    const types = events.map((e) => e.type);
    expect(types.indexOf('console-report')).toBeGreaterThan(types.indexOf('test-begin'));
  }, 30_000);
});
