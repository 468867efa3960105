/**
 * What a VM does while no batch runs on it — its boot and set-up, standing as a spare, waiting
 * for work, after its last batch — and the edges of a batch (a panic read in one console chunk,
 * a Ctrl-C just after a crash or during a section's mkfs). Replays REAL guest output
 * (test/fstests/samples, test/crash-corpus) through a scripted Machine, as worker.test.ts does;
 * ordering is set by explicit hooks (the worker waiting in dispatcher.next(), a command that
 * started), never by how fast this machine runs.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/runner/dispatcher.js';
import type { EventInput } from '../../src/record/events.js';
import { createCheckStream, createConsoleWatcher } from '../../src/runner/adapters.js';
import { Worker, type WorkerDeps } from '../../src/runner/worker.js';
import { MachineSupply } from '../../src/runner/supply.js';
import { MachineWatch } from '../../src/runner/machineWatch.js';
import type { ExecOptions, ExecResult, Machine, MachineExit } from '../../src/vm/machine.js';
import { FakeMachineBase } from './fakeMachine.js';
import { renderCheckCommand } from '../../src/runner/guestCommands.js';
import { noRetries } from '../../src/runner/dispatcher.js';
import type { BatchTiming } from '../../src/runner/batchRun.js';
import { checkStdout, consoleText, pendingTimers } from './realSamples.js';

const CORPUS = new URL('../crash-corpus/', import.meta.url);

/** A crash-corpus console without its header (test/crash-corpus/README.md). */
function corpusConsole(name: string): string {
  const text = fs.readFileSync(new URL(name, CORPUS), 'utf8');
  return text.slice(text.indexOf('\n\n') + 2);
}
const without = (text: string, marker: string) =>
  text
    .split(/(?<=\n)/)
    .filter((l) => !l.includes(marker))
    .join('');

const SIGKILL: MachineExit = { exitCode: undefined, signal: 'SIGKILL', stderr: '' };
const PVPANIC: MachineExit = { exitCode: 1, signal: undefined, stderr: '' };

/** The real WARNING of a test module (crashmod/warn), its console up to the scenario's end. */
const warnLines = corpusConsole('module-warn-on.log').split(/(?<=\n)/);
const warnMarker = warnLines.findIndex((l) => l.includes('run fstests crashmod/warn'));
const warnDone = warnLines.findIndex((l) => l.includes("scenario 'warn' done")) + 1;
/** The same console without the fstests marker: a WARNING during boot or set-up, which no test ran for. */
const BOOT_WARNING = [...warnLines.slice(0, warnMarker), ...warnLines.slice(warnMarker + 1, warnDone)].join('');
/** From the marker on: crashmod/warn's WARNING. */
const TEST_WARNING = warnLines.slice(warnMarker, warnDone).join('');
/**
 * The real pvpanic console (QEMU exits 1 before the report's end: it stops at `</TASK>`) with
 * selftest/005's marker left out: to kt, a panic after selftest/001 ended, from deferred work.
 */
const IDLE_PANIC = without(consoleText('kernel-panic-pvpanic'), 'run fstests selftest/005');

interface Script {
  /** check's stdout (default: nothing, exit 0). */
  stdout?: string;
  checkExit?: number;
  /** check waits for this first. */
  checkAfter?: () => Promise<unknown>;
  /** From this call of check on (1: the first), check refuses to start: exit 1 before any test. */
  refuseFrom?: number;
  /** Console text while the VM boots. */
  bootConsole?: string;
  bootError?: Error;
  /** QEMU dies as its set-up completes (an OOM kill of a VM that just came up). */
  dieWhenReady?: MachineExit;
  /** After check's stdout: this console, then QEMU exits, and check's channel with it. */
  panicInCheck?: string;
  /** Called right after panicInCheck's console (a Ctrl-C that comes then). */
  onPanic?: () => void;
  /** After check's stdout: this console in ONE read, then the guest pauses (--vmcore): check hangs. */
  pauseOnPanic?: string;
  /** The section set-up for this section hangs until the VM is disposed (it ignores any signal). */
  hangSection?: string;
  disposeError?: Error;
}

class FakeMachine extends FakeMachineBase {
  private dead = false;
  private checkCalls = 0;
  /** Resolves when a command that hangs has started. */
  readonly hanging: Promise<void>;
  private resolveHanging!: () => void;

  constructor(
    name: string,
    private readonly s: Script,
  ) {
    super(name);
    this.hanging = new Promise((r) => (this.resolveHanging = r));
  }

  die(exit: MachineExit): void {
    this.dead = true;
    this.end(exit);
  }
  async boot() {
    if (this.s.bootConsole) this.console(this.s.bootConsole);
    if (this.s.bootError) throw this.s.bootError;
    return { bootMs: 1, kernelRelease: '6.1.0-56-cloud-amd64' };
  }
  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    // As the ssh transport: a closed channel refuses, and closing it rejects what runs.
    if (this.dead || this.disposed) throw new Error('ssh connection to the guest is closed');
    this.commands.push(command);
    const closed = this.transportClosed.then(() => Promise.reject(new Error('connection lost while running')));
    closed.catch(() => undefined);
    const s = this.s;
    if (command.startsWith('section ')) {
      if (command === `section ${s.hangSection}`) {
        this.resolveHanging();
        return closed;
      }
      if (s.dieWhenReady) this.die(s.dieWhenReady);
      return { exitCode: 0, stdout: 'KT-SECTION-OK\n', stderr: '' };
    }
    if (!command.includes('./check')) return { exitCode: 0, stdout: '', stderr: '' };
    if (s.refuseFrom !== undefined && ++this.checkCalls >= s.refuseFrom) {
      // fstests' check when its start-up mkfs of SCRATCH_DEV fails (check, run_section).
      return { exitCode: 1, stdout: 'our local _scratch_mkfs routine ...\ncheck: failed to mkfs $SCRATCH_DEV using specified options\n', stderr: '' };
    }
    if (s.checkAfter) await s.checkAfter();
    if (s.stdout) opts.onStdout?.(Buffer.from(s.stdout));
    await new Promise((r) => setImmediate(r));
    if (s.pauseOnPanic !== undefined) {
      this.console(s.pauseOnPanic, Number.MAX_SAFE_INTEGER);
      return new Promise((_, reject) => opts.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    }
    if (s.panicInCheck !== undefined) {
      this.console(s.panicInCheck);
      s.onPanic?.();
      this.die(PVPANIC);
      throw new Error('connection lost while running');
    }
    return { exitCode: s.checkExit ?? 0, stdout: s.stdout ?? '', stderr: '' };
  }
  override async dispose() {
    this.disposed = true;
    if (!this.dead) this.die({ exitCode: undefined, signal: 'SIGTERM', stderr: '' });
    if (this.s.disposeError) throw this.s.disposeError;
  }
}

interface Options {
  spares?: number;
  batch?: number | ((call: number) => number);
  stop?: AbortController;
  timing?: Partial<BatchTiming>;
  sections?: string[];
}

function harness(tests: string[], scripts: Script[], o: Options = {}) {
  const events: EventInput[] = [];
  const machines: FakeMachine[] = [];
  const sections = o.sections ?? ['xfs'];
  const dispatcher = new Dispatcher(
    sections.flatMap((section) => tests.map((test) => ({ section, test }))),
    noRetries,
  );
  const stopSignal = (o.stop ?? new AbortController()).signal;
  const emit = (e: EventInput) => void events.push(e);
  const createMachine = async () => {
    const s = scripts[machines.length];
    if (!s) throw new Error('no more scripted machines');
    const m = new FakeMachine(`vm${machines.length + 1}`, s);
    machines.push(m);
    return m;
  };
  // The section's set-up is a guest command that ignores the stop signal: only disposing the VM
  // (closing its channel) ends it early.
  const prepareSection = async (m: Machine, section: string) => void (await m.exec(`section ${section}`));
  // Short waits: the samples are replayed at once; nothing here depends on how short.
  const timing = { crashExitGraceMs: 300, transportGraceMs: 50, sysrqSettleMs: 10, consoleQuietMs: 20, ...o.timing };
  const supply = new MachineSupply(
    { emit, createMachine, setupGuest: async () => 'ran' as const, createConsoleWatcher, prepareSection, consoleLogOf: (m) => `console/${m.name}.log`, stopSignal, maxBootFailures: 3, timing },
    o.spares ?? 0,
  );
  let calls = 0;
  const batch = o.batch ?? 10;
  const deps: WorkerDeps = {
    dispatcher,
    emit,
    supply,
    prepareSection,
    checkCommand: (items) => renderCheckCommand(items[0]!.section, items.map((i) => i.test)),
    guestResultDir: () => '/run/kt/results/xfs',
    createCheckStream,
    batchSize: () => (typeof batch === 'number' ? batch : batch(++calls)),
    deadlineSec: () => 3600,
    saveArtifact: (item, ext) => `results/${item.test}.${ext}`,
    consoleLogOf: (m) => `console/${m.name}.log`,
    stopSignal,
    maxBootFailures: 3,
    timing,
  };
  /** Runs `workers` workers to the end, then disposes the supply (as executeRun does). */
  const run = async (workers = 1) => {
    try {
      await Promise.all(Array.from({ length: workers }, () => new Worker(deps).run()));
    } finally {
      await supply.dispose();
    }
  };
  /**
   * Calls `hook` at the nth call of dispatcher.next() by any worker: as it is made ('asked': the
   * worker is waiting for work from then on) or as it is answered. Returns a promise of the ask.
   */
  const onNext = (nth: number, when: 'asked' | 'answered', hook: () => void): Promise<void> => {
    const next = dispatcher.next.bind(dispatcher);
    let n = 0;
    let asked!: () => void;
    const wasAsked = new Promise<void>((resolve) => (asked = resolve));
    dispatcher.next = async (size, section) => {
      const mine = ++n === nth;
      if (mine) {
        asked();
        if (when === 'asked') hook();
      }
      const batch = await next(size, section);
      if (mine && when === 'answered') hook();
      return batch;
    };
    return wasAsked;
  };
  return { events, machines, supply, deps, dispatcher, run, onNext };
}

/** Resolves once the first VM exists and a command of it that hangs has started. */
function firstMachineHangs(machines: readonly FakeMachine[]): Promise<void> {
  return new Promise<void>((resolve) => {
    const wait = () => (machines[0] ? void machines[0].hanging.then(resolve) : setImmediate(wait));
    wait();
  });
}

const ends = (events: EventInput[]) => events.flatMap((e) => (e.type === 'test-end' ? [`${e.test} ${e.outcome.status} ${e.machine}`] : []));
const lostOf = (events: EventInput[], machine: string) => events.filter((e) => e.type === 'machine-lost' && e.machine === machine);

describe('MachineWatch.attach', () => {
  it('tells a listener attached after QEMU exited and the channel dropped, at once', async () => {
    const m = new FakeMachine('vm1', {});
    const watch = new MachineWatch(m, createConsoleWatcher());
    m.die(SIGKILL);
    await m.exited;
    await new Promise((r) => setImmediate(r));
    const heard: string[] = [];
    const detach = watch.attach({ onChunk: () => undefined, onReport: () => undefined, onExit: (e) => heard.push(`exit ${e.signal}`), onTransportClosed: () => heard.push('transport') });
    expect(heard).toEqual(['exit SIGKILL', 'transport']);
    detach();
    watch.dispose();
  });
});

describe('A spare that died while it stood', () => {
  it('is recorded as lost without blaming a test; the batch runs on another VM', async () => {
    const { events, machines, run } = harness(
      ['selftest/001', 'selftest/004', 'selftest/005', 'generic/002'],
      [
        // vm1: the real sysrq panic sample in selftest/005.
        { stdout: checkStdout('kernel-panic-sysrq'), panicInCheck: consoleText('kernel-panic-sysrq') },
        // vm2: the standing spare, killed (OOM) as soon as it was up.
        { dieWhenReady: SIGKILL },
        { stdout: 'generic/002        2s\n' },
        {},
      ],
      { spares: 1, batch: 3 },
    );
    await run();
    expect(ends(events)).toEqual(['selftest/001 passed vm1', 'selftest/004 notrun vm1', 'selftest/005 crashed vm1', 'generic/002 passed vm3']);
    const lost = lostOf(events, 'vm2');
    expect(lost).toEqual([expect.objectContaining({ reason: 'qemu-exit', message: 'qemu was killed by SIGKILL (before its first batch)' })]);
    expect(lost[0]).not.toHaveProperty('test');
    // vm2 never ran check, and no test was begun on it.
    expect(machines[1]!.commands.some((c) => c.includes('./check'))).toBe(false);
    expect(events.some((e) => e.type === 'test-begin' && e.machine === 'vm2')).toBe(false);
    expect(machines.every((m) => m.disposed)).toBe(true);
  }, 30_000);

  it('ends the run when every VM dies before its first batch, blaming no test', async () => {
    const { events, run } = harness(['generic/001'], [{ dieWhenReady: SIGKILL }, { dieWhenReady: SIGKILL }, { dieWhenReady: SIGKILL }]);
    await expect(run()).rejects.toMatchObject({ code: 'E_BOOT_FAILED', message: expect.stringMatching(/^3 VMs in a row .*vm3: qemu was killed by SIGKILL/) });
    expect(events.filter((e) => e.type === 'machine-lost').map((e) => e.type === 'machine-lost' && e.reason)).toEqual(['qemu-exit', 'qemu-exit', 'qemu-exit']);
    expect(events.some((e) => e.type === 'test-begin' || e.type === 'test-end')).toBe(false);
  }, 30_000);
});

describe('check that will not start', () => {
  it('on a VM that ran tests: that VM goes with a warning, and its batch runs on a fresh one', async () => {
    const { events, run } = harness(['selftest/001', 'selftest/004'], [{ stdout: 'selftest/001        6s\n', refuseFrom: 2 }, { stdout: 'selftest/004        2s\n' }], { batch: 1 });
    await run(1);
    expect(ends(events)).toEqual(['selftest/001 passed vm1', 'selftest/004 passed vm2']);
    const warnings = events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    expect(warnings).toEqual([expect.stringMatching(/^vm1 is discarded: check would not start on it after 1 test \(the last: selftest\/001\): fstests' check exited 1 before running any test:\n.*\ncheck: failed to mkfs/)]);
  });

  it('on a fresh VM: the tree cannot be used, and the run ends with the error and its lines', async () => {
    const { events, run } = harness(['selftest/001', 'selftest/004'], [{ refuseFrom: 1 }, { stdout: 'selftest/001        6s\n' }]);
    await expect(run(1)).rejects.toMatchObject({ code: 'E_GUEST_SETUP_CHECK', message: expect.stringContaining('failed to mkfs $SCRATCH_DEV') });
    expect(ends(events)).toEqual([]);
  });

  it('on every VM, each after a test: every test still runs, one VM per test (each VM that goes ran one)', async () => {
    const { events, run } = harness(
      ['selftest/001', 'selftest/004', 'selftest/005', 'selftest/006'],
      ['001', '004', '005', '006'].map((t) => ({ stdout: `selftest/${t}        6s\n`, refuseFrom: 2 })),
      { batch: 1 },
    );
    await run(1);
    expect(ends(events)).toEqual(['selftest/001 passed vm1', 'selftest/004 passed vm2', 'selftest/005 passed vm3', 'selftest/006 passed vm4']);
    expect(events.filter((e) => e.type === 'warning')).toHaveLength(3);
  });
});

describe('A panic after a test failed, before check began the next', () => {
  it('keeps the failed outcome, blames no test, and runs the next test on another VM', async () => {
    // Real check lines of a failed test; then the kernel panics in check's work after it (a
    // TEST_DEV repair), so the console's last fstests marker is that test's.
    const failed = checkStdout('selftests-fail-notrun-dmesg-expunge')
      .split(/(?<=\n)/)
      .filter((l, i, all) => i >= all.findIndex((x) => x.startsWith('selftest/002 ')) && i < all.findIndex((x) => x.startsWith('selftest/003 ')))
      .join('');
    expect(failed).toMatch(/^selftest\/002 +- output mismatch/);
    const panic = consoleText('kernel-panic-sysrq')
      .split(/(?<=\n)/)
      .filter((l) => !/run fstests selftest\/00[2-4]/.test(l))
      .join('')
      .replace('run fstests selftest/005', 'run fstests selftest/002');
    const { events, run } = harness(['selftest/002', 'selftest/006'], [{ stdout: failed, panicInCheck: panic }, { stdout: 'selftest/006        1s\n' }]);
    await run(1);
    expect(ends(events)).toEqual(['selftest/002 failed vm1', 'selftest/006 passed vm2']);
    const lost = lostOf(events, 'vm1');
    expect(lost).toEqual([expect.objectContaining({ reason: 'crash', message: expect.stringContaining("(after selftest/002's result: check's work after that test, or its delayed work)") })]);
    expect(lost[0]).not.toHaveProperty('test');
    expect(events.flatMap((e) => (e.type === 'test-begin' && e.test === 'selftest/006' ? [e.machine] : []))).toEqual(['vm2']);
  }, 30_000);
});

describe('A VM that panicked while it waited for work', () => {
  // vm1 runs selftest/001 and then waits (the queue is empty, vm2 still runs); vm2's panic puts
  // generic/002 back; vm1 is handed it.
  const vm2Panics: Script = { stdout: checkStdout('kernel-panic-sysrq'), panicInCheck: consoleText('kernel-panic-sysrq') };
  const tests = ['selftest/001', 'selftest/004', 'selftest/005', 'generic/002'];

  /** Batches: vm1 [selftest/001], vm2 the rest; vm2's check starts once vm1's worker waits for work (its next() call, the third). */
  function twoVms(o: Options = {}) {
    let waiting: Promise<void> = Promise.resolve();
    const h = harness(tests, [{ stdout: 'selftest/001        6s\n' }, { ...vm2Panics, checkAfter: () => waiting }, { stdout: 'generic/002        2s\n' }], { batch: (call) => (call === 1 ? 1 : 3), ...o });
    return { ...h, waitingFrom: (when: 'asked' | 'answered', hook: () => void) => (waiting = h.onNext(3, when, hook)) };
  }

  it('is recorded as a crash with its report, read whole from a pvpanic console that ends mid-report', async () => {
    const { events, machines, run, waitingFrom } = twoVms();
    // vm1's kernel panics from deferred work while its worker waits for its second batch; QEMU
    // exits 1 (pvpanic) before the report's end line.
    waitingFrom('asked', () => {
      machines[0]!.console(IDLE_PANIC);
      machines[0]!.die(PVPANIC);
    });
    await run(2);
    const lost = lostOf(events, 'vm1');
    expect(lost).toEqual([
      expect.objectContaining({ reason: 'crash', message: 'kernel panic: sysrq triggered crash (while the VM waited for work; the last test it ran: selftest/001)', crash: expect.objectContaining({ type: 'panic' }) }),
    ]);
    expect(lost[0]).not.toHaveProperty('test');
    expect(ends(events)).toEqual(['selftest/001 passed vm1', 'selftest/004 notrun vm2', 'selftest/005 crashed vm2', 'generic/002 passed vm3']);
  }, 30_000);

  it('waits for QEMU to exit after a report that has only begun, and records the crash', async () => {
    // Far longer than the exit takes: the wait ends with the exit, not the grace.
    const { events, machines, run, waitingFrom } = twoVms({ timing: { crashExitGraceMs: 60_000 } });
    // The panic begins as the worker is handed its batch; QEMU exits a moment after the worker
    // looked at the VM: the report is still open then.
    waitingFrom('answered', () => {
      machines[0]!.console(IDLE_PANIC);
      setImmediate(() => machines[0]!.die(PVPANIC));
    });
    const timers = pendingTimers();
    try {
      await run(2);
    } finally {
      timers.restore();
    }
    expect(lostOf(events, 'vm1')).toEqual([expect.objectContaining({ reason: 'crash', crash: expect.objectContaining({ title: 'kernel panic: sysrq triggered crash' }) })]);
    // The 60 s grace went with the wait: nothing is left to fire after the run.
    expect(timers.pending.size).toBe(0);
  }, 30_000);

  it('closes the report of a guest that stays paused on panic after the grace', async () => {
    const { events, machines, run, waitingFrom } = twoVms();
    waitingFrom('asked', () => machines[0]!.console(IDLE_PANIC));
    await run(2);
    expect(lostOf(events, 'vm1')).toEqual([expect.objectContaining({ reason: 'crash', crash: expect.objectContaining({ type: 'panic' }) })]);
    expect(ends(events)).toContain('generic/002 passed vm3');
  }, 30_000);
});

describe('What a VM says after its last batch', () => {
  it('records a panic that comes while its worker waits for the slowest VM', async () => {
    const { events, machines, run, onNext } = harness(
      ['selftest/001', 'generic/002'],
      // vm2's check starts only once vm1 has died: vm1's worker is waiting for work by then.
      [{ stdout: 'selftest/001        6s\n' }, { stdout: 'generic/002        2s\n', checkAfter: () => machines[0]!.exited }],
      { batch: 1 },
    );
    onNext(3, 'asked', () => {
      machines[0]!.console(IDLE_PANIC);
      machines[0]!.die(PVPANIC);
    });
    await run(2);
    expect(ends(events)).toEqual(['selftest/001 passed vm1', 'generic/002 passed vm2']);
    const lost = lostOf(events, 'vm1');
    expect(lost).toEqual([expect.objectContaining({ reason: 'crash', message: 'kernel panic: sysrq triggered crash (after its last batch; the last test it ran: selftest/001)' })]);
    expect(lost[0]).not.toHaveProperty('test');
  }, 30_000);

  it('records a WARNING of its last test that comes after check ended, tied to that test', async () => {
    const { events, machines, run, onNext } = harness(['crashmod/warn'], [{ stdout: 'crashmod/warn      1s\n' }]);
    // The worker asks for work after its batch: none is left; the WARNING comes then.
    onNext(2, 'asked', () => machines[0]!.console(TEST_WARNING));
    await run();
    const reports = events.filter((e) => e.type === 'console-report');
    expect(reports).toEqual([expect.objectContaining({ machine: 'vm1', test: 'crashmod/warn', section: 'xfs', attempt: 1, report: expect.objectContaining({ title: 'WARNING in crashmod_warn' }) })]);
    expect(events.findIndex((e) => e.type === 'console-report')).toBeGreaterThan(events.findIndex((e) => e.type === 'test-end'));
    expect(events.some((e) => e.type === 'machine-lost')).toBe(false);
  }, 30_000);
});

describe('A WARNING during boot and set-up', () => {
  it('is recorded, tied to no test, on a VM that runs one batch', async () => {
    const { events, run } = harness(['generic/001'], [{ stdout: 'generic/001        3s\n', bootConsole: BOOT_WARNING }]);
    await run();
    const at = events.findIndex((e) => e.type === 'console-report');
    expect(events[at]).toMatchObject({ machine: 'vm1', report: { type: 'warning', title: 'WARNING in crashmod_warn' } });
    expect(events[at]).not.toHaveProperty('test');
    // Before the VM's first test: the record keeps the order things happened in.
    expect(at).toBeLessThan(events.findIndex((e) => e.type === 'test-begin'));
    expect(events.some((e) => e.type === 'machine-lost')).toBe(false);
  }, 30_000);

  it('is recorded for a spare nobody took, when the supply ends', async () => {
    const { events, run } = harness(['generic/001'], [{ stdout: 'generic/001        3s\n' }, { bootConsole: BOOT_WARNING }], { spares: 1 });
    await run();
    expect(events.filter((e) => e.type === 'console-report')).toEqual([expect.objectContaining({ machine: 'vm2', report: expect.objectContaining({ type: 'warning' }) })]);
  }, 30_000);

  it('is recorded for a VM whose boot then failed, before its machine-lost', async () => {
    const { events, run } = harness(['generic/001'], [{ bootConsole: BOOT_WARNING, bootError: new Error('vm1 did not answer within 300 s') }, { stdout: 'generic/001        3s\n' }]);
    await run();
    const vm1 = events.filter((e) => 'machine' in e && e.machine === 'vm1').map((e) => e.type);
    expect(vm1).toEqual(['machine-boot', 'console-report', 'machine-lost']);
    expect(lostOf(events, 'vm1')).toEqual([expect.objectContaining({ reason: 'boot-failure', message: 'vm1 did not answer within 300 s' })]);
    expect(ends(events)).toEqual(['generic/001 passed vm2']);
  }, 30_000);
});

describe('A panic whose whole report arrives in one console read, with --vmcore', () => {
  // The guest pauses on panic (no QEMU exit, no further console): only the crash grace ends check.
  it.each(['kernel-panic-pvpanic', 'kernel-panic-sysrq'])('%s: the test crashed and the vmcore is saved, not a timeout at the deadline', async (sample) => {
    const { events, deps, run } = harness(['selftest/001', 'selftest/004', 'selftest/005'], [{ stdout: checkStdout(sample), pauseOnPanic: consoleText(sample) }, {}]);
    const vmcores: string[] = [];
    deps.saveVmcore = async (m) => {
      vmcores.push(m.name);
      return `vmcore/${m.name}.elf`;
    };
    // Far beyond the crash grace: reaching it would mean the panic went unnoticed.
    deps.deadlineSec = () => 30;
    await run();
    expect(ends(events)).toContain('selftest/005 crashed vm1');
    expect(vmcores).toEqual(['vm1']);
    expect(lostOf(events, 'vm1')).toEqual([expect.objectContaining({ reason: 'crash', test: 'selftest/005', vmcore: 'vmcore/vm1.elf' })]);
  }, 90_000);

  it('a dump that fails is a warning that says why; the crash is recorded all the same', async () => {
    const { events, deps, run } = harness(['selftest/001', 'selftest/004', 'selftest/005'], [{ stdout: checkStdout('kernel-panic-pvpanic'), pauseOnPanic: consoleText('kernel-panic-pvpanic') }, {}]);
    deps.saveVmcore = () => Promise.reject(new Error('vm1: dump-guest-memory failed: No space left on device'));
    deps.deadlineSec = () => 30;
    await run();
    expect(ends(events)).toContain('selftest/005 crashed vm1');
    expect(lostOf(events, 'vm1')).toEqual([expect.not.objectContaining({ vmcore: expect.anything() })]);
    expect(events.filter((e) => e.type === 'warning').map((e) => e.message)).toContain('no vmcore of vm1: vm1: dump-guest-memory failed: No space left on device');
  }, 90_000);
});

describe('Ctrl-C', () => {
  it.each(['kernel-panic-sysrq', 'kernel-panic-pvpanic'])('%s: just after a crash, the crash is still recorded', async (sample) => {
    const stop = new AbortController();
    const { events, run } = harness(['selftest/001', 'selftest/004', 'selftest/005', 'generic/002'], [{ stdout: checkStdout(sample), panicInCheck: consoleText(sample), onPanic: () => stop.abort('SIGINT') }, {}], { stop });
    await run();
    expect(ends(events)).toContain('selftest/005 crashed vm1');
    expect(lostOf(events, 'vm1')).toEqual([expect.objectContaining({ reason: 'crash', test: 'selftest/005' })]);
    // Nothing else ran after the stop.
    expect(events.some((e) => e.type === 'test-begin' && e.test === 'generic/002')).toBe(false);
  }, 30_000);

  it("stops a new VM's section mkfs at once", async () => {
    const stop = new AbortController();
    const { events, machines, run } = harness(['generic/001'], [{ hangSection: 'xfs' }], { stop });
    const done = run();
    await firstMachineHangs(machines);
    stop.abort('SIGINT');
    // Returns without the guest command's own timeout (minutes): the VM was disposed.
    await done;
    expect(machines[0]!.disposed).toBe(true);
    expect(events.some((e) => e.type === 'test-begin' || e.type === 'machine-lost')).toBe(false);
  }, 30_000);

  it("stops the section switch's mkfs of a VM that ran tests, at once", async () => {
    const stop = new AbortController();
    const { events, machines, run } = harness(['generic/001'], [{ stdout: 'generic/001        3s\n', hangSection: 'xfs/1k' }], { stop, sections: ['xfs/4k', 'xfs/1k'], batch: 1 });
    const done = run();
    await firstMachineHangs(machines);
    stop.abort('SIGINT');
    await done;
    expect(machines[0]!.disposed).toBe(true);
    expect(ends(events)).toEqual(['generic/001 passed vm1']);
  }, 30_000);
});

describe('A VM whose disposal fails', () => {
  it('is reported as a warning, never as an unhandled rejection, from a worker and from a failed spare', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { events, run } = harness(
        ['generic/001'],
        [
          { stdout: 'generic/001        3s\n', disposeError: new Error('qemu would not die') },
          { bootError: new Error('vm2 did not answer within 300 s'), disposeError: new Error('rm: cannot remove') },
        ],
        { spares: 1 },
      );
      await run();
      await new Promise((r) => setImmediate(r));
      expect(ends(events)).toEqual(['generic/001 passed vm1']);
      const warnings = events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
      expect(warnings).toContain('kt could not stop vm1: qemu would not die');
      expect(warnings).toContain('kt could not stop vm2: rm: cannot remove');
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  }, 30_000);
});
