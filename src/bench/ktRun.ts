/**
 * `kt run` as a user runs it, from the benchmark: a child process whose event log is read after
 * (or while) it runs, and whose own RSS is sampled (the VMs are separate processes).
 */
import { execa, type ResultPromise } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const KT = fileURLToPath(new URL('../../bin/kt.js', import.meta.url));

export interface BenchEvent {
  type: string;
  ts: string;
  machine?: string;
  test?: string;
  bootMs?: number;
  phases?: Record<string, number>;
  outcome?: { status: string };
  /** test-end: the test's own time. */
  durationMs?: number;
  reason?: string;
  /** run-start: the planned tests in the order VMs take them. */
  tests?: string[];
}

export function readEvents(runDir: string): BenchEvent[] {
  return fs
    .readFileSync(path.join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as BenchEvent);
}

/** The events of the run being written under `results` (its `latest` link), [] before it starts. */
export function readLatestEvents(results: string): BenchEvent[] {
  try {
    const text = fs.readFileSync(path.join(results, 'latest', 'events.jsonl'), 'utf8');
    // The last line may be half written.
    return text
      .split('\n')
      .filter(Boolean)
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as BenchEvent];
        } catch {
          return [];
        }
      });
  } catch {
    return [];
  }
}

export interface KtRunResult {
  wallMs: number;
  /** From the first machine-up to run-end: the run without its first boot. */
  afterBootMs: number;
  peakRssKiB: number;
  /**
   * The host's busy CPU time over the run's wall time, in cores: kt, its QEMUs and anything else
   * running (the benchmark itself idles meanwhile). What -j 2 can gain over -j 1 on a host of C
   * cores is at most C / (this at -j 1).
   */
  hostBusyCores: number;
  /** Σ of the tests' own durations (test-end durationMs): slower tests at -j 2 mean contention. */
  testSec: number;
  runDir: string;
  events: BenchEvent[];
}

/** Busy (non-idle) CPU milliseconds of the whole host so far (/proc/stat through os.cpus). */
function hostBusyMs(): number {
  let busy = 0;
  for (const cpu of os.cpus()) busy += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq;
  return busy;
}

/** kt children still running: the benchmark's signal handler stops them (stopKtChildren). */
const live = new Set<ResultPromise>();

export function startKt(args: string[], results: string, accel: string, env: Record<string, string> = {}): ResultPromise {
  const child = execa('node', [KT, 'run', '--accel', accel, '--results', results, ...args], { reject: false, env: { ...process.env, NO_COLOR: '1', ...env } });
  live.add(child);
  void child.finally(() => live.delete(child));
  return child;
}

/**
 * SIGTERM to every kt child still running: kt then shuts its VMs down and kills its QEMUs
 * itself (README, "Every QEMU process kt starts is killed on every exit path").
 */
export function stopKtChildren(): void {
  for (const child of live) child.kill('SIGTERM');
}

/** Resolves when every kt child has exited. */
export async function ktChildrenExited(): Promise<void> {
  await Promise.allSettled([...live]);
}

export async function ktRun(args: string[], results: string, accel: string, env: Record<string, string> = {}, child = startKt(args, results, accel, env)): Promise<KtRunResult> {
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      peak = Math.max(peak, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      // exited
    }
  }, 200);
  const started = Date.now();
  const busyBefore = hostBusyMs();
  const r = await child;
  clearInterval(sampler);
  const wallMs = Date.now() - started;
  const hostBusyCores = Math.round(((hostBusyMs() - busyBefore) / Math.max(1, wallMs)) * 100) / 100;
  if (r.exitCode !== 0 && r.exitCode !== 1) throw new Error(`kt run ${args.join(' ')} failed (${r.exitCode}): ${String(r.stderr).slice(-2000)}`);
  const runDir = fs.realpathSync(path.join(results, 'latest'));
  const events = readEvents(runDir);
  const up = events.find((e) => e.type === 'machine-up');
  const end = events.find((e) => e.type === 'run-end');
  if (!up || !end) throw new Error(`kt run ${args.join(' ')}: no ${up ? 'run-end' : 'machine-up'} event in ${runDir}/events.jsonl`);
  const testSec = Math.round(events.reduce((sum, e) => sum + (e.type === 'test-end' ? (e.durationMs ?? 0) : 0), 0) / 100) / 10;
  return { wallMs, afterBootMs: Date.parse(end.ts) - Date.parse(up.ts), peakRssKiB: peak, hostBusyCores, testSec, runDir, events };
}
