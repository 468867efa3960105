/**
 * The worker's failure handling, replaying REAL guest output (fstests-samples) through a
 * scripted Machine: check's stdout as the guest sent it and the kernel console as it was
 * captured. The end-to-end tests do the same with live VMs; these pin the decisions.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/runner/dispatcher.js';
import type { EventInput } from '../../src/record/events.js';
import { createCheckStream, createConsoleWatcher } from '../../src/runner/adapters.js';
import { Worker, type WorkerDeps } from '../../src/runner/worker.js';
import type { Machine, MachineExit } from '../../src/vm/machine.js';
import type { ExecOptions, ExecResult } from '../../src/vm/sshTransport.js';

const SAMPLES = new URL('../fstests/samples/', import.meta.url);
const sample = (p: string) => fs.readFileSync(new URL(p, SAMPLES), 'utf8');

/** The check stdout of a sample without kt's harness lines; the console without host timestamps. */
function checkStdout(dir: string): string {
  return sample(`${dir}/check-stdout.txt`)
    .split(/(?<=\n)/)
    .filter((l) => !l.startsWith('==='))
    .join('');
}
function consoleText(dir: string): string {
  return sample(`${dir}/console.log`).replace(/^ *\d+\.\d+ /gm, '');
}

interface Script {
  /** check's stdout, delivered in pieces. */
  stdout: string;
  /** Console text delivered after the stdout. */
  console?: string;
  /** QEMU exits after the console (undefined: it never exits). */
  exit?: MachineExit;
  /** check's exit status when the stream completes normally. */
  checkExit?: number;
}

class ScriptedMachine implements Machine {
  readonly argv = ['qemu-system-x86_64'];
  private listeners: ((c: Buffer) => void)[] = [];
  private resolveExit!: (e: MachineExit) => void;
  readonly exited = new Promise<MachineExit>((r) => (this.resolveExit = r));
  private resolveClosed!: () => void;
  readonly transportClosed = new Promise<void>((r) => (this.resolveClosed = r));
  readonly commands: string[] = [];
  disposed = false;

  constructor(
    readonly name: string,
    private readonly script: Script,
  ) {}

  async boot() {
    return { bootMs: 1, kernelRelease: '6.1.0-56-cloud-amd64' };
  }
  onConsole(l: (c: Buffer) => void) {
    this.listeners.push(l);
    return () => (this.listeners = this.listeners.filter((x) => x !== l));
  }
  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.commands.push(command);
    if (!command.includes('./check')) return { exitCode: 0, stdout: '', stderr: '' };
    const s = this.script;
    // Odd-sized chunks: the parser and detector must not care where the bytes are cut.
    for (let i = 0; i < s.stdout.length; i += 37) opts.onStdout?.(Buffer.from(s.stdout.slice(i, i + 37)));
    await tick();
    if (s.console !== undefined) {
      const buf = Buffer.from(s.console);
      for (let i = 0; i < buf.length; i += 101) for (const l of this.listeners) l(buf.subarray(i, i + 101));
    }
    if (s.exit) {
      this.resolveExit(s.exit);
      this.resolveClosed();
      return new Promise((_, reject) => setTimeout(() => reject(new Error('connection lost')), 5));
    }
    if (s.checkExit === undefined) {
      // A hang: the stream just stops; only the abort signal ends the command.
      return new Promise((_, reject) => opts.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    }
    return { exitCode: s.checkExit, stdout: s.stdout, stderr: '' };
  }
  async sysrq() {}
  async dumpGuestMemory() {}
  consoleTail() {
    return '';
  }
  async dispose() {
    this.disposed = true;
  }
}

function tick() {
  return new Promise((r) => setTimeout(r, 1));
}

function harness(tests: string[], scripts: Script[], overrides: Partial<WorkerDeps> = {}) {
  const events: EventInput[] = [];
  const machines: ScriptedMachine[] = [];
  const dispatcher = new Dispatcher(tests);
  const deps: WorkerDeps = {
    dispatcher,
    emit: (e) => events.push(e),
    createMachine: async () => {
      const script = scripts[machines.length];
      if (!script) throw new Error('no more scripted machines');
      const m = new ScriptedMachine(`vm${machines.length + 1}`, script);
      machines.push(m);
      return m;
    },
    setupGuest: async () => {},
    createCheckStream,
    createConsoleWatcher,
    batchSize: () => 10,
    deadlineSec: () => 3600,
    saveArtifact: (test, attempt, ext) => `results/${test}.${ext}`,
    consoleLogOf: (m) => `console/${m.name}.log`,
    retries: 0,
    stopSignal: new AbortController().signal,
    maxBootFailures: 3,
    ...overrides,
  };
  return { worker: new Worker(deps), events, machines };
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
      { deadlineSec: (t) => (t === 'selftest/006' ? 0.2 : 3600) },
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
