/**
 * The simulation benchmark drives kt's real engine (executeRun, workers, dispatcher, batchRun,
 * blame, check-output parser, crash detector) over simulated VMs on a simulated clock, fed with
 * real fstests durations (bench/data/fstests-durations) and a real panic console
 * (test/crash-corpus/sysrq-panic.log). These tests check what must hold of any such run —
 * never how fast this machine ran it: every figure asserted is simulated time or a count.
 */
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseSimulateArgs } from '../../src/bench/simulate/args.js';
import { loadDurations, parseDurations } from '../../src/bench/simulate/durations.js';
import { loadGuestTexts } from '../../src/bench/simulate/guestTexts.js';
import { chooseInjections } from '../../src/bench/simulate/injections.js';
import { checkTestsOf } from '../../src/bench/simulate/simMachine.js';
import { simulate, type SimulateOptions } from '../../src/bench/simulate/simulate.js';
import { tailFigures } from '../../src/bench/simulate/metrics.js';
import { verifyRun } from '../../src/bench/simulate/verify.js';
import { renderCheckCommand } from '../../src/runner/guestCommands.js';

const DATA = new URL('../../bench/data/fstests-durations/', import.meta.url);
const NOTRUN = new URL('../../bench/data/fstests-notrun/', import.meta.url);
const durationsOf = (name: string) => loadDurations(new URL(name, DATA).pathname);
const notrunOf = (name: string) => loadDurations(new URL(name, NOTRUN).pathname);
const texts = loadGuestTexts();

function options(over: Partial<SimulateOptions> & Pick<SimulateOptions, 'durations' | 'vms'>): SimulateOptions {
  return { crashes: 0, hangs: 0, bootSec: 10, checkStartSec: 6, maxBatch: 32, retries: 0, seed: 1, batching: 'time', ...over };
}

describe('simulated kt run (real durations, real engine)', () => {
  it('gives every test exactly one outcome; only the injected tests crash or hang; nothing is lost or run twice', async () => {
    // 223 real durations (tmpfs, kernel 6.6.0-rc4), 8 VMs, 2 crashes and 1 hang.
    const durations = durationsOf('kdevops-tmpfs_default-6.6.0-rc4-auto.check.time');
    const { report, events, work, injections } = await simulate(options({ durations, vms: 8, crashes: 2, hangs: 1 }), texts);

    expect(report.violations).toEqual([]);
    expect(work).toHaveLength(durations.length);
    const ends = events.filter((e) => e.type === 'test-end');
    const begins = events.filter((e) => e.type === 'test-begin');
    // One test-begin and one test-end per test (no retries asked): nothing lost, nothing twice.
    expect(new Set(ends.map((e) => e.test)).size).toBe(durations.length);
    expect(ends).toHaveLength(durations.length);
    expect(begins).toHaveLength(durations.length);
    const byStatus = (status: string) => ends.filter((e) => e.outcome.status === status).map((e) => e.test).sort();
    expect(byStatus('crashed')).toEqual([...injections.crash].sort());
    expect(byStatus('timedout')).toEqual([...injections.hang].sort());
    expect(byStatus('passed')).toHaveLength(durations.length - 3);
    for (const e of ends) {
      if (e.outcome.status === 'crashed') expect(e.outcome.crash.title).toBe('kernel panic: sysrq triggered crash');
      if (e.outcome.status === 'passed') expect(e.checkSeconds).toBe(durations.find((d) => d.test === e.test)!.seconds);
    }
    // Each lost VM names its test, and a fresh VM replaced it.
    const lost = events.filter((e) => e.type === 'machine-lost');
    expect(lost.map((e) => e.reason).sort()).toEqual(['crash', 'crash', 'hang']);
    expect(lost.map((e) => e.test).sort()).toEqual([...injections.crash, ...injections.hang].sort());
    expect(report.boots).toBe(8 + 3);
    expect(report.crashes).toEqual({ injected: 2, detected: 2 });
    expect(report.hangs).toEqual({ injected: 1, detected: 1 });
    expect(report.makespanSec).toBeGreaterThanOrEqual(report.lowerBoundSec);
    expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'completed' });
  });

  it('reruns a crashed test on a fresh VM with --retries, and the retry passes', async () => {
    const durations = durationsOf('kdevops-nfs_default-6.4.6-200.fc38-auto.check.time');
    const { report, events, injections } = await simulate(options({ durations, vms: 4, crashes: 1, retries: 1, seed: 7 }), texts);
    expect(report.violations).toEqual([]);
    const [crashed] = [...injections.crash];
    const attempts = events.filter((e) => e.type === 'test-end' && e.test === crashed);
    expect(attempts.map((e) => (e.type === 'test-end' ? [e.attempt, e.outcome.status] : []))).toEqual([
      [1, 'crashed'],
      [2, 'passed'],
    ]);
  });

  it('batching by time ends a real run sooner than batching by count (the first VM no longer takes the 32 longest tests)', async () => {
    const durations = durationsOf('kdevops-xfs_reflink-6.6.0-rc5-auto.check.time');
    const byCount = await simulate(options({ durations, vms: 4, batching: 'count' }), texts);
    const byTime = await simulate(options({ durations, vms: 4, batching: 'time' }), texts);
    expect(byCount.batches[0]!.tests).toBe(32);
    expect(byTime.batches[0]!.tests).toBeLessThan(32);
    expect(byTime.report.makespanSec).toBeLessThan(byCount.report.makespanSec);
    expect(byTime.report.violations).toEqual([]);
    expect(byCount.report.violations).toEqual([]);
  });

  it("a developer's small run is one check per VM: 16 real tests of 71 s at 2 VMs with TCG's 12 s start-up", async () => {
    // generic/001–018 of a real xfs run but generic/017 (449 s): a handful of quick tests, where
    // check's start-up under TCG (11–12 s on a real tree, docs/speed.md) is a third of each VM's
    // share. Factoring's rounds cut it into five batches (82 s); the last round is one (58 s).
    const durations = durationsOf('kdevops-xfs_reflink-6.6.0-rc5-auto.check.time').filter((d) => /^generic\/0(0[1-9]|1[0-8])$/.test(d.test) && d.test !== 'generic/017');
    expect(durations).toHaveLength(16);
    const sum = durations.reduce((s, d) => s + d.seconds, 0);
    expect(sum).toBe(71);
    const r = await simulate(options({ durations, vms: 2, checkStartSec: 12 }), texts);
    expect(r.report.violations).toEqual([]);
    expect(r.batches).toHaveLength(2);
    // Boot, one start-up and half the tests' seconds, to within the one-second test granularity.
    expect(r.report.makespanSec).toBeLessThanOrEqual(10 + 12 + sum / 2 + 1);
  });

  it('tests the guest does not run end not run; estimated by their seconds they no longer run first as long tests', async () => {
    // The real xfs_crc section of kdevops' 6.6.0-rc5 run: 671 tests ran, 420 were not run
    // (0–6 s each, 285 s in all: bench/data/fstests-notrun/README.md).
    const durations = durationsOf('kdevops-xfs_crc-6.6.0-rc5-auto.check.time');
    const notrun = notrunOf('kdevops-xfs_crc-6.6.0-rc5-auto.notrun.time');
    const now = await simulate(options({ durations, notrun, vms: 4, crashes: 1, hangs: 1 }), texts);
    expect(now.report.violations).toEqual([]);
    expect(now.report.tests).toBe(1091);
    expect(now.report.notrunTests).toBe(420);
    expect(now.report.outcomes).toEqual({ passed: 669, notrun: 420, crashed: 1, timedout: 1 });
    const ends = now.events.filter((e) => e.type === 'test-end');
    const notrunSet = new Set(notrun.map((d) => d.test));
    expect(ends.filter((e) => e.outcome.status === 'notrun').every((e) => notrunSet.has(e.test))).toBe(true);
    // The lower bound counts their seconds too: they take the VM's time.
    const sum = [...durations, ...notrun].reduce((a, d) => a + d.seconds, 0);
    expect(now.report.sumSec).toBe(sum);

    // kt before: no history of them, so each is estimated at the 90th percentile of the others
    // and planned among the longest.
    const before = await simulate(options({ durations, notrun, vms: 4, notrunEstimate: 'unknown' }), texts);
    const nowPlain = await simulate(options({ durations, notrun, vms: 4 }), texts);
    expect(before.report.violations).toEqual([]);
    const firstHalf = (work: { test: string }[]) => work.slice(0, work.length / 2).filter((w) => notrunSet.has(w.test)).length;
    expect(firstHalf(before.work)).toBeGreaterThan(300);
    // Now only those that took longer than most tests that ran (2–6 s) may come that early.
    expect(firstHalf(nowPlain.work)).toBeLessThanOrEqual(notrun.filter((d) => d.seconds > 1).length);
    expect(nowPlain.report.ratio).toBeLessThanOrEqual(1.1);
    expect(before.report.ratio).toBeGreaterThan(1.3);
  });

  it('runs 16 VMs and a spare without a listener-leak warning from the stop signal', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const durations = durationsOf('kdevops-tmpfs_default-6.6.0-rc4-auto.check.time');
      const { report } = await simulate(options({ durations, vms: 16, spares: 1, crashes: 1 }), texts);
      expect(report.violations).toEqual([]);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.includes('MaxListenersExceeded'))).toEqual([]);
  });
});

describe('verifyRun', () => {
  it('reports a test without an outcome and a crash nobody injected', async () => {
    const durations = durationsOf('kdevops-tmpfs_default-6.6.0-rc4-auto.check.time').slice(0, 20);
    const { events, work, injections } = await simulate(options({ durations, vms: 2, crashes: 1 }), texts);
    const lostEnd = events.findIndex((e) => e.type === 'test-end' && e.outcome.status === 'passed');
    const tampered = events.filter((_, i) => i !== lostEnd);
    const durationSec = (t: string) => durations.find((d) => d.test === t)!.seconds;
    const problems = verifyRun({ events: tampered, work, injections: { crash: new Set(), hang: injections.hang }, durationSec, deadlineSec: () => 3600, retries: 0 });
    expect(problems.some((p) => p.includes('has no outcome'))).toBe(true);
    expect(problems.some((p) => p.includes('crashed but no crash was injected'))).toBe(true);
  });
});

describe('verifyRun and tests not run', () => {
  it('accepts a test not run that outlasts --test-timeout before it says so: kt ends it as timed out', async () => {
    // tmpfs' generic/449 took 3,143 s to call _notrun in kdevops' run (bench/data/fstests-notrun).
    const durations = durationsOf('kdevops-tmpfs_default-6.6.0-rc4-auto.check.time').slice(0, 6);
    const notrun = notrunOf('kdevops-tmpfs_default-6.6.0-rc4-auto.notrun.time').filter((d) => d.test === 'generic/449');
    expect(notrun).toEqual([{ test: 'generic/449', seconds: 3143 }]);
    const { report } = await simulate(options({ durations, notrun, vms: 2, testTimeoutSec: 600 }), texts);
    expect(report.violations).toEqual([]);
    expect(report.overDeadline).toEqual(['generic/449']);
    expect(report.outcomes).toEqual({ passed: 6, timedout: 1 });
  });

  it('reports a test not run that ended otherwise, and one that ran but ended not run', async () => {
    const durations = durationsOf('kdevops-tmpfs_default-6.6.0-rc4-auto.check.time').slice(0, 6);
    const notrun = notrunOf('kdevops-xfs_reflink-6.6.0-rc5-auto.notrun.time').slice(0, 3);
    const { events, work, injections, report } = await simulate(options({ durations, notrun, vms: 2 }), texts);
    expect(report.violations).toEqual([]);
    const seconds = new Map([...durations, ...notrun].map((d) => [d.test, d.seconds]));
    const verify = (notrunTests: ReadonlySet<string>) => verifyRun({ events, work, injections, notrun: notrunTests, durationSec: (t) => seconds.get(t)!, deadlineSec: () => 3600, retries: 0 });
    expect(verify(new Set(notrun.map((d) => d.test)))).toEqual([]);
    // Told that a test that passed was not run, and not told of one that was not run.
    const wrong = new Set([durations[0]!.test, ...notrun.slice(1).map((d) => d.test)]);
    expect(verify(wrong).sort()).toEqual([`${durations[0]!.test} attempt 1 ended passed, its guest said not run`, `${notrun[0]!.test} attempt 1 ended notrun`].sort());
  });
});

describe('simulation inputs', () => {
  it('parses check.time and refuses a bad line with its line number', () => {
    expect(parseDurations('generic/001 5\nxfs/013 275\n', 'x')).toEqual([
      { test: 'generic/001', seconds: 5 },
      { test: 'xfs/013', seconds: 275 },
    ]);
    expect(() => parseDurations('generic/001 5\ngeneric/002 five\n', 'f.time')).toThrow(/f\.time:2: not a check\.time line/);
    expect(() => parseDurations('generic/001 5\ngeneric/001 6\n', 'f')).toThrow(/listed twice/);
    expect(() => parseDurations('\n', 'empty')).toThrow(UsageError);
  });

  it('refuses bad arguments as usage errors (exit 2) that echo the value', () => {
    const bad = (argv: string[]) => {
      try {
        parseSimulateArgs(argv);
      } catch (err) {
        return err instanceof UsageError ? `${err.exitCode} ${err.message}` : String(err);
      }
      return 'accepted';
    };
    expect(bad(['--durations', 'f', '--vms', 'many'])).toBe('2 --vms must be a whole number from 1 to 10000, got "many"');
    expect(bad(['--vms', '4'])).toMatch(/^2 --durations FILE is required/);
    expect(bad(['--durations', 'f', '--vms', '4', '--vms', '8'])).toBe('2 --vms is given twice');
    expect(bad(['--durations', 'f', '--vms', '4', '--frobnicate'])).toBe('2 unknown argument "--frobnicate"');
    expect(bad(['--durations', 'f', '--vms', '4', '--batching', 'fast'])).toBe('2 --batching must be one of time, count, got "fast"');
    expect(parseSimulateArgs(['--durations=f', '--vms=64', '--crashes', '2'])).toMatchObject({ durations: 'f', vms: 64, crashes: 2, hangs: 0 });
    expect(() => loadDurations('/nonexistent/kt.check.time')).toThrow(/cannot read durations file/);
  });

  it('refuses --notrun inputs that cannot be one section: a test in both files, an estimate without the file', { timeout: 60_000 }, async () => {
    const main = fileURLToPath(new URL('../../dist/bench/main.js', import.meta.url));
    const durations = new URL('kdevops-xfs_crc-6.6.0-rc5-auto.check.time', DATA).pathname;
    const notrun = new URL('kdevops-xfs_crc-6.6.0-rc5-auto.notrun.time', NOTRUN).pathname;
    const run = (...args: string[]) => execa('node', [main, 'simulate', ...args], { reject: false });
    const both = await run('--durations', durations, '--notrun', durations, '--vms', '4');
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain(`generic/001 is in both ${durations} and --notrun ${durations}`);
    const alone = await run('--durations', durations, '--notrun-estimate', 'unknown', '--vms', '4');
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr).toContain('--notrun-estimate unknown needs --notrun FILE');
    const bad = await run('--durations', durations, '--notrun', notrun, '--notrun-estimate', 'p90', '--vms', '4');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--notrun-estimate must be one of seconds, unknown, got "p90"');
  });

  it('reads the tests of a batch back from the check command kt renders', () => {
    expect(checkTestsOf(renderCheckCommand('xfs/4k', ['generic/001', "odd'name/1", 'xfs/013']))).toEqual(['generic/001', "odd'name/1", 'xfs/013']);
    expect(checkTestsOf('dmesg -n 8')).toBeUndefined();
  });

  it('draws distinct injected tests, the same for the same seed', () => {
    const tests = Array.from({ length: 50 }, (_, i) => `generic/${i}`);
    const a = chooseInjections(tests, 3, 2, 42);
    expect(a.crash.size + a.hang.size).toBe(5);
    expect([...a.crash].some((t) => a.hang.has(t))).toBe(false);
    expect(chooseInjections(tests, 3, 2, 42)).toEqual(a);
  });
});

describe('tailFigures', () => {
  it('finds when the VMs went idle for good', () => {
    // Two slots: one busy 0–100 s, the other 0–40 s then 50–60 s.
    const t = tailFigures(
      [
        { startMs: 0, endMs: 100_000 },
        { startMs: 0, endMs: 40_000 },
        { startMs: 50_000, endMs: 60_000 },
      ],
      2,
      0,
      100_000,
    );
    expect(t.allBusyUntilSec).toBe(60);
    expect(t.tailSec).toBe(40);
    expect(t.tailIdleVmSec).toBe(40);
    expect(t.vmsIdleAtSec).toEqual({ first: 60, median: 100, last: 100 });
    expect(t.utilization).toBe(0.75);
  });
});
