/**
 * `kt run`: normalise the config, plan on the host, make sure the image exists, choose the
 * accelerator, then hand everything to executeRun. Prints; the runner does not.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { normalizeRunConfig, type RunArgs, type RunConfig } from '../config/runConfig.js';
import { ExitCode, formatError } from '../errors.js';
import { renderLocalConfig } from '../fstests/localConfig.js';
import { EventLogWriter } from '../record/eventLog.js';
import { createProgressReporter } from '../reporters/progress.js';
import { renderTextSummary } from '../reporters/text.js';
import { shouldUseColor } from '../reporters/color.js';
import { renderGithubAnnotations, isGithubActions } from '../reporters/github.js';
import { summarizeRun } from '../record/summarize.js';
import { writeReports, REPORT_FILES } from '../reporters/writeReports.js';
import { createCheckStream, createConsoleWatcher } from '../runner/adapters.js';
import {
  GUEST_RESULT_BASE,
  GUEST_SCRATCH_DEV,
  GUEST_TEST_DEV,
} from '../runner/guestCommands.js';
import { planRun, type PlannedRun } from '../runner/plan.js';
import { executeRun } from '../runner/run.js';
import { resolveAccel } from '../vm/accel.js';
import { ensureFstestsImage } from '../vm/fstestsImage.js';
import { ensureImage, imagePaths, hashImageInputs, imageRecipe, loadGuestFiles, readCachedImage, type GuestImage } from '../vm/image/index.js';
import { renderQemuArgs } from '../vm/qemuArgs.js';
import { resolveVmSpec } from '../vm/spec.js';
import { requireQemu } from '../vm/qemuBinary.js';
import { killAllNow } from '../vm/processRegistry.js';
import { shellJoin } from '../util/shell.js';
import { renderNixosDryRun, resolveNixosVmSpec } from '../vm/nixos/index.js';
import { ktVersion } from './version.js';

export function localConfigFor(config: RunConfig): string {
  return renderLocalConfig({
    fstyp: config.suite.fstyp,
    testDev: GUEST_TEST_DEV,
    testDir: '/mnt/test',
    scratchDev: GUEST_SCRATCH_DEV,
    scratchMnt: '/mnt/scratch',
    resultBase: GUEST_RESULT_BASE,
    ...(config.suite.mkfsOptions ? { mkfsOptions: config.suite.mkfsOptions } : {}),
    ...(config.suite.mountOptions ? { mountOptions: config.suite.mountOptions } : {}),
    // by-id names are symlinks; fstests compares canonical device names (fstests.md §1.3).
    // KEEP_DMESG: check keeps every test's <seq>.dmesg, not only the ones it found something
    // in, so kt has the kernel log of each test (fstests.md §1.3).
    extra: { CANON_DEVS: 'yes', KEEP_DMESG: 'yes', ...config.suite.env },
  });
}

/** --dry-run: the plan and the exact qemu argv of VM 1, without building or booting. */
async function printDryRun(config: RunConfig, plan: PlannedRun): Promise<void> {
  const recipeHash = hashImageInputs(imageRecipe(await loadGuestFiles()));
  const paths = imagePaths(config.cacheDir, recipeHash);
  const out: string[] = [];
  out.push(`kt: plan: ${plan.tests.length} tests${config.shard ? ` (shard ${config.shard.index}/${config.shard.total} of ${plan.totalBeforeShard})` : ''}, ${plan.expunged.length} excluded, on ${config.jobs} VM(s), suite ${config.suite.name} (FSTYP=${config.suite.fstyp})`);
  out.push(`kt: kernel: ${config.kernel ?? `${paths.kernel} (image kernel)`}`);
  for (const t of plan.tests) out.push(`  ${t}`);
  for (let i = 1; i <= Math.min(config.jobs, plan.tests.length); i++) {
    if (config.backend.kind === 'nixos') {
      const nixSpec = resolveNixosVmSpec({
        runId: 'DRYRUN', index: i, accel: config.accel === 'kvm' ? 'kvm' : 'tcg', cpus: config.cpus, memoryMiB: config.memoryMiB,
        runScript: config.backend.runScript, systemName: config.backend.systemName,
        ...(config.kernel ? { kernel: config.kernel } : {}),
        extraCmdline: config.append, baseDir: path.join(os.tmpdir(), 'kt-XXXXXX'), sshKeyBlob: '<per-run-ed25519-key>',
        transport: config.transport, tcpPort: config.transport === 'tcp' ? 0 : undefined, hungTaskTimeoutSec: 0, vmcore: config.vmcore,
      });
      out.push(`kt: vm${i}: ${renderNixosDryRun(nixSpec)}`);
      continue;
    }
    const spec = resolveVmSpec({
      runId: 'DRYRUN',
      index: i,
      accel: config.accel === 'kvm' ? 'kvm' : 'tcg',
      cpus: config.cpus,
      memoryMiB: config.memoryMiB,
      kernel: config.kernel ?? paths.kernel,
      initramfs: paths.initramfs,
      rootImage: paths.rootImage,
      fstestsImage: path.join(config.cacheDir, 'fstests', '<tree-hash>.img'),
      testSizeBytes: config.testSizeBytes,
      scratchSizeBytes: config.scratchSizeBytes,
      extraCmdline: config.append,
      baseDir: path.join(os.tmpdir(), 'kt-XXXXXX'),
      sshKeyBlob: '<per-run-ed25519-key>',
      transport: config.transport,
      tcpPort: config.transport === 'tcp' ? 0 : undefined,
      hungTaskTimeoutSec: 0,
      vmcore: config.vmcore,
    });
    out.push(`kt: vm${i}: ${shellJoin(renderQemuArgs(spec))}`);
  }
  if (config.accel === 'auto') out.push('kt: accel auto: KVM if a probe guest boots under it, else TCG (shown as tcg above)');
  process.stdout.write(out.join('\n') + '\n');
}


/** The current recipe's image if it is already built (no build). */
async function cachedImage(cacheDir: string): Promise<GuestImage | undefined> {
  const hash = hashImageInputs(imageRecipe(await loadGuestFiles()));
  return readCachedImage(imagePaths(cacheDir, hash));
}

export async function prepareImage(cacheDir: string, rebuild: boolean): Promise<GuestImage> {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return ensureImage({
    cacheDir,
    rebuild,
    onProgress: (line) => {
      // Full mmdebstrap output on a terminal is noise; one line a second says it is alive.
      const now = Date.now();
      if (!tty || now - last > 1000 || line.startsWith('kt:')) {
        last = now;
        process.stderr.write(`${line.startsWith('kt') ? line : `kt: image: ${line}`}\n`);
      }
    },
  });
}

export async function runCommand(args: RunArgs, argv: string[]): Promise<number> {
  const config = normalizeRunConfig(args, argv, process.env, process.cwd());
  const plan = planRun(config);
  if (config.dryRun) {
    await printDryRun(config, plan);
    return ExitCode.ok;
  }
  requireQemu();
  // Until the runner installs its own handlers: a signal during the image build or the KVM
  // probe must not leave the probe's QEMU (which may hang forever on a broken KVM) behind.
  const probeDirs: string[] = [];
  const onEarlySignal = (signal: NodeJS.Signals) => {
    killAllNow();
    for (const dir of probeDirs) fs.rmSync(dir, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm);
  };
  const early = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of early) process.on(s, onEarlySignal);
  try {
    return await prepareAndRun(config, plan, probeDirs, () => {
      for (const s of early) process.off(s, onEarlySignal);
    });
  } finally {
    for (const s of early) process.off(s, onEarlySignal);
  }
}

async function prepareAndRun(config: RunConfig, plan: PlannedRun, probeDirs: string[], beforeRun: () => void): Promise<number> {
  const direct = config.backend.kind === 'direct';
  // The NixOS backend brings its own kernel, root and fstests; the Debian image still serves
  // the KVM probe when it is cached (the probe only needs a kernel and kt's initramfs).
  const image = direct ? await prepareImage(config.cacheDir, false) : await cachedImage(config.cacheDir);
  const fstestsImage = direct ? await ensureFstestsImage(config.fstestsDir, config.cacheDir) : undefined;
  let decision: { accel: 'kvm' | 'tcg'; note?: string };
  if (image) {
    const probeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-probe-'));
    probeDirs.push(probeDir);
    try {
      decision = await resolveAccel(config.accel, { kernel: image.kernel, initramfs: image.initramfs, cacheDir: config.cacheDir, workDir: probeDir });
    } finally {
      fs.rmSync(probeDir, { recursive: true, force: true });
    }
  } else {
    decision = config.accel === 'kvm' ? { accel: 'kvm' } : { accel: 'tcg', note: config.accel === 'auto' ? 'no kt image cached to probe KVM with: using TCG (pass --accel kvm to force KVM)' : undefined };
  }
  if (decision.note) process.stderr.write(`kt: ${decision.note}\n`);
  const kernel = config.kernel ?? (direct ? image!.kernel : undefined);
  process.stderr.write(`kt: kernel ${kernel ?? 'of the NixOS VM'}${config.kernelSource === 'image' && direct ? ` (image kernel ${image!.kernelRelease})` : ''}\n`);

  beforeRun();
  const progress = createProgressReporter({ stream: process.stderr });
  const result = await executeRun({
    config,
    plan,
    accel: decision.accel,
    kernel,
    ...(direct && image ? { initramfs: image.initramfs, rootImage: image.rootImage, fstestsImage } : {}),
    localConfig: localConfigFor(config),
    ktVersion: ktVersion(),
    createCheckStream,
    createConsoleWatcher,
    onEvent: (event) => progress.onEvent(event),
    writeReports: (runDir, events) => writeReports(runDir, events),
    openEventLog: (runDir) => EventLogWriter.open(runDir),
  });
  progress.close();

  const summary = summarizeRun(result.events);
  process.stdout.write(renderTextSummary(summary, { color: shouldUseColor(process.stdout) }) + '\n');
  if (isGithubActions(process.env)) {
    for (const line of renderGithubAnnotations(summary)) process.stdout.write(line + '\n');
    const stepSummary = process.env.GITHUB_STEP_SUMMARY;
    if (stepSummary) {
      try {
        fs.appendFileSync(stepSummary, fs.readFileSync(path.join(result.runDir, REPORT_FILES.markdown)));
      } catch {
        // The step summary is a convenience; the artifacts hold the report.
      }
    }
  }
  process.stdout.write(`kt: results in ${result.runDir}\n`);
  if (result.error) process.stderr.write(formatError(result.error) + '\n');
  return result.exitCode;
}
