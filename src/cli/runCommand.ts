/**
 * `kt run`: normalise the config, plan on the host, make sure the image exists, choose the
 * accelerator, then compose the runner — machine factory, guest steps, event log, live
 * progress — run it, and turn the record into reports and an exit code. Signals, printing and
 * the exit code live here; the runner does none of them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { normalizeRunConfig, type RunArgs, type RunConfig } from '../config/runConfig.js';
import { ExitCode, HostError, formatError, isKtError, type KtError } from '../errors.js';
import type { RunEvent } from '../record/events.js';
import { expectedSeconds, loadRunHistory, saveHistory, startupOf, updateHistory, updateStartups, historyKey, type History, type Startups } from '../record/history.js';
import { artifactPath, createRunDirAndLink, makeRunId, writeArtifact } from '../record/runDir.js';
import { summarizeRun } from '../record/summarize.js';
import { exitCodeFor } from '../record/verdict.js';
import { batchSize, outsideTestDeadlineSec, testDeadlineSec } from '../runner/order.js';
import { describeExclusions, planRun, type PlannedRun } from '../runner/plan.js';
import { parseKernelVersion } from '../config/excludes.js';
import { readBzImageRelease } from '../config/kernelFile.js';
import { ensureImage, IMAGE_FILES, imagePaths, hashImageInputs, imageRecipe, loadGuestFiles, readCachedImage, resolveCacheDir, type GuestImage } from '../vm/image/index.js';
import { requireQemu } from '../vm/qemuBinary.js';
import { parseHostKeyLine } from '../vm/hostKey.js';
import { killAllNow } from '../vm/processRegistry.js';
import { makeRunTempDir, removeLeftoverRunTempDirs } from '../vm/runTempDir.js';
import type { Accel } from '../vm/spec.js';
import { bootKernelFor, IMAGE_VMLINUX, type BootKernel } from '../vm/pvh/pvhKernel.js';
import { loadRunBaseline, retryPolicyFor, verdictFor, type RunBaseline, type RunOptions } from './runBaseline.js';
import { machineOptions, pinBootKernel, pinnedKernelPath, renderMachineCommand, type DirectArtifacts, type RunIdentity } from './machines.js';
import { sizeRun } from './runSizing.js';
import { handleStopSignals, type StopSignal } from './signals.js';
import { ktVersion } from './version.js';
import { releaseHungUpTerminal } from './terminal.js';
import { preflightMemo } from './preflightMemo.js';
import { testDevTemplates } from './testDevTemplates.js';
import type { PreflightMemo, TestDevTemplates } from '../runner/guestSetup.js';
import { printWarning, type Warn } from './printWarning.js';

/** Test deadlines: TCG runs fstests 20–40× slower than metal (measured: `npm run bench`). */
const DEADLINE = {
  kvm: { factor: 5, floorSec: 120, ceilingSec: 3600 },
  tcg: { factor: 5, floorSec: 600, ceilingSec: 3 * 3600 },
};

/** Placeholders for what only a real run creates, in `--dry-run` output. */
const DRY_RUN_ID: RunIdentity = { runId: 'DRYRUN', baseDir: path.join(os.tmpdir(), 'kt-XXXXXX'), sshKeyBlob: '<per-run-ed25519-key>' };

/** Where `--dry-run` shows a run's pin of the image: a real run's names its pid and host. */
const DRY_RUN_IMAGE_PIN = '.pin-PID@HOST@XXXXXX';

/** --dry-run: the plan and the exact command line of each VM, without building or booting. */
async function printDryRun(config: RunConfig, plan: PlannedRun, cacheDir: string): Promise<void> {
  const recipeHash = hashImageInputs(imageRecipe(await loadGuestFiles()));
  const paths = imagePaths(cacheDir, recipeHash);
  const boot = config.backend.kind === 'direct' ? chooseBootKernel(config, config.kernel ?? paths.kernel, paths.dir) : undefined;
  const chosen: DirectArtifacts = { kernel: paths.kernel, ...(boot ? { boot } : {}), initramfs: paths.initramfs, rootImage: paths.rootImage, fstestsImage: path.join(cacheDir, 'fstests', '<tree-hash>.img'), ...(await (await import('./virtiofsRun.js')).dryRunVirtiofs(config, { hash: recipeHash, rootImage: paths.rootImage }, cacheDir, printWarning)) };
  // A real run boots its copy of the user's kernel (pinBootKernel), in its temporary directory,
  // and kt's image from its pin beside the image (src/vm/image/pinImage.ts).
  const pinned = pinnedKernelPath(config, chosen, DRY_RUN_ID.baseDir);
  const inPin = (file: string) => (path.dirname(file) === paths.dir ? path.join(paths.imagesDir, DRY_RUN_IMAGE_PIN, path.basename(file)) : file);
  const booted = boot ? { ...boot, path: pinned ?? inPin(boot.path) } : undefined;
  const direct: DirectArtifacts = { ...chosen, kernel: inPin(chosen.kernel), ...(booted ? { boot: booted } : {}), initramfs: inPin(chosen.initramfs), rootImage: inPin(chosen.rootImage) };
  const accel: Accel = config.accel === 'kvm' ? 'kvm' : 'tcg';
  const excluded = plan.sections.reduce((n, s) => n + s.excluded.length, 0);
  const out: string[] = [];
  const sectionNames = config.sections.map((s) => `${s.name} (FSTYP=${s.fstyp})`).join(', ');
  out.push(
    `kt: plan: ${plan.work.length} tests${config.shard ? ` (shard ${config.shard.index}/${config.shard.total} of ${plan.totalBeforeShard})` : ''}, ${excluded} excluded, on ${config.jobs} VM(s), ${config.sections.length > 1 ? 'sections' : 'section'} ${sectionNames}`,
  );
  for (const line of describeExclusions(plan.sections)) out.push(`kt: excluded ${line}`);
  out.push(`kt: kernel: ${config.kernel ?? `${paths.kernel} (image kernel)`}${boot?.entry === 'pvh' ? `, booted by its PVH entry: ${boot.path}` : ''}`);
  if (boot?.why) out.push(`kt: note: ${boot.why}`);
  // Before the image is built its vmlinux does not exist yet: the run decides once it does.
  if (!config.kernel && config.backend.kind === 'direct' && config.kernelEntry === 'auto' && !fs.existsSync(paths.manifest)) out.push('kt: note: the image is not built yet: a run boots its kernel by the PVH entry once the build has made vmlinux');
  const multi = config.sections.length > 1;
  for (const w of plan.work) out.push(`  ${w.test}${multi ? `  [${w.section}]` : ''}`);
  for (let i = 1; i <= Math.min(config.jobs, plan.work.length); i++) out.push(`kt: vm${i}: ${renderMachineCommand(config, accel, DRY_RUN_ID, i, direct)}`);
  if (config.accel === 'auto') out.push('kt: accel auto: KVM if a probe guest boots under it, else TCG (shown as tcg above)');
  process.stdout.write(out.join('\n') + '\n');
}

/**
 * The kernel's version, for exclude rules guarded by one: read from the bzImage header, or from
 * the cached image's manifest for the image kernel; undefined when not known before booting.
 */
async function kernelVersionOf(config: RunConfig, cacheDir: string) {
  if (config.kernel) {
    const release = readBzImageRelease(config.kernel);
    return release ? parseKernelVersion(release) : undefined;
  }
  if (config.backend.kind !== 'direct') return undefined;
  const image = await cachedImage(cacheDir).catch(() => undefined);
  return image ? parseKernelVersion(image.kernelRelease) : undefined;
}

/** The current recipe's image if it is already built (no build). */
async function cachedImage(cacheDir: string): Promise<GuestImage | undefined> {
  const hash = hashImageInputs(imageRecipe(await loadGuestFiles()));
  return readCachedImage(imagePaths(cacheDir, hash));
}

export async function prepareImage(cacheDir: string, rebuild: boolean, signal?: AbortSignal): Promise<GuestImage> {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return ensureImage({
    cacheDir,
    rebuild,
    ...(signal ? { signal } : {}),
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

export async function runCommand(args: RunArgs, argv: string[], options: RunOptions = {}): Promise<number> {
  const requested = normalizeRunConfig(args, argv, process.env, process.cwd());
  // -j auto, --cpus and the host's limits, with the accelerator asked for (TCG unless --accel
  // kvm): a run the host cannot hold stops here, before any build (src/config/runSize.ts).
  let config = sizeRun(requested, requested.accel === 'kvm' ? 'kvm' : 'tcg', requested.dryRun ? { say: (line) => process.stderr.write(line) } : {});
  const baseline = loadRunBaseline(options);
  // The user's kernel: stop now when its config lacks what the guest needs (docs/kernel.md).
  await (await import('./ownKernel.js')).checkOwnKernel(config, (line) => process.stderr.write(line));
  const cacheDir = resolveCacheDir(process.env);
  // Printed now and, in a real run, recorded as its first events (src/runner/run.ts startWarnings).
  const startWarnings: string[] = [];
  const warn: Warn = (message) => {
    printWarning(message);
    startWarnings.push(message);
  };
  const { history, startup } = loadRunHistory(config.resultsDir, warn);
  const plan = planRun(config, history, await kernelVersionOf(config, cacheDir));
  // In dry runs too: what -x passed over is part of the plan's answer.
  for (const w of plan.warnings) warn(w);
  // A NixOS VM that cannot be found fails here, before anything is built or booted.
  if (config.backend.kind === 'nixos') machineOptions(config, 'tcg', DRY_RUN_ID, 1, undefined);
  if (config.dryRun) {
    await printDryRun(config, plan, cacheDir);
    return ExitCode.ok;
  }
  requireQemu();
  for (const line of describeExclusions(plan.sections)) process.stderr.write(`kt: excluded ${line}\n`);

  // Before the runner starts, a signal ends kt at once (the image build and the KVM probe
  // are killed with their process groups); once it runs, a first signal stops it cleanly.
  let running = false;
  let onSecond: (signal: StopSignal) => never = (signal) => exitNow(signal, () => undefined);
  const signals = handleStopSignals(
    (signal) => {
      if (!running) exitNow(signal, () => undefined);
      process.stderr.write(`\nkt: ${signal}: stopping VMs and writing results (${signal === 'SIGINT' ? 'Ctrl-C' : 'signal'} again to kill at once)\n`);
    },
    (signal) => onSecond(signal),
  );
  let prepared: PreparedRun | undefined;
  try {
    prepared = await prepareRun(config, cacheDir, { pin: true, warn });
    // Again with the accelerator the probe chose (-j auto and --cpus differ under KVM).
    config = sizeRun(requested, prepared.accel, { say: (line) => process.stderr.write(line), warn });
    running = true;
    return await runAndReport(config, plan, { history, startup }, prepared, signals.signal, (fn) => (onSecond = fn), baseline, { list: startWarnings, warn });
  } finally {
    try {
      prepared?.release();
    } catch (err) {
      // The links are only a hold on the build: a pin left behind is removed by the next run.
      printWarning(`could not remove the run's hold on the image: ${(err as Error).message}`);
    }
    signals.dispose();
  }
}

/** Temp dirs made before the runner owns cleanup (the KVM probe's, the image pin): removed if kt exits early. */
const pendingTempDirs = new Set<string>();

/** Kills every VM kt started and exits with the signal's code: the second-signal path. */
function exitNow(signal: StopSignal, cleanup: () => void): never {
  killAllNow();
  cleanup();
  for (const dir of pendingTempDirs) fs.rmSync(dir, { recursive: true, force: true });
  releaseHungUpTerminal();
  process.exit(signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm);
}

/** What QEMU's -kernel gets for this run's kernel (docs/speed.md, "PVH entry"). */
function chooseBootKernel(config: RunConfig, kernel: string, imageDir: string): BootKernel {
  if (config.kernelEntry === 'bzimage') return { path: kernel, entry: 'bzImage' };
  // The image's vmlinux belongs to the image kernel only; another kernel's is looked for in its tree.
  return bootKernelFor(kernel, config.kernel ? undefined : path.join(imageDir, IMAGE_VMLINUX));
}

export interface PreparedRun {
  accel: Accel;
  kernel: string | undefined;
  /** The PVH ELF QEMU boots instead of `kernel`, as the record names it (docs/speed.md, "PVH entry"). */
  bootKernel?: string;
  /** Ends the run's hold on its image build (src/vm/image/pinImage.ts); the caller calls it once the run is over. */
  release: () => void;
  direct?: DirectArtifacts;
  /** Whether the fstests tree passed the preflight in this image before (src/cli/preflightMemo.ts). */
  preflight?: PreflightMemo;
  /** TEST_DEV made once per image build and section (src/cli/testDevTemplates.ts). */
  testDevTemplates?: TestDevTemplates;
}

/**
 * Image, fstests image, accelerator: everything before the first VM of the run boots. With
 * `pin`, every VM of the run boots the image build it starts with, whatever is rebuilt meanwhile
 * (src/vm/image/pinImage.ts); the caller then calls `release` when the run ends.
 */
export async function prepareRun(config: RunConfig, cacheDir: string, opts: { pin?: boolean; warn?: Warn } = {}): Promise<PreparedRun> {
  const warn = opts.warn ?? printWarning;
  // What killed kts left in the temp dir goes first, once per command (run and shell come here):
  // the probe below and makeRunTempDir then make directories there.
  removeLeftoverRunTempDirs();
  const direct = config.backend.kind === 'direct';
  if (!direct || !opts.pin) return prepareRunWith(config, cacheDir, direct ? await prepareImage(cacheDir, false) : await cachedImage(cacheDir), () => undefined, warn);
  const { pinImage } = await import('../vm/image/pinImage.js');
  const imagesDir = path.join(cacheDir, 'images');
  // pendingTempDirs: a signal before the runner owns clean-up removes the pin too (exitNow).
  const pin = await pinImage(() => prepareImage(cacheDir, false), imagesDir, pendingTempDirs);
  // The shared cache's image is root's, which a user cannot link (docs/image.md): said there, not at every run.
  if (pin.note && path.dirname(pin.image.dir) === imagesDir) process.stderr.write(`kt: note: ${pin.note}\n`);
  try {
    return await prepareRunWith(config, cacheDir, pin.image, pin.release, warn);
  } catch (err) {
    pin.release();
    throw err;
  }
}

async function prepareRunWith(config: RunConfig, cacheDir: string, image: GuestImage | undefined, release: () => void, warn: Warn): Promise<PreparedRun> {
  const { ensureFstestsImage, resolveAccel } = await import('./runDeps.js');
  // The NixOS backend brings its own kernel, root and fstests; the Debian image still serves
  // the KVM probe when it is cached (the probe only needs a kernel and kt's initramfs).
  const direct = config.backend.kind === 'direct';
  // The user and the record see the image's own paths, not the pin's, which is gone after the run.
  const pinnedFrom = image?.pinnedFrom;
  const shown = (text: string) => (pinnedFrom && image ? text.replaceAll(image.dir, pinnedFrom) : text);
  const say = (line: string) => process.stderr.write(shown(line));
  // The key the pinned build was read with, named by the image's own manifest; a key that is not
  // valid is left to QemuMachine, which refuses it at boot (E_BOOT_HOST_KEY_UNKNOWN).
  const hostKey = pinnedFrom && image && parseHostKeyLine(image.sshHostKey) ? { key: image.sshHostKey, source: path.join(pinnedFrom, IMAGE_FILES.manifest) } : undefined;
  // --rootfs virtiofs serves the image's tree and the fstests tree as they are: no fstests image.
  const virtiofs = direct && image ? await (await import('./virtiofsRun.js')).prepareVirtiofs(config, image, cacheDir, say, (w) => warn(shown(w))) : undefined;
  const fstestsImage = direct ? (virtiofs ? '' : await ensureFstestsImage(config.fstestsDir, cacheDir)) : undefined;
  let decision: { accel: Accel; note?: string | undefined };
  if (image) {
    const probeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-probe-'));
    pendingTempDirs.add(probeDir);
    try {
      decision = await resolveAccel(config.accel, { kernel: image.kernel, initramfs: image.initramfs, cacheDir, workDir: probeDir });
    } finally {
      fs.rmSync(probeDir, { recursive: true, force: true });
      pendingTempDirs.delete(probeDir);
    }
  } else {
    decision = config.accel === 'kvm' ? { accel: 'kvm' } : { accel: 'tcg', note: config.accel === 'auto' ? 'no kt image cached to probe KVM with: using TCG (pass --accel kvm to force KVM)' : undefined };
  }
  if (decision.note) process.stderr.write(`kt: ${decision.note}\n`);
  // What QEMU boots: the user's kernel, or the image's (from the run's pin of the build).
  const bootFrom = config.kernel ?? (direct ? image!.kernel : undefined);
  // The bzImage stays the run's kernel in the record; QEMU boots its PVH ELF when it has one.
  const boot = direct && bootFrom ? chooseBootKernel(config, bootFrom, image!.dir) : undefined;
  const kernel = bootFrom === undefined ? undefined : shown(bootFrom);
  const bootKernel = boot?.entry === 'pvh' ? shown(boot.path) : undefined;
  process.stderr.write(`kt: kernel ${kernel ?? 'of the NixOS VM'}${config.kernelSource === 'image' && direct ? ` (image kernel ${image!.kernelRelease})` : ''}${bootKernel ? `, booted by its PVH entry: ${bootKernel}` : ''}\n`);
  if (boot?.why) say(`kt: note: ${boot.why}\n`);
  const templates = config.testDev === 'template' && direct && image && bootFrom && !virtiofs && config.extraModules.length === 0 ? testDevTemplates(cacheDir, image, bootFrom, config.sections, config.testSizeBytes) : undefined;
  return {
    accel: decision.accel,
    kernel,
    ...(bootKernel ? { bootKernel } : {}),
    release,
    // A virtiofs run shares the live tree, which has no content hash to remember it by.
    ...(direct && image && fstestsImage ? { preflight: preflightMemo(cacheDir, image, fstestsImage) } : {}),
    // The image's mkfs made it: not a NixOS guest's, and kept to kt's image disks (not virtiofs);
    // none beside --module files, which load in the guest while the mkfs runs.
    ...(templates ? { testDevTemplates: templates } : {}),
    ...(direct && image && fstestsImage !== undefined ? { direct: { kernel: image.kernel, ...(boot ? { boot } : {}), initramfs: await (await import('./ownKernel.js')).ownKernelInitramfs(config, image, cacheDir, say), rootImage: image.rootImage, fstestsImage, ...(virtiofs ? { virtiofs } : {}), ...(hostKey ? { hostKey } : {}) } } : {}),
  };
}

async function runAndReport(
  config: RunConfig,
  plan: PlannedRun,
  /** What earlier runs in this results directory measured (record/history.ts). */
  known: { history: History; startup: Startups },
  prepared: PreparedRun,
  stop: AbortSignal,
  setSecondSignal: (fn: (signal: StopSignal) => never) => void,
  baseline: RunBaseline | undefined,
  /** What kt warned about before the run began, and how to add to it until run-start. */
  started: { list: readonly string[]; warn: Warn },
): Promise<number> {
  const { EventLogWriter, createProgressReporter, renderTextSummary, shouldUseColor, renderGithubAnnotations, isGithubActions, writeReports, REPORT_FILES, createCheckStream, createConsoleWatcher, createGuestSteps, generateSshKeyPair, executeRun, createMachineFactory } = await import('./runDeps.js');
  const { history } = known;
  const startupSec = startupOf(known.startup, config.sections.map((s) => s.name));
  const runId = makeRunId(new Date());
  // Before the run directory: failing here (E_TMP_WRITE) leaves no run without a start.
  const baseDir = makeRunTempDir({ keep: config.keep });
  let runDir: string;
  let log: ReturnType<typeof EventLogWriter.open>;
  try {
    const made = createRunDirAndLink(config.resultsDir, runId);
    runDir = made.dir;
    log = EventLogWriter.open(runDir);
    // Said before the run, and recorded with its start (a user's `latest` is never replaced).
    if (made.latest === 'not-a-link') started.warn(`${path.join(config.resultsDir, 'latest')} is not kt's symlink (a file or directory of yours): left alone, so it does not point at this run`);
  } catch (err) {
    fs.rmSync(baseDir, { recursive: true, force: true });
    throw err;
  }
  const progress = createProgressReporter({ stream: process.stderr });
  const keys = generateSshKeyPair();
  const identity: RunIdentity = { runId, baseDir, sshKeyBlob: keys.public.split(' ')[1] ?? '' };
  const removeBaseDir = () => {
    if (!config.keep) fs.rmSync(baseDir, { recursive: true, force: true });
  };
  let logEnded = false;
  setSecondSignal((signal) =>
    exitNow(signal, () => {
      removeBaseDir();
      if (!logEnded) {
        // The record stays complete up to here; `kt report` rebuilds the reports from it.
        try {
          log.append({ type: 'run-end', ts: new Date().toISOString(), status: 'interrupted', wallMs: 0, signal, message: 'killed by a second signal; reports can be rebuilt with kt report' });
          log.close();
        } catch {
          // nothing more can be saved
        }
      }
    }),
  );

  const multiSection = config.sections.length > 1;
  // The kernel every VM boots, copied into the run; a failed copy is a warning of the run's start.
  const direct = pinBootKernel(config, prepared.direct, baseDir, started.warn);
  const deadline = { ...DEADLINE[prepared.accel], ...(config.testTimeoutSec !== undefined ? { override: config.testTimeoutSec } : {}) };
  let result;
  try {
    result = await executeRun({
      runId,
      work: plan.work,
      sections: config.sections.map((s) => ({ name: s.name, fstyp: s.fstyp, mkfsOptions: s.mkfsOptions, mountOptions: s.mountOptions })),
      jobs: config.jobs,
      header: {
        kernel: prepared.kernel ?? 'nixos-vm-kernel',
        ...(prepared.bootKernel ? { bootKernel: prepared.bootKernel } : {}),
        accel: prepared.accel,
        argv: config.argv,
        ktVersion: ktVersion(),
        ...(config.shard ? { shard: `${config.shard.index}/${config.shard.total}` } : {}),
        fstests: config.fstestsDir,
        cwd: process.cwd(),
      },
      sink: (event: RunEvent) => {
        log.append(event);
        progress.onEvent(event);
      },
      createMachine: createMachineFactory(config, prepared.accel, identity, direct, runDir, keys.private, prepared.testDevTemplates),
      guest: createGuestSteps(config.sections, config.fstestsDir, {
        loadModules: config.extraModules.length > 0,
        ...(prepared.preflight ? { preflight: prepared.preflight } : {}),
        ...(prepared.testDevTemplates ? { testDevTemplates: prepared.testDevTemplates } : {}),
      }),
      createCheckStream,
      createConsoleWatcher,
      batchSize: (remaining) => batchSize(remaining, config.jobs, { maxBatch: config.maxBatch }),
      // With history, batches are sized by the tests' last durations (src/runner/order.ts batchBudget).
      // and, until a batch of this run has measured it, by the last run's check start-up.
      batchByTime: { estimateSec: (item) => expectedSeconds(history.get(historyKey(item.section, item.test))), maxBatch: config.maxBatch, unknownSec: plan.unknownSec, startupSec },
      // --test-timeout is a test's deadline; check's start-up and the gaps between tests get
      // their own, in minutes (src/runner/order.ts outsideTestDeadlineSec).
      deadlineSec: (item) => (item ? testDeadlineSec(history.get(historyKey(item.section, item.test)) ?? {}, deadline) : outsideTestDeadlineSec(deadline)),
      retryPolicy: retryPolicyFor(baseline, config.retries),
      saveArtifact: (item, ext, data) => {
        const rel = artifactPath(item.test, item.attempt, ext, multiSection ? item.section : undefined);
        try {
          writeArtifact(runDir, rel, data);
        } catch (err) {
          printWarning(`could not write ${rel}: ${(err as Error).message}`);
        }
        return rel;
      },
      ...(config.vmcore
        ? {
            saveVmcore: async (machine) => {
              const rel = `vmcore/${machine.name}.elf`;
              fs.mkdirSync(path.join(runDir, 'vmcore'), { recursive: true });
              await machine.dumpGuestMemory(path.join(runDir, rel), 120_000);
              return rel;
            },
          }
        : {}),
      consoleLogOf: (machine) => `console/${machine.name}.log`,
      spares: config.spares,
      startWarnings: started.list,
      stop,
    });
  } finally {
    killAllNow();
    removeBaseDir();
    logEnded = true;
    try {
      log.close();
    } catch {
      // a full disk was reported through the run's error already
    }
    progress.close();
  }

  // The record is complete: one summary for every report, the terminal and the exit code.
  const summary = summarizeRun(result.events);
  let error: KtError | undefined = result.error;
  let verdict: ReturnType<typeof verdictFor>;
  try {
    verdict = verdictFor(summary, baseline);
  } catch (err) {
    // A verdict that cannot be computed must not cost the run its reports: they are written
    // without it, and the run exits 3 with the way to judge it again.
    error ??= new HostError(
      'E_VERDICT_FAILED',
      `the run could not be judged against ${baseline?.file ?? 'the baseline'}: ${err instanceof Error ? err.message : String(err)}`,
      `the reports were written without a verdict; judge them again with kt report ${runDir} --baseline FILE`,
    );
  }
  try {
    await writeReports(runDir, summary, verdict);
  } catch (err) {
    if (!error && isKtError(err)) error = err;
  }
  try {
    saveHistory(config.resultsDir, updateHistory(history, result.events), updateStartups(known.startup, result.events));
  } catch {
    // History only orders the next run; its loss is harmless.
  }
  process.stdout.write(renderTextSummary(summary, { color: shouldUseColor(process.stdout), runDirs: { [runId]: runDir }, ...(verdict ? { verdict } : {}) }) + '\n');
  if (isGithubActions(process.env)) {
    for (const line of renderGithubAnnotations(summary, verdict)) process.stdout.write(line + '\n');
    const stepSummary = process.env.GITHUB_STEP_SUMMARY;
    if (stepSummary) {
      try {
        fs.appendFileSync(stepSummary, fs.readFileSync(path.join(runDir, REPORT_FILES.markdown)));
      } catch {
        // The step summary is a convenience; the artifacts hold the report.
      }
    }
  }
  process.stdout.write(`kt: results in ${runDir}\n`);
  if (error) process.stderr.write(formatError(error) + '\n');
  const signal: unknown = stop.reason;
  if (result.status === 'interrupted') return signal === 'SIGTERM' ? ExitCode.sigterm : ExitCode.sigint;
  if (error) return error.exitCode;
  return exitCodeFor(summary, verdict);
}
