/**
 * Live progress while `kt run` works, fed the same events that go to events.jsonl.
 * On a TTY: a per-VM status block redrawn in place (log-update, at most 4 times a second), with
 * failures printed above it so they stay in the scrollback. Otherwise (CI logs, pipes): one plain
 * line per event, e.g. `[vm1] generic/001 passed 12s`.
 *
 * Events can arrive in any order (a test-end for a VM never booted, events before run-start): the
 * reducer treats everything as optional and the reporter never throws.
 */
import { createLogUpdate } from 'log-update';
import type { RunEvent } from '../record/events.js';
import { isFailingStatus, type TestStatus } from '../record/outcome.js';
import { createColors, type Colors } from './color.js';
import { formatDuration, STATUS_LABEL, STATUS_ORDER } from './format.js';
import { toTerminalText } from './textSafety.js';
import { testKey } from '../record/testKey.js';

/** Minimum time between two redraws of the TTY block (≤ 4 redraws per second). */
export const REDRAW_INTERVAL_MS = 250;

/** What one VM is doing. */
export interface MachineProgress {
  /** VM name. */
  name: string;
  /** Its state. */
  state: 'booting' | 'idle' | 'running' | 'lost' | 'done';
  /** Test it runs (state running). */
  test?: string;
  /** Attempt of that test. */
  attempt?: number;
  /** Epoch ms the state began, for the elapsed column. */
  sinceMs: number;
  /** Why it was lost. */
  lostReason?: string;
}

/** Everything the live display shows; built only by reduceProgress. */
export interface ProgressState {
  /** Tests in the plan (0 until run-start). */
  planned: number;
  /** Latest status of each finished test (a retry overwrites). */
  statuses: ReadonlyMap<string, TestStatus>;
  /** VMs in order of first appearance. */
  machines: ReadonlyMap<string, MachineProgress>;
  /** Epoch ms of run-start (or the first event). */
  startedMs?: number;
  /** Set once run-end arrived. */
  ended?: 'completed' | 'interrupted' | 'error';
}

/** The state before any event. */
export function initialProgress(): ProgressState {
  return { planned: 0, statuses: new Map(), machines: new Map() };
}

function eventMs(ts: unknown, fallbackMs: number): number {
  const ms = typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
  return Number.isFinite(ms) ? ms : fallbackMs;
}

/** Applies one event (pure: returns a new state, never throws on odd order or shape). */
export function reduceProgress(state: ProgressState, event: RunEvent, nowMs: number): ProgressState {
  const at = eventMs(event.ts, nowMs);
  const startedMs = state.startedMs ?? at;
  const setMachine = (name: unknown, patch: Omit<MachineProgress, 'name'>): ProgressState => {
    if (typeof name !== 'string') return { ...state, startedMs };
    const machines = new Map(state.machines);
    machines.set(name, { name, ...patch });
    return { ...state, startedMs, machines };
  };
  switch (event.type) {
    case 'run-start':
      return { ...state, startedMs: at, planned: Array.isArray(event.tests) ? event.tests.length : state.planned };
    case 'machine-boot':
      return setMachine(event.machine, { state: 'booting', sinceMs: at });
    case 'machine-up':
      return setMachine(event.machine, { state: 'idle', sinceMs: at });
    case 'machine-lost':
      return setMachine(event.machine, { state: 'lost', sinceMs: at, lostReason: String(event.reason) });
    case 'test-begin':
      return setMachine(event.machine, { state: 'running', test: event.test, attempt: event.attempt, sinceMs: at });
    case 'test-end': {
      const status = event.outcome?.status;
      const next = setMachine(event.machine, { state: 'idle', sinceMs: at });
      if (typeof event.test !== 'string' || typeof status !== 'string') return next;
      const statuses = new Map(state.statuses);
      statuses.set(event.test, status);
      return { ...next, statuses };
    }
    case 'run-end':
      return { ...state, startedMs, ended: event.status };
    default:
      return { ...state, startedMs };
  }
}

function countStatuses(statuses: ReadonlyMap<string, TestStatus>): Map<TestStatus, number> {
  const counts = new Map<TestStatus, number>();
  for (const status of statuses.values()) counts.set(status, (counts.get(status) ?? 0) + 1);
  return counts;
}

/** The status block drawn on a TTY: one line per VM, then the counts. */
export function renderProgressBlock(state: ProgressState, nowMs: number, c: Colors = createColors(false)): string {
  const names = [...state.machines.keys()];
  const width = Math.max(3, ...names.map((n) => n.length));
  const lines: string[] = [];
  for (const m of state.machines.values()) {
    const elapsed = formatDuration(Math.max(0, nowMs - m.sinceMs));
    const name = c.bold(m.name.padEnd(width));
    switch (m.state) {
      case 'running':
        lines.push(`${name}  ${toTerminalText(m.test ?? '?')}${m.attempt && m.attempt > 1 ? c.dim(` (attempt ${m.attempt})`) : ''}  ${c.dim(elapsed)}`);
        break;
      case 'booting':
        lines.push(`${name}  ${c.dim('booting')}  ${c.dim(elapsed)}`);
        break;
      case 'idle':
        lines.push(`${name}  ${c.dim('idle')}`);
        break;
      case 'lost':
        lines.push(`${name}  ${c.red(`lost (${m.lostReason ?? '?'})`)}`);
        break;
      case 'done':
        lines.push(`${name}  ${c.dim('done')}`);
        break;
    }
  }
  const counts = countStatuses(state.statuses);
  const parts = [`${state.statuses.size}/${state.planned || '?'} done`];
  for (const status of STATUS_ORDER) {
    const n = status === 'notexecuted' ? 0 : (counts.get(status) ?? 0);
    if (n === 0) continue;
    const text = `${n} ${STATUS_LABEL[status]}`;
    parts.push(status !== 'notexecuted' && isFailingStatus(status) ? c.red(text) : status === 'passed' ? c.green(text) : text);
  }
  if (state.startedMs !== undefined) parts.push(formatDuration(Math.max(0, nowMs - state.startedMs)));
  lines.push(parts.join(' · '));
  return lines.join('\n');
}

function oneLine(text: unknown): string {
  return toTerminalText(String(text ?? '')).replace(/\s*\n\s*/g, ' ').trim();
}

/** The plain line printed for an event when the output is not a TTY (undefined: print nothing). */
export function formatEventLine(event: RunEvent, c: Colors = createColors(false)): string | undefined {
  const vm = 'machine' in event && typeof event.machine === 'string' ? `[${event.machine}] ` : '';
  switch (event.type) {
    case 'run-start':
      return `kt: ${event.tests?.length ?? 0} tests on ${event.jobs} VMs (${oneLine(event.fstyp)}, section ${oneLine(event.section)}, ${event.accel})${event.shard ? `, shard ${event.shard}` : ''}`;
    case 'machine-boot':
      return `${vm}booting`;
    case 'machine-up':
      return `${vm}up in ${formatDuration(event.bootMs)} (${oneLine(event.kernelRelease)})`;
    case 'machine-lost': {
      const message = oneLine(event.message);
      const title = event.crash ? oneLine(event.crash.title) : '';
      // The runner's message often already quotes the crash title; do not print it twice.
      return c.red(`${vm}lost (${event.reason}): ${message}${title && !message.includes(title) ? ` — ${title}` : ''}`);
    }
    case 'test-begin':
      return `${vm}${testLabel(event)} started${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`;
    case 'console-report':
      return c.yellow(`${vm}${event.test ? `${testLabel({ test: event.test, section: event.section })}: ` : ''}kernel report: ${oneLine(event.report.title)}`);
    case 'test-end': {
      const outcome = event.outcome;
      const status = outcome?.status;
      if (typeof status !== 'string') return `${vm}${testLabel(event)} ended`;
      const label = STATUS_LABEL[status] ?? status;
      const head = `${vm}${testLabel(event)} ${label} ${formatDuration(event.durationMs)}`;
      switch (outcome.status) {
        case 'passed':
          return head;
        case 'notrun':
          return `${head}: ${oneLine(outcome.reason)}`;
        case 'crashed':
          return c.red(`${head}: ${oneLine(outcome.crash?.title ?? outcome.message)}`);
        default:
          return c.red(`${head}: ${oneLine(outcome.message)}`);
      }
    }
    case 'warning':
      // kt printed it before the run began (src/cli/runCommand.ts); the record keeps it.
      if (event.beforeRun) return undefined;
      return c.yellow(`${vm}warning: ${oneLine(event.message)}`);
    case 'run-end':
      return `kt: run ${event.status}${event.signal ? ` (${event.signal})` : ''} after ${formatDuration(event.wallMs)}${event.message ? `: ${oneLine(event.message)}` : ''}`;
    default:
      return undefined;
  }
}

/** `generic/001`, or `generic/001 (xfs/1k)` when the event names its section. */
function testLabel(event: { test: string; section?: string | undefined }): string {
  return `${toTerminalText(event.test)}${event.section ? ` (${toTerminalText(event.section)})` : ''}`;
}

/**
 * What a test's second `started` line owes the reader: its first start, on a VM that was lost
 * before the test began its work, has no result line and never will (a crash no test is blamed
 * for; src/runner/blame.ts requeues such a test for a fresh VM). `begun` maps a test that began
 * and has no end yet to its VM; updated here. Empty for any other event.
 */
export function restartNote(begun: Map<string, string>, event: RunEvent): string {
  if (event.type !== 'test-begin' && event.type !== 'test-end') return '';
  if (typeof event.test !== 'string') return '';
  const key = testKey(event.section ?? '', event.test);
  if (event.type === 'test-end') {
    begun.delete(key);
    return '';
  }
  const before = begun.get(key);
  begun.set(key, String(event.machine));
  return before === undefined ? '' : ` again: its start on ${toTerminalText(before)} has no result (that VM was lost before the test began its work)`;
}

/** The stream progress writes to (process.stderr in kt run). */
export interface ProgressStream extends NodeJS.WritableStream {
  /** Set by Node on terminals. */
  isTTY?: boolean;
}

/** Options of createProgressReporter. */
export interface ProgressOptions {
  /** Where to draw. */
  stream: ProgressStream;
  /** Redraw in place (default: stream.isTTY). */
  tty?: boolean;
  /** Colour (default: same as tty). */
  color?: boolean;
  /** Clock (tests). */
  now?: () => number;
}

/** A live reporter: call onEvent for each event as it is appended, close at the end. */
export interface ProgressReporter {
  /** Shows one event; never throws. */
  onEvent(event: RunEvent): void;
  /** Final redraw and release of the terminal; idempotent. */
  close(): void;
}

/** Lines worth keeping in the scrollback above the TTY block. */
function isPersistentOnTty(event: RunEvent): boolean {
  if (event.type === 'machine-lost' || event.type === 'warning' || event.type === 'run-end') return true;
  if (event.type !== 'test-end') return false;
  const status = event.outcome?.status;
  return typeof status === 'string' && isFailingStatus(status);
}

/** Picks the TTY block or plain lines for the stream. */
export function createProgressReporter(options: ProgressOptions): ProgressReporter {
  const tty = options.tty ?? options.stream.isTTY === true;
  const c = createColors(options.color ?? tty);
  const now = options.now ?? Date.now;
  let state = initialProgress();

  if (!tty) {
    const begun = new Map<string, string>();
    return {
      onEvent(event) {
        try {
          const line = formatEventLine(event, c);
          const again = restartNote(begun, event);
          if (line !== undefined) options.stream.write(`${line}${again}\n`);
        } catch {
          // Progress is a courtesy: a malformed event must never stop the run.
        }
      },
      close() {},
    };
  }

  const log = createLogUpdate(options.stream);
  let lastDrawMs = Number.NEGATIVE_INFINITY;
  let pending: NodeJS.Timeout | undefined;
  let closed = false;
  const draw = (): void => {
    pending = undefined;
    lastDrawMs = now();
    log(renderProgressBlock(state, lastDrawMs, c));
  };
  const scheduleDraw = (): void => {
    if (closed || pending) return;
    const wait = Math.max(0, lastDrawMs + REDRAW_INTERVAL_MS - now());
    pending = setTimeout(draw, wait);
  };
  // Elapsed times move even when no event arrives.
  const ticker = setInterval(scheduleDraw, 1000);
  ticker.unref();

  return {
    onEvent(event) {
      if (closed) return;
      try {
        state = reduceProgress(state, event, now());
        if (isPersistentOnTty(event)) {
          const line = formatEventLine(event, c);
          if (line !== undefined) {
            log.clear();
            options.stream.write(`${line}\n`);
            lastDrawMs = Number.NEGATIVE_INFINITY;
          }
        }
        scheduleDraw();
      } catch {
        // See above: never let the display break the run.
      }
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(ticker);
      if (pending) clearTimeout(pending);
      try {
        log(renderProgressBlock(state, now(), c));
        log.done();
      } catch {
        // The terminal may be gone (SIGHUP); nothing to restore.
      }
    },
  };
}
