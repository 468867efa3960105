/**
 * `kt run`, end to end: plan on the host, prepare the image, boot N workers, stream every
 * event to events.jsonl, write the reports, pick the exit code. Signals stop it cleanly.
 */
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import type { RunConfig } from '../config/runConfig.js';
import { ExitCode, HostError, isKtError, type KtError } from '../errors.js';
import { EVENTS_VERSION, type EventInput, type RunEvent } from '../record/events.js';
import { summarizeRun } from '../record/summarize.js';
import { hasFailures } from '../record/runSummary.js';
import { Dispatcher } from './dispatcher.js';
import { Worker } from './worker.js';
import { batchSize, testDeadlineSec } from './order.js';
import { historyKey, loadHistory, saveHistory, updateHistory, type History } from '../record/history.js';
import { artifactPath, createRunDir, makeRunId, writeArtifact } from './runDir.js';
import type { PlannedRun } from './plan.js';
import { killAllNow } from '../vm/processRegistry.js';
import { resolveVmSpec } from '../vm/spec.js';
import { BootError, QemuMachine } from '../vm/qemuMachine.js';
import { NixosMachine, resolveNixosVmSpec } from '../vm/nixos/index.js';
import type { Machine } from '../vm/machine.js';
import type { Accel } from '../vm/spec.js';
import { renderGuestSetup } from './guestCommands.js';
import { freePort } from '../vm/freePort.js';
import type { CheckStream, ConsoleWatcher } from './ports.js';

/** Everything a run needs that is not in RunConfig: resolved artifacts and adapters. */
export interface RunInputs {
  config: RunConfig;
  plan: PlannedRun;
  accel: Accel;
  /** Kernel booted (for the record); undefined = the NixOS VM's own. */
  kernel: string | undefined;
  /** Debian backend only: kt's initramfs, root image and the packed fstests tree. */
  initramfs?: string;
  rootImage?: string;
  fstestsImage?: string;
  /** fstests local.config for the guest. */
  localConfig: string;
  ktVersion: string;
  createCheckStream(): CheckStream;
  createConsoleWatcher(): ConsoleWatcher;
  /** Live reporter (terminal); receives every event after it is logged. */
  onEvent(event: RunEvent): void;
  /** Writes junit.xml, summary.json, report.md from the events. */
  writeReports(runDir: string, events: RunEvent[]): Promise<unknown>;
  openEventLog(runDir: string): { append(event: RunEvent): void; close(): void };
}

export interface RunResult {
  exitCode: number;
  runDir: string;
  events: RunEvent[];
  error?: KtError;
}

/** Test deadlines: TCG runs fstests 20–40× slower than metal (fstests.md §10.3). */
const DEADLINE = {
  kvm: { factor: 5, floorSec: 120, ceilingSec: 3600 },
  tcg: { factor: 5, floorSec: 600, ceilingSec: 3 * 3600 },
};

export async function executeRun(inputs: RunInputs): Promise<RunResult> {
  const { config, plan } = inputs;
  const started = Date.now();
  const runId = makeRunId(new Date());
  const runDir = createRunDir(config.resultsDir, runId);
  const log = inputs.openEventLog(runDir);
  const events: RunEvent[] = [];
  const stop = new AbortController();
  let stopSignalName: 'SIGINT' | 'SIGTERM' | undefined;
  let fatal: KtError | undefined;

  const emit = (input: EventInput) => {
    const event = { ...input, ts: new Date().toISOString() } as RunEvent;
    events.push(event);
    try {
      log.append(event);
    } catch (err) {
      // Disk full or results dir gone: stop the run; what was written stays readable.
      if (!fatal && isKtError(err)) fatal = err;
      stop.abort();
    }
    inputs.onEvent(event);
  };

  const history: History = loadHistory(config.resultsDir);
  const dispatcher = new Dispatcher(plan.tests);
  const keys = ssh2.utils.generateKeyPairSync('ed25519');
  const sshKeyBlob = keys.public.split(' ')[1] ?? '';
  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-'));
  let vmCounter = 0;

  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    if (stopSignalName) {
      // Second signal: no more waiting; every QEMU group dies now.
      killAllNow();
      if (!config.keep) fs.rmSync(baseDir, { recursive: true, force: true });
      endLog('interrupted', 'killed by a second signal; reports can be rebuilt with kt report');
      process.exit(signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm);
    }
    stopSignalName = signal;
    process.stderr.write(`\nkt: ${signal}: stopping VMs and writing results (${signal === 'SIGINT' ? 'Ctrl-C' : 'signal'} again to kill at once)\n`);
    dispatcher.stop();
    stop.abort();
  };
  const sigint = () => onSignal('SIGINT');
  const sigterm = () => onSignal('SIGTERM');
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);
  // A closed terminal or ssh session: stop like SIGTERM rather than die with VMs left running.
  process.on('SIGHUP', sigterm);

  let ended = false;
  /** Appends run-end once; after it the event log is complete and `kt report` can rebuild all. */
  const endLog = (status: 'completed' | 'interrupted' | 'error', message?: string) => {
    if (ended) return;
    ended = true;
    emit({
      type: 'run-end',
      status,
      wallMs: Date.now() - started,
      ...(stopSignalName ? { signal: stopSignalName } : {}),
      ...(message ? { message } : {}),
    });
    try {
      log.close();
    } catch {
      // already reported through fatal
    }
  };

  emit({
    type: 'run-start',
    v: EVENTS_VERSION,
    runId,
    tests: plan.tests,
    jobs: config.jobs,
    kernel: inputs.kernel ?? 'nixos-vm-kernel',
    accel: inputs.accel,
    fstyp: config.suite.fstyp,
    section: config.suite.name,
    hostname: os.hostname(),
    argv: config.argv,
    ktVersion: inputs.ktVersion,
    ...(config.shard ? { shard: `${config.shard.index}/${config.shard.total}` } : {}),
  });

  const createMachine = async (): Promise<Machine> => {
    const index = ++vmCounter;
    const name = `vm${index}`;
    const tcpPort = config.transport === 'tcp' ? await freePort() : undefined;
    const common = {
      name,
      consoleLogPath: path.join(runDir, 'console', `${name}.log`),
      privateKey: keys.private,
      bootTimeoutMs: config.bootTimeoutSec * 1000,
      keep: config.keep,
    };
    // What every backend's VM gets from the run.
    const vm = {
      runId,
      index,
      accel: inputs.accel,
      cpus: config.cpus,
      memoryMiB: config.memoryMiB,
      extraCmdline: config.append,
      baseDir,
      sshKeyBlob,
      transport: config.transport,
      tcpPort,
      hungTaskTimeoutSec: 0,
      vmcore: config.vmcore,
    };
    if (config.backend.kind === 'nixos') {
      const { runScript, systemName } = config.backend;
      const spec = resolveNixosVmSpec({ ...vm, runScript, systemName, ...(inputs.kernel ? { kernel: inputs.kernel } : {}) });
      return new NixosMachine({ spec, ...common });
    }
    const spec = resolveVmSpec({
      ...vm,
      kernel: inputs.kernel!,
      initramfs: inputs.initramfs!,
      rootImage: inputs.rootImage!,
      fstestsImage: inputs.fstestsImage!,
      testSizeBytes: config.testSizeBytes,
      scratchSizeBytes: config.scratchSizeBytes,
    });
    return new QemuMachine({ spec, ...common });
  };

  const deadline = DEADLINE[inputs.accel];
  const workers = Array.from({ length: Math.min(config.jobs, Math.max(1, plan.tests.length)) }, () =>
    new Worker({
      dispatcher,
      emit,
      createMachine,
      setupGuest: (machine) => setupGuest(machine, inputs),
      createCheckStream: inputs.createCheckStream,
      createConsoleWatcher: inputs.createConsoleWatcher,
      batchSize: (remaining) => batchSize(remaining, config.jobs, { maxBatch: config.maxBatch }),
      deadlineSec: (test) =>
        testDeadlineSec(history.get(historyKey(config.suite.name, test)) ?? {}, { ...deadline, override: config.testTimeoutSec }),
      saveArtifact: (test, attempt, ext, data) => {
        const rel = artifactPath(test, attempt, ext);
        try {
          writeArtifact(runDir, rel, data);
        } catch (err) {
          emit({ type: 'warning', message: `could not write ${rel}: ${(err as Error).message}` });
        }
        return rel;
      },
      saveVmcore: config.vmcore
        ? async (machine) => {
            const rel = `vmcore/${machine.name}.elf`;
            fs.mkdirSync(path.join(runDir, 'vmcore'), { recursive: true });
            await machine.dumpGuestMemory(path.join(runDir, rel), 120_000);
            return rel;
          }
        : undefined,
      consoleLogOf: (machine) => `console/${machine.name}.log`,
      retries: config.retries,
      stopSignal: stop.signal,
      maxBootFailures: 3,
    }),
  );

  try {
    const results = await Promise.allSettled(
      workers.map((w) =>
        w.run().catch((err: unknown) => {
          // The kernel never boots or the fstests tree is unusable: the other VMs would only
          // meet the same error, so stop them now.
          fatal ??= isKtError(err) ? err : new HostError('E_INTERNAL', String(err instanceof Error ? err.stack : err));
          dispatcher.stop();
          stop.abort();
          throw err;
        }),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed && !fatal) {
      const err = failed.reason as unknown;
      fatal = isKtError(err) ? err : new HostError('E_INTERNAL', String(err instanceof Error ? err.stack : err));
    }
    if (fatal) {
      // One worker's fatal error (kernel never boots, fstests tree unusable) ends the run.
      dispatcher.stop();
      stop.abort();
    }
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
    process.off('SIGHUP', sigterm);
    killAllNow();
    if (!config.keep) fs.rmSync(baseDir, { recursive: true, force: true });
  }

  endLog(stopSignalName ? 'interrupted' : fatal ? 'error' : 'completed', fatal?.message);
  try {
    await inputs.writeReports(runDir, events);
  } catch (err) {
    if (!fatal && isKtError(err)) fatal = err;
  }
  try {
    saveHistory(config.resultsDir, updateHistory(history, config.suite.name, events));
  } catch {
    // History only orders the next run; its loss is harmless.
  }

  let exitCode: number;
  if (stopSignalName) exitCode = stopSignalName === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm;
  else if (fatal) exitCode = fatal.exitCode;
  else exitCode = hasFailures(summarizeRun(events)) ? ExitCode.testFailures : ExitCode.ok;
  return { exitCode, runDir, events, ...(fatal ? { error: fatal } : {}) };
}


async function setupGuest(machine: Machine, inputs: RunInputs): Promise<void> {
  const script = renderGuestSetup({
    localConfig: inputs.localConfig,
    fstyp: inputs.config.suite.fstyp,
    mkfsOptions: inputs.config.suite.mkfsOptions,
  });
  const result = await machine.exec(script, { timeoutMs: 300_000 });
  if (result.stdout.includes('KT-SETUP-OK')) return;
  if (result.exitCode === null) {
    // No exit status: the guest went away during mount/mkfs; another boot may fare better.
    throw new BootError('E_BOOT_SETUP_LOST', `${machine.name} was lost while being prepared (mount of the fstests disk, mkfs of TEST_DEV)`, 'see the console log in the run directory');
  }
  const preflight = /KT-PREFLIGHT: (.*)/.exec(result.stdout)?.[1];
  throw new HostError(
    'E_GUEST_SETUP',
    preflight
      ? `the fstests tree ${inputs.config.fstestsDir} cannot be used in the guest: ${preflight}`
      : `preparing ${machine.name} failed (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim().slice(-2000)}`,
    preflight
      ? 'build fstests for the guest (Debian bookworm userspace: run make in a bookworm container or chroot), or use the Nix flake'
      : 'see the console log in the run directory',
  );
}
