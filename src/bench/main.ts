/**
 * `npm run bench`: kt's speed and memory figures, measured in one run on
 * this host and written as JSON to bench/results/<timestamp>.json. Figures are ratios of runs
 * on the same machine in the same minute: absolute times on shared hosts drift.
 *
 *   boot        kt's qemu start → commands accepted, vs the same kernel booting a bare busybox
 *               initramfs to its first userspace line, same accelerator (goal ≤ 1.2)
 *   scaling     wall(-j 1) / (2 × wall(-j 2)) on the same test list (goal ≥ 0.85)
 *   overhead    kt -j 1 (boot excluded) vs one in-guest ./check of the same list (goal ≤ 1.05)
 *   rss         kt's own host RSS (the node process, VMs excluded) at -j 1 and -j 2, per VM
 *   batching    the same list with one check call per test vs kt's batches (why batches)
 *   recovery    guest panic → next test running on the replacement VM, in boots (goal ≤ 1 boot + 2 s)
 *   virtiofsBoot  --rootfs virtiofs boot vs the image boot, same kernel (src/bench/virtiofsBoot.ts)
 */
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ssh2 from 'ssh2';
import { ensureImage } from '../vm/image/index.js';
import { resolveCacheDir } from '../vm/image/cacheDir.js';
import { writeCpio } from '../vm/image/cpio.js';
import { launchQemu } from '../vm/launch.js';
import { QemuMachine } from '../vm/qemuMachine.js';
import { resolveVmSpec } from '../vm/spec.js';
import { ensureFstestsImage } from '../vm/fstestsImage.js';
import { renderCheckCommand } from '../runner/guestCommands.js';
import { createGuestSteps } from '../runner/guestSetup.js';
import { virtiofsBootRow } from './virtiofsBoot.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const KT = path.join(REPO, 'bin/kt.js');
const ACCEL = (process.env.KT_BENCH_ACCEL as 'tcg' | 'kvm' | undefined) ?? 'tcg';
const BOOTS = Number(process.env.KT_BENCH_BOOTS ?? 3);
/** A list with every outcome kind and a spread of durations (fixture tree). */
const TESTS = ['generic/001', 'generic/002', 'generic/003', 'generic/004', 'xfs/001', 'selftest/001', 'selftest/002', 'selftest/003', 'selftest/004', 'selftest/900', 'selftest/901', 'selftest/905'];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function fixtureTree(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-bench-fstests-'));
  fs.cpSync(path.join(REPO, 'test/fixtures/fstests'), dir, { recursive: true });
  await execa('make', ['-s', '-C', dir]);
  return dir;
}

/** Bare boot: the same kernel with an initramfs of busybox whose init prints a marker. */
async function bareBootMs(kernel: string, work: string): Promise<number> {
  const busybox = fs.readFileSync('/bin/busybox');
  const init = '#!/bin/busybox sh\n/bin/busybox echo KT-BARE-READY\n/bin/busybox poweroff -f\n';
  const cpio = writeCpio([
    { kind: 'dir', path: 'bin' },
    { kind: 'dir', path: 'dev' },
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1, mode: 0o600 },
    { kind: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
    { kind: 'file', path: 'init', data: Buffer.from(init), mode: 0o755 },
  ]);
  const initrd = path.join(work, 'bare.cpio');
  fs.writeFileSync(initrd, cpio);
  const argv = [
    'qemu-system-x86_64', '-machine', 'q35', '-accel', ACCEL === 'kvm' ? 'kvm' : 'tcg,thread=multi', '-cpu', ACCEL === 'kvm' ? 'host' : 'max',
    '-smp', '2', '-m', '2048M', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0,115200 rdinit=/init panic=-1',
    '-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console',
  ];
  const started = Date.now();
  const q = launchQemu(argv, { cwd: work });
  let text = '';
  const ms = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bare boot timed out')), 120_000);
    q.onConsole((c) => {
      text += c.toString('latin1');
      if (text.includes('KT-BARE-READY')) {
        clearTimeout(timer);
        resolve(Date.now() - started);
      }
    });
  });
  await q.kill(500);
  return ms;
}

/** kt's boot: the real QemuMachine, qemu start → `uname -r` answered over ssh. */
async function ktBootMs(image: { kernel: string; initramfs: string; rootImage: string }, fstestsImage: string, work: string, index: number) {
  const keys = ssh2.utils.generateKeyPairSync('ed25519');
  const spec = resolveVmSpec({
    runId: 'bench', index, accel: ACCEL, cpus: 2, memoryMiB: 2048,
    kernel: image.kernel, initramfs: image.initramfs, rootImage: image.rootImage, fstestsImage,
    testSizeBytes: 5 * 2 ** 30, scratchSizeBytes: 5 * 2 ** 30, extraCmdline: [], baseDir: work,
    sshKeyBlob: keys.public.split(' ')[1]!, transport: 'virtio-serial', hungTaskTimeoutSec: 0, vmcore: false,
  });
  const m = new QemuMachine({ spec, name: `vm${index}`, consoleLogPath: path.join(work, `console-${index}.log`), privateKey: keys.private, bootTimeoutMs: 300_000, keep: false });
  const ac = new AbortController();
  const { bootMs } = await m.boot(ac.signal);
  return { bootMs, machine: m };
}

interface KtRunResult {
  wallMs: number;
  /** From the first machine-up to run-end: the run without its first boot. */
  afterBootMs: number;
  peakRssKiB: number;
  runDir: string;
}

async function ktRun(args: string[], results: string): Promise<KtRunResult> {
  const child = execa('node', [KT, 'run', '--accel', ACCEL, '--results', results, ...args], { reject: false, env: { ...process.env, NO_COLOR: '1' } });
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peak = Math.max(peak, rss);
    } catch {
      // exited
    }
  }, 200);
  const started = Date.now();
  const r = await child;
  clearInterval(sampler);
  const wallMs = Date.now() - started;
  const runDir = fs.realpathSync(path.join(results, 'latest'));
  const events = fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; ts: string; test?: string });
  const up = events.find((e) => e.type === 'machine-up')!;
  const end = events.find((e) => e.type === 'run-end')!;
  if (r.exitCode !== 0 && r.exitCode !== 1) throw new Error(`kt run failed (${r.exitCode}): ${r.stderr}`);
  return { wallMs, afterBootMs: Date.parse(end.ts) - Date.parse(up.ts), peakRssKiB: peak, runDir };
}

async function main(): Promise<void> {
  const started = new Date();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-bench-'));
  const cacheDir = resolveCacheDir(process.env);
  const image = await ensureImage({ cacheDir, onProgress: (l) => process.stderr.write(`${l}\n`) });
  const tree = await fixtureTree();
  const fstestsImage = await ensureFstestsImage(tree, cacheDir);
  const results = path.join(work, 'results');
  const out: Record<string, unknown> = { date: started.toISOString(), host: os.hostname(), cpus: os.cpus().length, accel: ACCEL, tests: TESTS };
  const log = (k: string, v: unknown) => {
    out[k] = v;
    process.stderr.write(`bench: ${k}: ${JSON.stringify(v)}\n`);
  };

  try {
    // 1. Boot.
    const bare: number[] = [];
    const kt: number[] = [];
    for (let i = 0; i < BOOTS; i++) {
      bare.push(await bareBootMs(image.kernel, work));
      const { bootMs, machine } = await ktBootMs(image, fstestsImage, work, i + 1);
      kt.push(bootMs);
      await machine.dispose();
    }
    log('boot', { bareMs: bare, ktMs: kt, ratio: +(median(kt) / median(bare)).toFixed(3), goal: '<= 1.2' });

    // 2. Scaling -j 1 vs -j 2 (the history from the first run orders the second: run j1 twice).
    await ktRun(['-j', '1', '--fstests', tree, ...TESTS], results);
    const j1 = await ktRun(['-j', '1', '--fstests', tree, ...TESTS], results);
    const j2 = await ktRun(['-j', '2', '--fstests', tree, ...TESTS], results);
    log('scaling', { j1WallMs: j1.wallMs, j2WallMs: j2.wallMs, efficiency: +(j1.wallMs / (2 * j2.wallMs)).toFixed(3), goal: '>= 0.85' });

    // Batch size: one check invocation per test against kt's default batches (same list, -j 1).
    const single = await ktRun(['-j', '1', '--batch', '1', '--fstests', tree, ...TESTS], results);
    log('batching', { batch1AfterBootMs: single.afterBootMs, defaultBatchAfterBootMs: j1.afterBootMs, ratio: +(single.afterBootMs / j1.afterBootMs).toFixed(3), note: 'one check call per test vs kt default batching' });

    // 4. RSS of kt itself.
    log('rss', { j1PeakKiB: j1.peakRssKiB, j2PeakKiB: j2.peakRssKiB, perVmKiB: Math.round(j2.peakRssKiB / 2), addedBySecondVmKiB: j2.peakRssKiB - j1.peakRssKiB });

    // 3. kt -j 1 (boot excluded) vs one in-guest ./check of the same list on a fresh VM.
    const { machine } = await ktBootMs(image, fstestsImage, work, 90);
    const guest = createGuestSteps([{ name: 'xfs', fstyp: 'xfs', mkfsOptions: '', mountOptions: '', env: {} }], tree);
    await guest.setupGuest(machine);
    await guest.prepareSection(machine, 'xfs');
    const t0 = Date.now();
    await machine.exec(renderCheckCommand('xfs', [...TESTS].sort()), { timeoutMs: 3_600_000 });
    const checkMs = Date.now() - t0;
    await machine.dispose();
    log('overhead', { ktAfterBootMs: j1.afterBootMs, inGuestCheckMs: checkMs, ratio: +(j1.afterBootMs / checkMs).toFixed(3), goal: '<= 1.05' });

    // 5. Recovery after a panic: selftest/005 crashes vm1; the next test starts on vm2.
    // check's order puts xfs/001 after selftest/005, so it runs on the replacement VM.
    const crash = await ktRun(['-j', '1', '--fstests', tree, 'selftest/005', 'xfs/001'], results);
    const events = fs.readFileSync(path.join(crash.runDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; ts: string; test?: string; bootMs?: number; outcome?: { status: string } });
    const crashed = events.find((e) => e.type === 'test-end' && e.outcome?.status === 'crashed')!;
    const next = events.find((e) => e.type === 'test-begin' && e.test === 'xfs/001')!;
    const secondBoot = events.filter((e) => e.type === 'machine-up')[1]!;
    const recoveryMs = Date.parse(next.ts) - Date.parse(crashed.ts);
    log('recovery', { panicToNextTestMs: recoveryMs, bootMs: secondBoot.bootMs, inBoots: +(recoveryMs / secondBoot.bootMs!).toFixed(3), overBootMs: recoveryMs - secondBoot.bootMs!, goal: '<= 1 boot + 2000 ms' });

    // 6. Imageless boot (--rootfs virtiofs) against the image boot.
    log('virtiofsBoot', await virtiofsBootRow({ image, fstestsImage, fstestsDir: tree, cacheDir, work, accel: ACCEL, boots: BOOTS }));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(tree, { recursive: true, force: true });
  }
  const dir = path.join(REPO, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(`${JSON.stringify(out, null, 2)}\nbench: written to ${file}\n`);
}

if (process.argv[2] === 'simulate') {
  // The scheduler at scale on simulated VMs and a simulated clock (docs/simulate.md).
  process.exitCode = await (await import('./simulate/command.js')).simulateCommand(process.argv.slice(3));
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
