/**
 * `npm run bench`: kt's speed and memory figures, measured in one run on this host and written
 * as one JSON object to stdout and to bench/results/<timestamp>.json. Figures are ratios of runs
 * on the same machine in the same minutes: absolute times on shared hosts drift. docs/speed.md
 * describes each row, its goal and how to run a few rows on your own fstests tree:
 *
 *   boot          kt's QEMU start → ready for the first test, vs the same kernel booting a bare
 *                 busybox initramfs to its first userspace line, same accelerator and vCPUs
 *                 (--cpus, default 2; bootBench.ts); the image kernel, or --kernel FILE (a tree's bzImage) for every row but
 *                 virtiofsBoot, which compares boots of the image
 *   bootCpu       the same boot with the scheduler traced from the kernel's start: the guest's CPU
 *                 from /init to ready, per program (bootCpu.ts); a kernel without tracing is skipped
 *   checkStart    on a ready VM, `check` started → its first test named (bootBench.ts)
 *   checkPhases   the same start-up under bash's xtrace, cut at fstests' check's own steps
 *                 (checkTrace.ts): where it goes on --fstests DIR's tree
 *   scaling       wall(-j 1) / (2 × wall(-j 2)) on the same test list (goal ≥ 0.85)
 *   batching      the same list with one check call per test vs kt's batches (why batches)
 *   rss           kt's own host RSS (the node process, VMs excluded) at -j 1 and -j 2
 *   overhead      kt -j 1 (boot excluded) vs an in-guest ./check of the same list, --boots pairs (goal ≤ 1.05)
 *   recovery      guest panic → next test running on the spare (recoveryBench.ts)
 *   restore       a VM started from a saved state vs a cold boot, to commands accepted
 *                 (restoreBench.ts; goal ≥ 3 to adopt it)
 *   virtiofsBoot  --rootfs virtiofs boot vs the image boot, same kernel (virtiofsBoot.ts)
 *
 * `node dist/bench/main.js simulate ...` is the scheduler on simulated VMs (docs/simulate.md).
 */
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isKtError } from '../errors.js';
import { loadTestTree } from '../fstests/testTree.js';
import { renderCheckCommand } from '../runner/guestCommands.js';
import { resolveCacheDir } from '../vm/image/cacheDir.js';
import { ensureImage } from '../vm/image/index.js';
import { normalizeRunConfig } from '../config/runConfig.js';
import { checkOwnKernel, ownKernelInitramfs } from '../cli/ownKernel.js';
import { checkKernelFile } from '../config/kernelFile.js';
import { bootKernelFor, IMAGE_VMLINUX } from '../vm/pvh/pvhKernel.js';
import { ensureFstestsImage } from '../vm/fstestsImage.js';
import { median } from '../util/median.js';
import { killAllNow } from '../vm/processRegistry.js';
import { formatBenchError, parseBenchArgs, type BenchArgs, type BenchRow } from './benchArgs.js';
import { benchLists, checkTestsInTree } from './benchTests.js';
import { bareBoot, BENCH_DISK_BYTES, BENCH_SECTION, checkPhases, checkStart, commandRoundTrip, ktReady, type KtReady } from './bootBench.js';
import { ktChildrenExited, ktRun, stopKtChildren, type KtRunResult } from './ktRun.js';
import { BOOT_CPU_READ_COMMAND, bootCpuTraceParams, NO_TRACING_EXIT, NO_TRACING_LINE, parseSchedTrace, summarizeBootCpu, type BootCpuProfile } from './bootCpu.js';
import { recoveryRow } from './recoveryBench.js';
import { restoreRow } from './restoreBench.js';
import { virtiofsBootRow } from './virtiofsBoot.js';
import { preflightMemo } from '../cli/preflightMemo.js';
import { testDevTemplates as makeTestDevTemplates } from '../cli/testDevTemplates.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

const ratio = (a: number, b: number) => +(a / b).toFixed(3);
/** Commands timed per boot in the boot row (their median is the boot's ktCommandMs). */
const COMMAND_ROUND_TRIPS = 7;

/** The median of each phase over several boots (phases a boot lacks are left out of its set). */
function medianPhases(all: readonly Record<string, number>[]): Record<string, number> {
  const names = [...new Set(all.flatMap((p) => Object.keys(p)))];
  return Object.fromEntries(names.map((n) => [n, median(all.flatMap((p) => (p[n] === undefined ? [] : [p[n]])))]));
}

/** What `make` writes or a run leaves in the fixture tree (its .gitignore): never copied. */
const BUILD_PRODUCTS = /(^|\/)(group\.list|fsstress|local\.config|results)$/;

/** A fresh copy of kt's fixture tree, built by make (its group lists, ltp/fsstress). */
async function fixtureTree(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-bench-fstests-'));
  const fixture = path.join(REPO, 'test/fixtures/fstests');
  fs.cpSync(fixture, dir, { recursive: true, filter: (src) => !BUILD_PRODUCTS.test(path.relative(fixture, src)) });
  await execa('make', ['-s', '-C', dir]);
  return dir;
}

/** Runs `f` once, on first use, and keeps its promise. */
function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= f());
}

async function bench(args: BenchArgs, started: Date, cleanup: string[]): Promise<{ out: Record<string, unknown>; failed: string[] }> {
  const lists = benchLists(args);
  // Bad trees and unknown tests are the user's input: exit 2 before anything boots.
  if (args.fstests) {
    const tree = loadTestTree(args.fstests, 'xfs');
    checkTestsInTree(tree, lists.tests, '--tests');
    checkTestsInTree(tree, lists.recoveryTests, args.recoveryTests ? '--recovery-tests' : '--tests');
  }
  // A kernel that is no bzImage is the user's input too.
  if (args.kernel) checkKernelFile(path.resolve(args.kernel), args.kernel);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-bench-'));
  cleanup.push(work);
  const treeDir = args.fstests ? path.resolve(args.fstests) : await fixtureTree();
  if (!args.fstests) cleanup.push(treeDir);
  const cacheDir = resolveCacheDir(process.env);
  const image = await ensureImage({ cacheDir, onProgress: (l) => process.stderr.write(`${l}\n`) });
  // --kernel: the developer's kernel, with the initramfs a run composes for it (its modules staged).
  const kernel = args.kernel ? path.resolve(args.kernel) : image.kernel;
  // As `kt run --kernel` does: the config check first (a kernel lacking what kt needs stops here,
  // not in a boot timeout), then its initramfs. kt's defaults, not a kt.yaml where the bench runs.
  const own = args.kernel ? normalizeRunConfig({ fstests: treeDir, kernel }, [], { HOME: work }, work) : undefined;
  if (own) await checkOwnKernel(own, (l) => process.stderr.write(l));
  const initramfs = own ? await ownKernelInitramfs(own, image, cacheDir, (l) => process.stderr.write(l)) : image.initramfs;
  // The file a run boots: the kernel's PVH ELF when there is one (the image's, or the tree's).
  const entry = bootKernelFor(kernel, args.kernel ? undefined : path.join(image.dir, IMAGE_VMLINUX));
  const bootImage = { kernel, boot: entry, initramfs, rootImage: image.rootImage };
  const fstestsImage = await ensureFstestsImage(treeDir, cacheDir);
  const results = path.join(work, 'results');
  const accel = args.accel;
  const tests = lists.tests;

  const out: Record<string, unknown> = {
    date: started.toISOString(),
    host: os.hostname(),
    cpus: os.cpus().length,
    // vCPUs per VM of the boot row (--cpus).
    bootCpus: args.cpus,
    // How the VMs got TEST_DEV's filesystem (--test-dev): a copy of one made once, as a run does, or their own mkfs.
    testDev: args.testDev,
    accel,
    boots: args.boots,
    fstests: args.fstests ? treeDir : 'fixture (test/fixtures/fstests)',
    kernel: args.kernel ? kernel : `image kernel ${image.kernelRelease}`,
    tests,
    rows: args.rows,
  };
  const failed: string[] = [];
  const log = (k: string, v: unknown) => {
    out[k] = v;
    process.stderr.write(`bench: ${k}: ${JSON.stringify(v)}\n`);
  };

  let index = 0;
  /** A VM made ready as a run makes it; the caller disposes it. */
  // As in a run: the set-up skips the preflight once this tree passed it in this image (the
  // first boot of a new tree runs it; the boot row says which did).
  const preflight = preflightMemo(cacheDir, image, fstestsImage);
  // As in a run: TEST_DEV made once and copied after, unless --test-dev mkfs (the boot row says which each boot did).
  const testDevTemplates = args.testDev === 'template' ? makeTestDevTemplates(cacheDir, image, kernel, [BENCH_SECTION], BENCH_DISK_BYTES) : undefined;
  const ready = (opts: { cpus?: number; measureTestMount?: boolean; extraCmdline?: readonly string[] } = {}): Promise<KtReady> =>
    ktReady({ image: bootImage, fstestsImage, fstestsDir: treeDir, work, index: ++index, accel, preflight, ...(testDevTemplates ? { testDevTemplates } : {}), ...opts });
  let readyMs: number[] = [];

  // kt runs shared by rows. No spare in these: a third VM on a small host would take CPU from the
  // two being compared (the spare's cost and gain are the recovery row's).
  // One vCPU per VM in every timed run: -j 1 with kt's default of 2 vCPUs would use both cores
  // of a 2-core host already, and the scaling row would compare one VM on the whole host with
  // two on half of it each.
  const base = ['--spares', '0', '--cpus', '1', '--fstests', treeDir, ...(args.kernel ? ['--kernel', kernel] : [])];
  // The first run leaves the history (durations) that orders and batches the timed runs, as
  // every run after a user's first one is.
  const warmed = once(async () => void (await ktRun(['-j', '1', ...base, ...tests], results, accel)));
  const timed = (jobs: string) =>
    once(async (): Promise<KtRunResult> => {
      await warmed();
      return ktRun(['-j', jobs, ...base, ...tests], results, accel);
    });
  const j1 = timed('1');
  const j2 = timed('2');

  const rows: Record<BenchRow, () => Promise<Record<string, unknown>>> = {
    async boot() {
      const bare: number[] = [];
      const bareUptime: number[] = [];
      const bareQuiet: number[] = [];
      const barePvh: number[] = [];
      const boot: number[] = [];
      const mounted: number[] = [];
      const commands: number[] = [];
      const preflights: string[] = [];
      const testDevs: string[] = [];
      const phases: Record<string, number>[] = [];
      // Alternating, so both see the same load.
      for (let i = 0; i < args.boots; i++) {
        // Both sides of the ratio at one shape (--cpus).
        const b = await bareBoot(kernel, work, accel, false, args.cpus);
        bare.push(b.ms);
        bareUptime.push(b.uptimeMs);
        bareQuiet.push((await bareBoot(kernel, work, accel, true, args.cpus)).ms);
        if (entry.entry === 'pvh') barePvh.push((await bareBoot(entry.path, work, accel, true, args.cpus)).ms);
        const r = await ready({ measureTestMount: true, cpus: args.cpus });
        try {
          commands.push(await commandRoundTrip(r.machine, COMMAND_ROUND_TRIPS));
        } finally {
          await r.machine.dispose();
        }
        boot.push(r.bootMs);
        readyMs.push(r.readyMs);
        mounted.push(r.testMountedMs!);
        preflights.push(r.preflight);
        testDevs.push(r.testDev);
        phases.push(r.phases);
      }
      return {
        bareMs: bare,
        bareUptimeMs: bareUptime,
        bareQuietMs: bareQuiet,
        // The kernel as kt boots it (its PVH entry, kt's boot parameters): what kt's own part is measured over.
        ...(barePvh.length ? { barePvhMs: barePvh } : {}),
        bootEntry: entry.entry,
        ktBootMs: boot,
        ktReadyMs: readyMs,
        // Ready with TEST_DEV mounted, the boot goal's measure (docs/speed.md, bootBench.ts testMounted).
        ktTestMountedMs: mounted,
        // Per boot: the set-up 'ran' the preflight, or was skipped as 'remembered' (docs/speed.md).
        preflight: preflights,
        // Per boot: TEST_DEV made by the VM's 'mkfs', or a copy of a 'template' (docs/speed.md, "TEST_DEV made once").
        testDev: testDevs,
        ktPhasesMedianMs: medianPhases(phases),
        // Per boot, once ready: the median round trip of a command that does nothing (bootBench.ts commandRoundTrip).
        ktCommandMs: commands,
        // Commands accepted, and ready for the first test (set-up and TEST_DEV mkfs done).
        bootRatio: ratio(median(boot), median(bare)),
        readyRatio: ratio(median(readyMs), median(bare)),
        readyRatioQuiet: ratio(median(readyMs), median(bareQuiet)),
        ...(barePvh.length ? { readyRatioPvh: ratio(median(readyMs), median(barePvh)) } : {}),
        testMountedRatio: ratio(median(mounted), median(bare)),
        goal: 'testMountedRatio <= 1.2 (ready with TEST mounted); readyRatio <= 1.2 (before the mount)',
      };
    },
    async bootCpu() {
      // Where the guest's CPU went from /init to ready, per program (bootCpu.ts), in --boots
      // boots of the boot row's shape; each program's median over them.
      const profiles: BootCpuProfile[] = [];
      for (let i = 0; i < args.boots; i++) {
        const r = await ready({ cpus: args.cpus, extraCmdline: bootCpuTraceParams(args.cpus) });
        try {
          const t = await r.machine.exec(BOOT_CPU_READ_COMMAND, { timeoutMs: 120_000 });
          if (t.exitCode === NO_TRACING_EXIT && t.stdout.includes(NO_TRACING_LINE)) {
            // A kernel built without tracing (kt's tinyconfig test kernel) cannot be profiled: said, not failed.
            return { skipped: 'the kernel has no /sys/kernel/tracing/tracing_on to read: it needs CONFIG_FTRACE and CONFIG_EVENT_TRACING' };
          }
          if (t.exitCode !== 0) throw new Error(`reading the trace failed (exit ${t.exitCode}): ${(t.stderr || t.stdout).trim().slice(-300)}`);
          profiles.push(parseSchedTrace(t.stdout));
        } finally {
          await r.machine.dispose();
        }
      }
      return summarizeBootCpu(profiles);
    },
    async checkStart() {
      const r = await ready();
      try {
        const c = await checkStart(r, tests[0]!);
        return { test: tests[0], firstTestMs: c.firstTestMs, totalMs: c.totalMs, readyMs: r.readyMs };
      } finally {
        await r.machine.dispose();
      }
    },
    async checkPhases() {
      const r = await ready();
      try {
        const c = await checkPhases(r, tests[0]!);
        return { test: tests[0], ...c };
      } finally {
        await r.machine.dispose();
      }
    },
    async scaling() {
      const [a, b] = [await j1(), await j2()];
      return {
        j1WallMs: a.wallMs,
        j2WallMs: b.wallMs,
        efficiency: ratio(a.wallMs, 2 * b.wallMs),
        goal: '>= 0.85',
        // Why it is what it is: how much of the host each run kept busy (-j 2 can gain at most
        // cores / j1HostBusyCores) and how much slower the same tests ran side by side.
        j1HostBusyCores: a.hostBusyCores,
        j2HostBusyCores: b.hostBusyCores,
        j1TestSec: a.testSec,
        j2TestSec: b.testSec,
      };
    },
    async batching() {
      const a = await j1();
      const single = await ktRun(['-j', '1', '--batch', '1', ...base, ...tests], results, accel);
      return { batch1AfterBootMs: single.afterBootMs, defaultBatchAfterBootMs: a.afterBootMs, ratio: ratio(single.afterBootMs, a.afterBootMs), note: 'one check call per test vs kt default batching, -j 1, first boot excluded' };
    },
    async rss() {
      const [a, b] = [await j1(), await j2()];
      return { j1PeakKiB: a.peakRssKiB, j2PeakKiB: b.peakRssKiB, addedBySecondVmKiB: b.peakRssKiB - a.peakRssKiB };
    },
    async overhead() {
      // One kt run and one in-guest check differ by ±10% from run to run on this kind of host
      // (the same list at -j 1: 29.0–34.2 s of tests), more than the 5% the goal allows: so
      // `--boots` alternating pairs, each ratio kept, the median of each side compared.
      const kt: number[] = [];
      const inGuest: number[] = [];
      // The kt runs use the history the warm-up run leaves.
      await warmed();
      for (let i = 0; i < args.boots; i++) {
        // The VM shape of the timed kt runs (base: --cpus 1), so the two sides differ only by kt.
        const r = await ready({ cpus: 1 });
        try {
          const t0 = Date.now();
          // check's own order, as a user would type the list.
          await r.machine.exec(renderCheckCommand('xfs', [...tests].sort()), { timeoutMs: 3_600_000 });
          inGuest.push(Date.now() - t0);
        } finally {
          await r.machine.dispose();
        }
        // A run of its own, right after its pair's check (not the one the scaling, batching and
        // rss rows share, which ran minutes before).
        kt.push((await ktRun(['-j', '1', ...base, ...tests], results, accel)).afterBootMs);
      }
      return {
        // The medians, under the field names a single pair had; every pair's below.
        ktAfterBootMs: median(kt),
        inGuestCheckMs: median(inGuest),
        ktAfterBootRunsMs: kt,
        inGuestCheckRunsMs: inGuest,
        pairRatios: kt.map((k, i) => ratio(k, inGuest[i]!)),
        ratio: ratio(median(kt), median(inGuest)),
        goal: '<= 1.05',
      };
    },
    async recovery() {
      // In boots of this host: the boot row's median readiness, else one boot for it.
      if (readyMs.length === 0) {
        const r = await ready();
        await r.machine.dispose();
        readyMs = [r.readyMs];
      }
      return recoveryRow({ tree: treeDir, tests: lists.recoveryTests, work, accel, readyMs: median(readyMs), ...(args.kernel ? { kernel } : {}) });
    },
    async restore() {
      return restoreRow({ image: bootImage, fstestsImage, fstestsDir: treeDir, work, accel, boots: args.boots, preflight });
    },
    async virtiofsBoot() {
      return virtiofsBootRow({ image, fstestsImage, fstestsDir: treeDir, cacheDir, work, accel, boots: args.boots });
    },
  };

  for (const row of args.rows) {
    try {
      log(row, await rows[row]());
    } catch (err) {
      // One row failing does not lose the others; the run exits 1 and the row says why.
      if (isKtError(err) && err.exitCode === 2) throw err;
      failed.push(row);
      log(row, { error: err instanceof Error ? err.message : String(err) });
      killAllNow();
    }
  }
  return { out, failed };
}

function removeAll(dirs: readonly string[]): void {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
}

async function main(): Promise<number> {
  const started = new Date();
  const cleanup: string[] = [];
  const onSignal = (signal: NodeJS.Signals, code: number) => {
    process.stderr.write(`bench: ${signal}: stopping\n`);
    stopKtChildren();
    killAllNow();
    // kt children shut their own VMs down; then nothing of the benchmark is left.
    void ktChildrenExited().finally(() => {
      removeAll(cleanup);
      process.exit(code);
    });
  };
  process.once('SIGINT', () => onSignal('SIGINT', 130));
  process.once('SIGTERM', () => onSignal('SIGTERM', 143));
  try {
    const args = parseBenchArgs(process.argv.slice(2), process.env);
    const { out, failed } = await bench(args, started, cleanup);
    const dir = path.join(REPO, 'bench/results');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
    const json = JSON.stringify(out, null, 2) + '\n';
    fs.writeFileSync(file, json);
    process.stdout.write(json);
    process.stderr.write(`bench: written to ${file}${failed.length ? `; rows that failed: ${failed.join(', ')}` : ''}\n`);
    return failed.length ? 1 : 0;
  } catch (err) {
    if (isKtError(err)) {
      process.stderr.write(formatBenchError(err) + '\n');
      return err.exitCode;
    }
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  } finally {
    killAllNow();
    removeAll(cleanup);
  }
}

if (process.argv[2] === 'simulate') {
  // The scheduler at scale on simulated VMs and a simulated clock (docs/simulate.md).
  process.exitCode = await (await import('./simulate/command.js')).simulateCommand(process.argv.slice(3));
} else {
  process.exitCode = await main();
}
