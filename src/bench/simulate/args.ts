/**
 * `kt bench simulate` arguments: `--durations FILE --vms N [--crashes K] [--hangs H]
 * [--boot-sec S] [--check-start-sec C] [--batch B] [--retries R] [--seed X] [--history FILE]
 * [--batching time|count] [--test-timeout SEC] [--spares K] [--notrun FILE] [--notrun-estimate
 * seconds|unknown]`.
 * Every value is checked as typed; a bad one is a UsageError (exit 2) that echoes it. Pure.
 */
import { UsageError, printable } from '../../errors.js';
import type { SimulateOptions } from './simulate.js';

/** The simulation's options as the flags give them: the duration and history files named, not read. */
export type SimulateArgs = Omit<SimulateOptions, 'durations' | 'history' | 'notrun'> & { durations: string; history?: string; notrun?: string };

/**
 * Defaults. A boot of kt's Debian guest under TCG reaches its job in 8–16 s
 * (test/fstests/samples/*\/timing.txt, "host s to job start"). check's start-up before its
 * first test took 29 s under TCG (test/fstests/samples/pass-three-real-tests/console.log: check
 * starts at uptime 15.48 s, the first `run fstests` marker is at 44.6 s), when the gap between
 * two tests there was 7–9 s; the durations are KVM runs, whose gaps are 1.1–2.1 s per test
 * (bench/data/fstests-durations/README.md: section wall clock − Σ tests, xfs sections). Scaled
 * by that ratio check's start-up is 4–8 s: 6 s.
 */
/** kt's default --batch (src/config/runConfig.ts). */
const DEFAULT_MAX_BATCH = 32;

export const SIMULATE_DEFAULTS = { bootSec: 10, checkStartSec: 6, crashes: 0, hangs: 0, retries: 0, seed: 1, maxBatch: DEFAULT_MAX_BATCH, batching: 'time' as const };

export const SIMULATE_USAGE =
  'usage: node dist/bench/main.js simulate --durations FILE --vms N [--crashes K] [--hangs H] [--boot-sec S] [--check-start-sec C] [--batch B] [--retries R] [--seed X] [--history FILE] [--batching time|count] [--test-timeout SEC] [--spares K] [--notrun FILE] [--notrun-estimate seconds|unknown]';

type Kind = { type: 'choice'; values: readonly string[] } | { type: 'file' } | { type: 'int'; min: number; max: number } | { type: 'seconds' };
const FLAGS: Record<string, { field: keyof SimulateArgs; kind: Kind }> = {
  '--durations': { field: 'durations', kind: { type: 'file' } },
  '--history': { field: 'history', kind: { type: 'file' } },
  '--vms': { field: 'vms', kind: { type: 'int', min: 1, max: 10_000 } },
  '--crashes': { field: 'crashes', kind: { type: 'int', min: 0, max: 1_000_000 } },
  '--hangs': { field: 'hangs', kind: { type: 'int', min: 0, max: 1_000_000 } },
  '--boot-sec': { field: 'bootSec', kind: { type: 'seconds' } },
  '--check-start-sec': { field: 'checkStartSec', kind: { type: 'seconds' } },
  '--batch': { field: 'maxBatch', kind: { type: 'int', min: 1, max: 100_000 } },
  '--retries': { field: 'retries', kind: { type: 'int', min: 0, max: 100 } },
  '--seed': { field: 'seed', kind: { type: 'int', min: 0, max: 2 ** 32 - 1 } },
  '--batching': { field: 'batching', kind: { type: 'choice', values: ['time', 'count'] } },
  '--test-timeout': { field: 'testTimeoutSec', kind: { type: 'int', min: 1, max: 1_000_000 } },
  '--spares': { field: 'spares', kind: { type: 'int', min: 0, max: 64 } },
  '--notrun': { field: 'notrun', kind: { type: 'file' } },
  '--notrun-estimate': { field: 'notrunEstimate', kind: { type: 'choice', values: ['seconds', 'unknown'] } },
};

function usage(message: string): UsageError {
  return new UsageError('E_SIMULATE_USAGE', message, SIMULATE_USAGE);
}

export function parseSimulateArgs(argv: readonly string[]): SimulateArgs {
  const values: Partial<Record<keyof SimulateArgs, string | number>> = {};
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const eq = raw.indexOf('=');
    const name = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    const flag = FLAGS[name];
    if (!flag) throw usage(`unknown argument "${printable(raw)}"`);
    const value = eq > 0 && raw.startsWith('--') ? raw.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw usage(`${name} needs a value`);
    if (values[flag.field] !== undefined) throw usage(`${name} is given twice`);
    values[flag.field] = parseValue(name, value, flag.kind);
  }
  if (values.durations === undefined) throw usage('--durations FILE is required (a check.time file, e.g. bench/data/fstests-durations/*.check.time)');
  if (values.vms === undefined) throw usage('--vms N is required (simulated VMs, e.g. --vms 16)');
  // kt's default (src/config/runConfig.ts): one spare when more than one VM runs.
  return { ...SIMULATE_DEFAULTS, spares: Number(values.vms) > 1 ? 1 : 0, ...values } as SimulateArgs;
}

function parseValue(name: string, value: string, kind: Kind): string | number {
  if (kind.type === 'file') return value;
  if (kind.type === 'choice') {
    if (!kind.values.includes(value)) throw usage(`${name} must be one of ${kind.values.join(', ')}, got "${printable(value)}"`);
    return value;
  }
  if (kind.type === 'seconds') {
    if (!/^\d+(\.\d+)?$/.test(value) || Number(value) > 86_400) throw usage(`${name} must be seconds from 0 to 86400, got "${printable(value)}"`);
    return Number(value);
  }
  if (!/^\d+$/.test(value) || Number(value) < kind.min || Number(value) > kind.max) {
    throw usage(`${name} must be a whole number from ${kind.min} to ${kind.max}, got "${printable(value)}"`);
  }
  return Number(value);
}
