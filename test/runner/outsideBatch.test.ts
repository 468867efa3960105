/**
 * What a VM does while no batch runs on it — its boot and set-up, standing as a spare, waiting
 * for work, after its last batch — and the edges of a batch (a panic read in one console chunk,
 * a Ctrl-C just after a crash or during a section's mkfs). Replays REAL guest output
 * (test/fstests/samples, test/crash-corpus) through a scripted Machine, as worker.test.ts does;
 * ordering is set by explicit hooks (the worker waiting in dispatcher.next(), a command that
 * started), never by how fast this machine runs.
 */
import fs from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { Dispatcher } from '../../src/runner/dispatcher.js';
import type { EventInput } from '../../src/record/events.js';
import { createCheckStream, createConsoleWatcher } from '../../src/runner/adapters.js';
import { Worker, type WorkerDeps } from '../../src/runner/worker.js';
import { MachineSupply } from '../../src/runner/supply.js';
import { MachineWatch } from '../../src/runner/machineWatch.js';
import type { ExecOptions, ExecResult, Machine, MachineExit } from '../../src/vm/machine.js';
import { renderCheckCommand } from '../../src/runner/guestCommands.js';
import { noRetries } from '../../src/runner/dispatcher.js';
import type { BatchTiming } from '../../src/runner/batchRun.js';

const SAMPLES = new URL('../fstests/samples/', import.meta.url);
const CORPUS = new URL('../crash-corpus/', import.meta.url);

/** check's stdout of a sample without kt's harness lines. */
function checkStdout(dir: string): string {
  return fs
    .readFileSync(new URL(`${dir}/check-stdout.txt`, SAMPLES), 'utf8')
    .split(/(?<=\n)/)
    .filter((l) => !l.startsWith('==='))
    .join('');
}
/** A sample's console without the host's timestamps. */
function consoleText(dir: string): string {
  return fs.readFileSync(new URL(`${dir}/console.log`, SAMPLES), 'utf8').replace(/^ *\d+\.\d+ /gm, '');
}
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

class FakeMachine implements Machine {
  readonly argv = ['qemu-system-x86_64'];
  private listeners: ((c: Buffer) => void)[] = [];
  private resolveExit!: (e: MachineExit) => void;
  readonly exited = new Promise<MachineExit>((r) => (this.resolveExit = r));
  private resolveClosed!: () => void;
  readonly transportClosed = new Promise<void>((r) => (this.resolveClosed = r));
  readonly commands: string[] = [];
  disposed = false;
  private dead = false;
  /** Resolves when a command that hangs has started. */
  readonly hanging: Promise<void>;
  private resolveHanging!: () => void;

  constructor(
    readonly name: string,
    private readonly s: Script,
  ) {
    this.hanging = new Promise((r) => (this.resolveHanging = r));
  }

  /** Console bytes in odd-sized reads (the detector must not care where they are cut). */
  console(text: string, chunk = 101): void {
    const b = Buffer.from(text);
    for (let i = 0; i < b.length; i += chunk) for (const l of this.listeners) l(b.subarray(i, i + chunk));
  }
  die(exit: MachineExit): void {
    this.dead = true;
    this.resolveExit(exit);
    this.resolveClosed();
  }
  async boot() {
    if (this.s.bootConsole) this.console(this.s.bootConsole);
    if (this.s.bootError) throw this.s.bootError;
    return { bootMs: 1, kernelRelease: '6.1.0-56-cloud-amd64' };
  }
  onConsole(l: (c: Buffer) => void) {
    this.listeners.push(l);
    return () => (this.listeners = this.listeners.filter((x) => x !== l));
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
  async sysrq() {}
  async dumpGuestMemory() {}
  consoleTail() {
    return '';
  }
  async dispose() {
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
    { emit, createMachine, setupGuest: async () => 'ran' as const, createConsoleWatcher, prepareSection, consoleLogOf: (m) => `console/${m.name}.log`, stopSignal, maxBootFailures: 3 },
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

/** Tracks the timers set from now on, until restore(): `pending` holds those neither fired nor cleared. */
function pendingTimers() {
  const pending = new Set<NodeJS.Timeout>();
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const setSpy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
    const handle: NodeJS.Timeout = realSet(() => {
      pending.delete(handle);
      fn();
    }, ms);
    pending.add(handle);
    return handle;
  }) as typeof setTimeout);
  const clearSpy = vi.spyOn(globalThis, 'clearTimeout').mockImplementation(((handle: NodeJS.Timeout | undefined) => {
    if (handle) pending.delete(handle);
    realClear(handle);
  }) as typeof clearTimeout);
  return {
    pending,
    restore: () => {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    },
  };
}

const ends = (events: EventInput[]) => events.flatMap((e) => (e.type === 'test-end' ? [`${e.test} ${e.outcome.status} ${e.machine}`] : []));
const lostOf = (events: EventInput[], machine: string) => events.filter((e) => e.type === 'machine-lost' && e.machine === machine);

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
});
