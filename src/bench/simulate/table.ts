/**
 * `npm run bench:simulate`: the simulation table — every real durations file in
 * bench/data/fstests-durations/ at 4, 16 and 64 simulated VMs — then kt's host cost at 64 VMs
 * with injected crashes and hangs, the sets that have their tests not run
 * (bench/data/fstests-notrun/) with them, estimated as kt does and as kt did before
 * (`--notrun-estimate unknown`), and the planning speed. Each cell is its own process
 * (`node dist/bench/main.js simulate ...`), so its RSS and CPU are its own. Extra arguments
 * (e.g. --check-start-sec 0, --batch 8) are passed to every cell. JSON goes to
 * bench/results/simulate-<time>.json and stdout; a readable table to stderr.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './guestTexts.js';
import { measurePlanning } from './planningSpeed.js';

const VMS = [4, 16, 64];
/**
 * Per-file arguments. The soak set's seven stress tests run ~10,000 s each (SOAK_DURATION=9900):
 * past kt's KVM deadline ceiling of 3,600 s (src/cli/runCommand.ts), so a user running it passes
 * --test-timeout, as here.
 */
const FILE_ARGS: Record<string, string[]> = { 'kdevops-xfs_reflink-6.6.0-rc5-auto-soak9900.check.time': ['--test-timeout', '14400'] };
/** The host-cost run: the largest real set, the most VMs, faults of both kinds. */
const SCALE = { file: 'kdevops-xfs_reflink-6.6.0-rc5-auto.check.time', vms: 64, crashes: 8, hangs: 2 };

type Cell = Record<string, unknown> & { ratio: number; makespanSec: number; lowerBoundSec: number; boundBy: string; violations: string[] };

function simulateCell(args: string[]): Promise<Cell> {
  const main = fileURLToPath(new URL('dist/bench/main.js', REPO_ROOT));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [main, 'simulate', ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (err && err.code !== 1) return reject(new Error(`simulate ${args.join(' ')} failed: ${stderr}`));
      try {
        resolve(JSON.parse(last) as Cell);
      } catch {
        reject(new Error(`simulate ${args.join(' ')} printed no JSON: ${stderr}`));
      }
    });
  });
}

async function main(extra: string[]): Promise<void> {
  const started = new Date();
  const dataDir = fileURLToPath(new URL('bench/data/fstests-durations/', REPO_ROOT));
  const files = fs.readdirSync(dataDir).filter((f) => f.endsWith('.check.time')).sort();
  const rows: Record<string, Record<string, Cell>> = {};
  const lines: string[] = [`${'durations file'.padEnd(62)} ${VMS.map((n) => `N=${n}`.padStart(16)).join('')}`];
  let violations = 0;
  for (const file of files) {
    rows[file] = {};
    const cells: string[] = [];
    for (const vms of VMS) {
      const cell = await simulateCell(['--durations', path.join(dataDir, file), '--vms', String(vms), ...(FILE_ARGS[file] ?? []), ...extra]);
      rows[file]![String(vms)] = cell;
      violations += cell.violations.length;
      cells.push(`${cell.ratio.toFixed(3)}${cell.boundBy === 'longest' ? ' (L)' : '    '}`.padStart(16));
    }
    lines.push(`${file.replace(/\.check\.time$/, '').padEnd(62)} ${cells.join('')}`);
    process.stderr.write(`${lines.at(-1)}\n`);
  }
  // The same sets with the tests their run reported not run, as kt estimates them and as it did.
  const notrunDir = fileURLToPath(new URL('bench/data/fstests-notrun/', REPO_ROOT));
  const notrunRows: Record<string, Record<string, { seconds: Cell; unknown: Cell }>> = {};
  for (const file of files) {
    const companion = path.join(notrunDir, file.replace(/\.check\.time$/, '.notrun.time'));
    if (!fs.existsSync(companion)) continue;
    const row: Record<string, { seconds: Cell; unknown: Cell }> = {};
    const cells: string[] = [];
    for (const vms of VMS) {
      const base = ['--durations', path.join(dataDir, file), '--notrun', companion, '--vms', String(vms), ...(FILE_ARGS[file] ?? []), ...extra];
      const seconds = await simulateCell([...base, '--notrun-estimate', 'seconds']);
      const unknown = await simulateCell([...base, '--notrun-estimate', 'unknown']);
      violations += seconds.violations.length + unknown.violations.length;
      row[String(vms)] = { seconds, unknown };
      cells.push(`${seconds.ratio.toFixed(3)} / ${unknown.ratio.toFixed(3)}`.padStart(16));
    }
    notrunRows[file] = row;
    lines.push(`${`${file.replace(/\.check\.time$/, '')} + not run (now / before)`.padEnd(62)} ${cells.join('')}`);
    process.stderr.write(`${lines.at(-1)}\n`);
  }
  const scale = await simulateCell([
    '--durations', path.join(dataDir, SCALE.file), '--vms', String(SCALE.vms), '--crashes', String(SCALE.crashes), '--hangs', String(SCALE.hangs), ...extra,
  ]);
  violations += scale.violations.length;
  const planning = await measurePlanning();
  const out = {
    date: started.toISOString(),
    host: os.hostname(),
    cpus: os.cpus().length,
    node: process.version,
    extraArgs: extra,
    note: 'ratio = makespan / (max(sum/N, longest test) + one boot); (L) = the longest test is the bound',
    ratios: Object.fromEntries(Object.entries(rows).map(([f, r]) => [f, Object.fromEntries(Object.entries(r).map(([n, c]) => [n, { ratio: c.ratio, makespanSec: c.makespanSec, lowerBoundSec: c.lowerBoundSec, boundBy: c.boundBy }]))])),
    cells: rows,
    notrun: Object.fromEntries(
      Object.entries(notrunRows).map(([f, r]) => [
        f,
        Object.fromEntries(Object.entries(r).map(([n, c]) => [n, { tests: c.seconds.tests, notrunTests: c.seconds.notrunTests, lowerBoundSec: c.seconds.lowerBoundSec, ratio: c.seconds.ratio, ratioBefore: c.unknown.ratio, makespanSec: c.seconds.makespanSec, makespanSecBefore: c.unknown.makespanSec }])),
      ]),
    ),
    scale,
    planning,
    violations,
  };
  lines.push(
    `host cost at ${SCALE.vms} VMs (${SCALE.file}, ${SCALE.crashes} crashes, ${SCALE.hangs} hangs): RSS ${String(scale.peakRssMB)} MB, CPU ${String(scale.hostCpuSec)} s, max event-loop stall ${String(scale.eventLoopMaxStallMs)} ms, ratio ${scale.ratio}`,
    `planning: kt run --dry-run -g quick (${planning.tests} tests): ${planning.dryRunMs} ms median wall (runs ${planning.runsMs.join(', ')}; load average ${planning.loadAvg1})`,
  );
  const dir = fileURLToPath(new URL('bench/results/', REPO_ROOT));
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `simulate-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  process.stderr.write(`${lines.slice(-2).join('\n')}\nbench: written to ${file}\n`);
  process.stdout.write(JSON.stringify(out) + '\n');
  if (violations > 0) process.exitCode = 1;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
