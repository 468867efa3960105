/**
 * A simulated VM behind kt's Machine interface (src/vm/machine.ts). Time passes only through
 * setTimeout, so under the virtual clock (virtualClock.ts) a boot or a test costs no real time.
 *
 * What it answers is what kt's guest steps expect (src/runner/guestCommands.ts): the set-up
 * and section scripts print their OK markers, artifact fetches find no files, and the check
 * command of a batch streams check's real stdout format over simulated time — the header, then
 * per test its name padded as check prints it, and ` <N>s` when it passes or `[not run] <reason>`
 * when it is not run (fstests' check: no time for those). The kernel console
 * gets fstests' `run fstests <test> at <time>` kmsg marker before each test (fstests' common/rc
 * `_test_kmsg` … written by check), a real panic report for an injected crash, and nothing at
 * all for an injected hang (the runner's test deadline must end it).
 */
import type { BootResult, ExecOptions, ExecResult, Machine, MachineExit } from '../../vm/machine.js';

/** What happens to a test the first time it runs ('notrun': every time). */
export type Fate = 'pass' | 'crash' | 'hang' | 'notrun';

/** One `check` invocation as the simulated guest saw it. */
export interface CheckRecord {
  machine: string;
  startMs: number;
  endMs?: number;
  tests: string[];
  /** Tests that completed (printed their time). */
  completed: number;
  end?: 'exit' | 'crash' | 'killed';
}

export interface BootRecord {
  machine: string;
  startMs: number;
  endMs?: number;
}

/** The simulated guests' world: durations, injected faults, and the log of what ran. */
export interface GuestModel {
  durationSec(test: string): number;
  /** Decided once per test: a later run (a retry) passes. */
  fate(test: string): Fate;
  bootSec: number;
  /** check's own start-up per invocation (sourcing common/rc, mounting TEST_DEV, ...). */
  checkStartSec: number;
  checkHeader: string;
  panicConsole: string;
  checks: CheckRecord[];
  boots: BootRecord[];
}

/** check prints a name padded to 12 columns, then awk's 7-blank "no previous time" (fstests' check). */
const NAME_WIDTH = 12;
const NO_PREVIOUS_TIME = '       ';
/** What check prints for a test that called _notrun (its reason is the test's own; this one names the simulation). */
const NOT_RUN_REASON = '[not run] not run in the recorded run (--notrun)';
/** pvpanic: QEMU exits 1 right after the panic (`-action panic=exit-failure`, qemu-options.hx). */
const PANIC_EXIT_MS = 100;
export const SIM_KERNEL_RELEASE = '6.6.0-sim';

/** The tests of a check command rendered by renderCheckCommand (words after --exact-order). */
export function checkTestsOf(command: string): string[] | undefined {
  const at = command.indexOf(' ./check --exact-order ');
  if (at < 0) return undefined;
  return shellWords(command.slice(at + ' ./check --exact-order '.length));
}

/** POSIX words of text made by src/util/shell.ts shellJoin: bare words and '...' with '\'' escapes. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated quote in: ${text}`);
      word += text.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (c === ' ') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

class Aborted extends Error {
  override name = 'AbortError';
}

/** A simulated-time wait that ends early (rejecting) when any signal aborts. */
function sleep(ms: number, signals: readonly (AbortSignal | undefined)[]): Promise<void> {
  const live = signals.filter((s): s is AbortSignal => s !== undefined);
  return new Promise((resolve, reject) => {
    if (live.some((s) => s.aborted)) {
      reject(new Aborted('aborted'));
      return;
    }
    const cleanup = () => {
      for (const s of live) s.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      clearTimeout(timer);
      cleanup();
      reject(new Aborted('aborted'));
    };
    const timer = setTimeout(() => {
      cleanup();
      resolve();
    }, ms);
    for (const s of live) s.addEventListener('abort', onAbort, { once: true });
  });
}

/** Never resolves; rejects when a signal aborts (a hung guest answers nothing). */
function untilAborted(signals: readonly (AbortSignal | undefined)[]): Promise<never> {
  const live = signals.filter((s): s is AbortSignal => s !== undefined);
  return new Promise((_, reject) => {
    const onAbort = () => {
      for (const s of live) s.removeEventListener('abort', onAbort);
      reject(new Aborted('aborted'));
    };
    if (live.some((s) => s.aborted)) onAbort();
    else for (const s of live) s.addEventListener('abort', onAbort, { once: true });
  });
}

function ok(stdout: string): ExecResult {
  return { exitCode: 0, stdout, stderr: '' };
}

export class SimulatedMachine implements Machine {
  readonly argv: string[];
  private readonly listeners = new Set<(chunk: Buffer) => void>();
  private readonly tail: string[] = [];
  private state: 'new' | 'up' | 'dead' = 'new';
  private bootedAt = 0;
  /** Aborted when the VM dies (panic, dispose): ends its pending waits and commands. */
  private readonly death = new AbortController();
  private resolveExit!: (exit: MachineExit) => void;
  readonly exited = new Promise<MachineExit>((resolve) => (this.resolveExit = resolve));
  private resolveClosed!: () => void;
  readonly transportClosed = new Promise<void>((resolve) => (this.resolveClosed = resolve));

  constructor(
    readonly name: string,
    private readonly model: GuestModel,
  ) {
    this.argv = ['simulated-vm', name];
  }

  async boot(signal: AbortSignal): Promise<BootResult> {
    const record: BootRecord = { machine: this.name, startMs: Date.now() };
    this.model.boots.push(record);
    await sleep(this.model.bootSec * 1000, [signal, this.death.signal]);
    record.endMs = Date.now();
    this.state = 'up';
    this.bootedAt = Date.now();
    return { bootMs: record.endMs - record.startMs, kernelRelease: SIM_KERNEL_RELEASE };
  }

  onConsole(listener: (chunk: Buffer) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.state !== 'up') throw new Error(`${this.name}: the command channel is closed`);
    const tests = checkTestsOf(command);
    if (tests) return this.check(tests, opts);
    if (command.includes('echo KT-SETUP-OK')) return ok('KT-SETUP-OK\n');
    if (command.includes('echo KT-SECTION-OK')) return ok('KT-SECTION-OK\n');
    if (command.includes('@@KT-FILE')) return ok('');
    if (command.includes('/proc/sysrq-trigger')) return ok('');
    // A command kt learns later must be taught to the simulation, not silently passed.
    throw new Error(`${this.name}: the simulated guest does not know this command: ${command.slice(0, 120)}`);
  }

  async sysrq(): Promise<void> {}

  async dumpGuestMemory(): Promise<void> {}

  consoleTail(lines: number): string {
    return this.tail.slice(-lines).join('');
  }

  async dispose(): Promise<void> {
    this.die({ exitCode: undefined, signal: 'SIGKILL', stderr: '' });
  }

  private die(exit: MachineExit): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    this.death.abort();
    this.resolveExit(exit);
    this.resolveClosed();
  }

  private console(text: string): void {
    this.tail.push(text);
    if (this.tail.length > 200) this.tail.splice(0, 100);
    const chunk = Buffer.from(text);
    for (const l of this.listeners) l(chunk);
  }

  private uptime(): string {
    return ((Date.now() - this.bootedAt) / 1000).toFixed(6).padStart(12);
  }

  private async check(tests: string[], opts: ExecOptions): Promise<ExecResult> {
    const record: CheckRecord = { machine: this.name, startMs: Date.now(), tests, completed: 0 };
    this.model.checks.push(record);
    const signals = [opts.signal, this.death.signal];
    const out: string[] = [];
    const write = (text: string) => {
      out.push(text);
      opts.onStdout?.(Buffer.from(text));
    };
    const end = (how: NonNullable<CheckRecord['end']>) => {
      record.end = how;
      record.endMs = Date.now();
    };
    const notrun: string[] = [];
    try {
      await sleep(this.model.checkStartSec * 1000, signals);
      write(this.model.checkHeader);
      for (const test of tests) {
        const stamp = new Date().toISOString().replace('T', ' ').slice(0, 19);
        this.console(`[${this.uptime()}] run fstests ${test} at ${stamp}\n`);
        write(test.padEnd(NAME_WIDTH) + NO_PREVIOUS_TIME);
        const seconds = this.model.durationSec(test);
        const fate = this.model.fate(test);
        if (fate === 'crash') {
          await sleep((seconds * 1000) / 2, signals);
          this.console(this.model.panicConsole);
          await sleep(PANIC_EXIT_MS, signals);
          end('crash');
          this.die({ exitCode: 1, signal: undefined, stderr: '' });
          throw new Error(`${this.name}: connection lost`);
        }
        // A hang: nothing more on stdout or the console until kt gives up on the test.
        if (fate === 'hang') await untilAborted(signals);
        await sleep(seconds * 1000, signals);
        if (fate === 'notrun') {
          notrun.push(test);
          write(`${NOT_RUN_REASON}\n`);
        } else write(` ${seconds}s\n`);
        record.completed++;
      }
      // check's summary (fstests' check _wrapup): "Not run:" only when some were; "Passed all"
      // counts every test tried, those not run too (${#try[*]}).
      write(`Ran: ${tests.join(' ')}\n${notrun.length ? `Not run: ${notrun.join(' ')}\n` : ''}Passed all ${tests.length} tests\n\n`);
      end('exit');
      return { exitCode: 0, stdout: out.join(''), stderr: '' };
    } catch (err) {
      if (!record.end) end('killed');
      throw err;
    }
  }
}
