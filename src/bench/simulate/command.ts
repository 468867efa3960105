/**
 * `node dist/bench/main.js simulate ...`: one simulated run, reported as one JSON object on
 * the last line of stdout (scripts read that line); a one-line summary goes to stderr. Exit 0
 * when kt's record of the run is sound, 1 when verify.ts found a violation, 2 for bad input.
 */
import path from 'node:path';
import { formatError, isKtError, UsageError } from '../../errors.js';
import { parseSimulateArgs } from './args.js';
import { loadDurations } from './durations.js';
import { loadGuestTexts } from './guestTexts.js';
import { simulate } from './simulate.js';

export async function simulateCommand(argv: readonly string[]): Promise<number> {
  try {
    const args = parseSimulateArgs(argv);
    const durations = loadDurations(args.durations);
    const history = args.history ? new Map(loadDurations(args.history).map((d) => [d.test, d.seconds])) : undefined;
    const notrun = args.notrun ? loadDurations(args.notrun) : undefined;
    const ran = new Set(durations.map((d) => d.test));
    const both = notrun?.find((d) => ran.has(d.test));
    if (both) {
      throw new UsageError('E_SIMULATE_USAGE', `${both.test} is in both ${args.durations} and --notrun ${args.notrun}`, 'a test either ran (--durations) or was not run (--notrun), e.g. bench/data/fstests-notrun/ beside its bench/data/fstests-durations/ set');
    }
    if (args.notrunEstimate !== undefined && !notrun) throw new UsageError('E_SIMULATE_USAGE', `--notrun-estimate ${args.notrunEstimate} needs --notrun FILE`, 'name the tests not run, e.g. --notrun bench/data/fstests-notrun/kdevops-xfs_crc-6.6.0-rc5-auto.notrun.time');
    if (args.crashes + args.hangs > durations.length) {
      throw new UsageError(
        'E_SIMULATE_USAGE',
        `--crashes ${args.crashes} and --hangs ${args.hangs} inject into more tests than ${args.durations} holds (${durations.length})`,
        'inject at most one fault per test',
      );
    }
    const { history: _file, notrun: _notrunFile, ...knobs } = args;
    const { report } = await simulate({ ...knobs, durations, ...(history ? { history } : {}), ...(notrun ? { notrun } : {}) }, loadGuestTexts());
    const out = {
      durations: path.basename(args.durations),
      ...(args.history ? { history: path.basename(args.history) } : {}),
      ...(args.notrun ? { notrun: path.basename(args.notrun), notrunEstimate: args.notrunEstimate ?? 'seconds' } : {}),
      options: { bootSec: args.bootSec, checkStartSec: args.checkStartSec, maxBatch: args.maxBatch, retries: args.retries, seed: args.seed, batching: args.batching, spares: args.spares ?? 0, ...(args.testTimeoutSec !== undefined ? { testTimeoutSec: args.testTimeoutSec } : {}) },
      ...report,
    };
    process.stderr.write(
      `simulate: ${out.durations} on ${report.vms} VMs: makespan ${report.makespanSec} s, lower bound ${report.lowerBoundSec} s (${report.boundBy}), ratio ${report.ratio}; ` +
        `${report.batches} batches, ${report.crashes.detected}/${report.crashes.injected} crashes, ${report.hangs.detected}/${report.hangs.injected} hangs; ` +
        `${report.realMs} ms real, RSS ${report.peakRssMB} MB, max stall ${report.eventLoopMaxStallMs} ms` +
        (report.violations.length ? `; ${report.violations.length} VIOLATIONS: ${report.violations.slice(0, 3).join('; ')}` : '') +
        '\n',
    );
    process.stdout.write(JSON.stringify(out) + '\n');
    return report.violations.length ? 1 : 0;
  } catch (err) {
    if (isKtError(err)) {
      process.stderr.write(formatError(err) + '\n');
      return err.exitCode;
    }
    throw err;
  }
}
