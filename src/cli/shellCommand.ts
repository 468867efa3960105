/**
 * `kt shell`: the VM kt would run tests on — same kernel, image, disks, fstests tree and check
 * config — with a root shell in it on the user's terminal (docs/shell.md). The VM comes from
 * the code of `kt run` (normalizeRunConfig, prepareRun, the machine factory, the guest steps);
 * the shell is one ssh channel with a pty on the VM's command connection.
 *
 * `kt shell RUN_DIR TEST` boots what a recorded test ran on; `kt shell -- CMD...` runs one
 * command in the ready guest and exits with its status.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { normalizeRunConfig, type RunArgs, type RunConfig } from '../config/runConfig.js';
import { single } from '../config/input.js';
import { ExitCode, HostError, UsageError, isKtError, printable } from '../errors.js';
import { makeRunId } from '../record/runDir.js';
import { resultsWriteError } from '../record/resultsWriteError.js';
import { shellSessionName } from './shellSessionDir.js';
import { createConsoleWatcher } from '../runner/adapters.js';
import { GUEST_FSTESTS_DIR, guestConfigPath } from '../runner/guestCommands.js';
import { createGuestSteps, localConfigFor } from '../runner/guestSetup.js';
import type { ConsoleCrash } from '../runner/ports.js';
import type { Machine, MachineExit } from '../vm/machine.js';
import { killAllNow } from '../vm/processRegistry.js';
import { adoptKeptDisks, makeRunTempDir } from '../vm/runTempDir.js';
import { QemuMachine } from '../vm/qemuMachine.js';
import { requireQemu } from '../vm/qemuBinary.js';
import { resolveVmSpec, type Accel } from '../vm/spec.js';
import { generateSshKeyPair } from '../vm/sshKeyPair.js';
import type { Session, SessionOptions } from '../vm/sshSession.js';
import { resolveCacheDir } from '../vm/image/index.js';
import { keptDisksDir, withKeptDisks } from './keptDisks.js';
import { createMachineFactory, machineOptions, pinBootKernel, type DirectArtifacts, type RunIdentity } from './machines.js';
import { prepareRun } from './runCommand.js';
import { printWarning } from './printWarning.js';
import { pipeSession, type SessionOutcome } from './shellSession.js';
import { ESCAPE_KEYS } from './shellEscape.js';
import { renderConfigOnly, renderGuestCommand, renderInteractiveShell, renderPowerOff } from './shellGuest.js';
import { checkSameSection, recordedTarget, type RecordedTarget } from './shellTarget.js';
import { handleStopSignals, type StopSignal } from './signals.js';
import { enterRawMode, releaseHungUpTerminal, type RawTerminal } from './terminal.js';

/** What `kt shell` was given. */
export interface ShellInput {
  /** `kt shell RUN_DIR TEST`. */
  runDir?: string;
  test?: string;
  /** After `--`: run this instead of an interactive shell. */
  command: string[];
  /** The `kt run` flags that shape the VM, as typed. */
  args: RunArgs;
  /** --disks DIR: boot on the disks a VM kept. */
  disks?: string | string[];
}

/** The guest's `poweroff` gets this long to sync and unmount, then QEMU this long to exit. */
const POWEROFF_EXEC_MS = 60_000;
const POWEROFF_WAIT_MS = 60_000;
/**
 * After a panic on the console, or the ssh channel dropping, QEMU exits on its own (pvpanic with
 * panic=exit-failure, or panic=-1 with -no-reboot: docs/fstests.md §7); this long is waited for
 * it (and for the rest of the report) before it is killed.
 */
const LOST_WAIT_MS = 30_000;
/** The guest was lost before the shell ended (crash, QEMU gone, ssh gone): ssh(1)'s status for this. */
export const LOST_EXIT = 255;

/** A Machine that can also open an interactive session (every ssh-driven backend). */
type SessionMachine = Machine & { session(command: string, opts?: SessionOptions): Promise<Session> };

function canOpenSession(machine: Machine): machine is SessionMachine {
  return typeof (machine as Partial<SessionMachine>).session === 'function';
}

/** Resolves to `value` when `p` settles within `ms`, else undefined; the timer never outlives it. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let done!: (value: undefined) => void;
  const timeout = new Promise<undefined>((resolve) => (done = resolve));
  const timer = setTimeout(() => done(undefined), ms);
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The run flags that were given (undefined ones would hide the recorded values). */
function givenFlags(args: RunArgs): RunArgs {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) if (v !== undefined && k !== 'section') out[k] = v;
  return out as RunArgs;
}

/** Console text for a terminal: every control character but newline and tab dropped. */
function consoleText(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
}

/** The exit status of a session that ended on its own, as a shell reports one (128 + signal). */
export function sessionStatus(outcome: SessionOutcome): number | undefined {
  if (outcome.kind === 'escape') return ExitCode.ok;
  if (outcome.kind !== 'exited' || outcome.end.lost) return undefined;
  if (outcome.end.exitCode !== null) return outcome.end.exitCode;
  // ssh2 names the signal as Node does ("SIGINT"); RFC 4254 §6.10 sends it without "SIG".
  const name = outcome.end.signal?.replace(/^(?!SIG)/, 'SIG');
  const signo = name ? os.constants.signals[name as NodeJS.Signals] : undefined;
  return signo !== undefined ? 128 + signo : LOST_EXIT;
}

/** Where `kt shell` ends with the VM: printed at start so the user knows before typing. */
function fateOfDisks(config: RunConfig, vmDir: string, keptDir: string | undefined): string {
  if (keptDir) return `the VM is powered off; the kept disks in ${keptDir} stay as they were: the guest writes to a throw-away overlay`;
  if (config.keep) return `the VM is powered off; its disks are kept in ${vmDir}`;
  return 'the VM is powered off; its disks are deleted — use --keep to keep them';
}

export async function shellCommandCli(input: ShellInput, rawArgv: string[]): Promise<number> {
  const cwd = process.cwd();
  const disksGiven = single('--disks', input.disks);
  let target: RecordedTarget | undefined;
  let args: RunArgs = input.args;
  if (input.runDir !== undefined) {
    if (input.test === undefined) {
      throw new UsageError('E_SHELL_TEST_NEEDED', `kt shell ${printable(input.runDir)}: a run directory needs the test to boot for`, 'kt shell RUN_DIR TEST, e.g. kt shell kt-results/latest generic/001');
    }
    const sections = input.args.section ?? [];
    if (sections.length > 1) throw new UsageError('E_FLAG_REPEATED', `-c was given ${sections.length} times (${sections.map(printable).join(', ')})`, 'with RUN_DIR TEST, -c picks one section the test ran in');
    if (input.args.suite !== undefined) throw new UsageError('E_SHELL_SUITE_WITH_RUN', `--suite ${printable(String(input.args.suite))} cannot change the section of a recorded test`, 'with RUN_DIR TEST, -c picks one section the test ran in');
    target = await recordedTarget(input.runDir, input.test, sections[0]);
    args = { ...target.args, ...givenFlags(input.args) };
  }
  const config = normalizeRunConfig(args, rawArgv, process.env, cwd);
  if (config.sections.length !== 1) {
    throw new UsageError('E_SHELL_ONE_SECTION', `kt shell boots one section; ${config.sections.length} were given (${config.sections.map((s) => s.name).join(', ')})`, `pick one with -c, e.g. -c ${config.sections[0]?.name ?? 'xfs'}`);
  }
  const section = config.sections[0]!;
  if (target) checkSameSection(target.section, section);
  const keptDir = disksGiven !== undefined ? keptDisksDir(disksGiven, cwd) : target?.keptDisks;
  if (keptDir !== undefined && config.backend.kind !== 'direct') {
    throw new UsageError('E_SHELL_KEPT_DISKS_BACKEND', `kept disks (${keptDir}) can only be booted with kt's Debian image`, 'drop --backend nixos, or boot fresh disks');
  }
  const interactive = input.command.length === 0;
  if (interactive && !process.stdin.isTTY) {
    throw new UsageError('E_SHELL_NO_TERMINAL', 'kt shell without a command needs a terminal, and stdin is not one', 'run one command instead: kt shell -- CMD [ARGS...], e.g. kt shell -- ./check generic/001');
  }
  await (await import('./ownKernel.js')).checkOwnKernel(config, (line) => process.stderr.write(line));
  requireQemu();
  // Disks a killed kt left are now the user's: no kt removes them, during the shell or after.
  // Here, once nothing else can refuse the command, and before prepareRun's sweep.
  if (keptDir !== undefined) adoptKeptDisks(keptDir);

  // A terminal hung up under kt (SIGHUP) fails every later write with EIO: kt still has a VM
  // to power off and files to remove, so such errors must not end it.
  const ignoreWriteError = () => undefined;
  process.stdout.on('error', ignoreWriteError);
  process.stderr.on('error', ignoreWriteError);

  // Before a VM exists a signal ends kt at once (an image build is killed with its process
  // group); from then on the first one powers the VM off and the second kills it.
  let cleanupNow: () => void = () => undefined;
  let vmExists = false;
  let say: (line: string) => void = (line) => void process.stderr.write(`${line}\n`);
  const stop = new AbortController();
  const exitNow = (signal: StopSignal): never => {
    killAllNow();
    cleanupNow();
    // process 'exit' handlers restore the terminal (terminal.ts).
    process.exit(signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm);
  };
  const signals = handleStopSignals(
    (signal) => {
      if (!vmExists) exitNow(signal);
      say(`kt: ${signal}: powering the VM off (${signal === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again kills it at once)`);
      stop.abort(signal);
    },
    exitNow,
  );
  try {
    const cacheDir = resolveCacheDir(process.env);
    const prepared = await prepareRun(config, cacheDir);
    const runId = shellSessionName(makeRunId(new Date()));
    const baseDir = makeRunTempDir({ keep: config.keep });
    const sessionDir = path.join(config.resultsDir, runId);
    try {
      fs.mkdirSync(path.join(sessionDir, 'console'), { recursive: true });
    } catch (err) {
      fs.rmSync(baseDir, { recursive: true, force: true });
      throw resultsWriteError(sessionDir, err, 'create');
    }
    const keys = generateSshKeyPair();
    cleanupNow = () => {
      if (!config.keep) fs.rmSync(baseDir, { recursive: true, force: true });
    };
    const identity: RunIdentity = { runId, baseDir, sshKeyBlob: keys.public.split(' ')[1] ?? '' };
    let machine: Machine;
    try {
      const direct = pinBootKernel(config, prepared.direct, baseDir, printWarning);
      machine = keptDir
        ? keptDiskMachine(config, prepared.accel, identity, direct, sessionDir, keys.private, keptDir)
        : await createMachineFactory(config, prepared.accel, identity, direct, sessionDir, keys.private)(1);
    } catch (err) {
      fs.rmSync(baseDir, { recursive: true, force: true });
      fs.rmSync(sessionDir, { recursive: true, force: true });
      throw err;
    }
    vmExists = true;
    return await runShell({
      config,
      machine,
      vmName: `kt-${runId}-vm1`,
      vmDir: path.join(baseDir, 'vm1'),
      baseDir,
      sessionDir,
      keptDir,
      target,
      command: input.command,
      stop: stop.signal,
      setSay: (fn) => (say = fn),
    });
  } finally {
    signals.dispose();
    releaseHungUpTerminal();
    process.stdout.off('error', ignoreWriteError);
    process.stderr.off('error', ignoreWriteError);
  }
}

/** The direct backend's VM with the kept disks in place of fresh ones (what createMachineFactory builds otherwise). */
function keptDiskMachine(config: RunConfig, accel: Accel, identity: RunIdentity, direct: DirectArtifacts | undefined, sessionDir: string, privateKey: string, keptDir: string): Machine {
  const m = machineOptions(config, accel, identity, 1, direct);
  if (m.kind !== 'direct') throw new UsageError('E_SHELL_KEPT_DISKS_BACKEND', `kept disks (${keptDir}) can only be booted with kt's Debian image`, 'drop --backend nixos');
  const spec = resolveVmSpec(m.options);
  return new QemuMachine({
    spec: { ...spec, disks: withKeptDisks(spec.disks, keptDir, fs.existsSync) },
    name: 'vm1',
    consoleLogPath: path.join(sessionDir, 'console', 'vm1.log'),
    privateKey,
    bootTimeoutMs: config.bootTimeoutSec * 1000,
    keep: config.keep,
  });
}

interface ShellRun {
  config: RunConfig;
  machine: Machine;
  vmName: string;
  vmDir: string;
  baseDir: string;
  sessionDir: string;
  keptDir: string | undefined;
  target: RecordedTarget | undefined;
  command: string[];
  stop: AbortSignal;
  setSay(fn: (line: string) => void): void;
}

/** Boot, set up, the session, and the VM's end on every path; returns kt's exit status. */
async function runShell(run: ShellRun): Promise<number> {
  const { config, machine } = run;
  const section = config.sections[0]!;
  const interactive = run.command.length === 0;
  let terminal: RawTerminal | undefined;
  const say = (line: string) => (terminal ? terminal.say(line) : void process.stderr.write(`${line}\n`));
  run.setSay(say);

  // The console, read by the crash detector of a run: a panic ends the session with its
  // title; any other report (a WARNING) is named as it happens.
  const watcher = createConsoleWatcher();
  const reports: ConsoleCrash[] = [];
  let fatal: ConsoleCrash | undefined;
  let crashed!: () => void;
  const crashedPromise = new Promise<void>((resolve) => (crashed = resolve));
  const onReports = (found: ConsoleCrash[]) => {
    for (const r of found) {
      reports.push(r);
      if (r.fatal) {
        fatal ??= r;
        crashed();
      } else say(`kt: kernel report on the console: ${consoleText(r.title)}`);
    }
  };
  const offConsole = machine.onConsole((chunk) => onReports(watcher.push(chunk)));
  let qemuExit: MachineExit | undefined;
  void machine.exited.then((exit) => (qemuExit = exit));
  const stopped = new Promise<void>((resolve) => {
    if (run.stop.aborted) resolve();
    else run.stop.addEventListener('abort', () => resolve(), { once: true });
  });

  let status: number | undefined;
  let lost = false;
  let booted = false;
  let ended: SessionOutcome['kind'] | undefined;
  let failure: unknown;
  try {
    say(`kt: booting ${run.vmName}${run.keptDir ? ` on the disks kept in ${run.keptDir} (read-only: the guest writes to a throw-away overlay)` : ''}`);
    const boot = await machine.boot(run.stop);
    booted = true;
    const guest = createGuestSteps(config.sections, config.fstestsDir, { loadModules: config.extraModules.length > 0 });
    await guest.setupGuest(machine);
    if (run.keptDir) {
      // The kept TEST_DEV holds the run's filesystem: write the check config, make nothing.
      const r = await machine.exec(renderConfigOnly(section.name, localConfigFor(section)), { timeoutMs: POWEROFF_EXEC_MS });
      if (!r.stdout.includes('KT-SECTION-OK')) {
        if (r.exitCode === null) throw new HostError('E_SHELL_SETUP_LOST', `${run.vmName} was lost while its check config was written`, 'see the console log');
        throw new HostError('E_GUEST_SETUP', `writing the check config of ${section.name} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().slice(-500)}`, 'see the console log');
      }
    } else {
      await guest.prepareSection(machine, section.name);
    }
    if (!canOpenSession(machine)) throw new HostError('E_SHELL_NO_SESSION', `${run.vmName} cannot open an interactive session`, 'use a backend driven over ssh (direct or nixos)');
    const options = section.mkfsOptions || section.mountOptions ? `, mkfs ${section.mkfsOptions || '-'}, mount ${section.mountOptions || '-'}` : '';
    say(`kt: ${run.vmName} up in ${(boot.bootMs / 1000).toFixed(1)}s: kernel ${boot.kernelRelease}, section ${section.name} (FSTYP=${section.fstyp}${options})`);
    if (run.target) {
      say(`kt: ${run.target.test} ran in section ${run.target.section.name}${run.target.machine ? ` on ${run.target.machine}` : ''} of ${run.target.runDir}; to run it again: ./check ${run.target.test}`);
    }
    const interrupt = Promise.race([stopped, crashedPromise, machine.exited.then(() => undefined)]);
    let outcome: SessionOutcome;
    if (interactive) {
      if (!run.target) say(`kt: in ${GUEST_FSTESTS_DIR} with HOST_OPTIONS=${guestConfigPath(section.name)}: ./check generic/001 runs a test`);
      say(`kt: escape: ${ESCAPE_KEYS} ends the session (${fateOfDisks(config, run.vmDir, run.keptDir)})`);
      const out = process.stdout;
      const session = await machine.session(renderInteractiveShell(section.name), {
        pty: { rows: out.isTTY ? out.rows : 24, cols: out.isTTY ? out.columns : 80, term: process.env.TERM || 'xterm-256color' },
      });
      terminal = enterRawMode(process.stdin, 1, 2);
      outcome = await pipeSession(session, process, { escape: true, interrupt });
    } else {
      const session = await machine.session(renderGuestCommand(section.name, run.command));
      outcome = await pipeSession(session, process, { escape: false, interrupt });
    }
    ended = outcome.kind;
    status = sessionStatus(outcome);
    lost = outcome.kind === 'exited' && outcome.end.lost;
  } catch (err) {
    failure = err;
  }
  if (terminal) {
    terminal.restore();
    terminal = undefined;
    // The guest's shell printed its own last line only when it exited by itself.
    if (status === undefined || ended !== 'exited') process.stderr.write('\n');
  }

  // The VM's end. A guest that is lost (its kernel reported a panic, QEMU exited, the channel
  // dropped) gets time to exit on its own, so the console holds the whole report; a live one is
  // powered off cleanly; one that never finished booting is killed.
  const aborted = run.stop.aborted;
  const guestLost = lost || fatal !== undefined || qemuExit !== undefined || (failure !== undefined && !isKtError(failure));
  if (guestLost) {
    await within(machine.exited, LOST_WAIT_MS);
  } else if (booted) {
    say(`kt: powering off ${run.vmName}`);
    await machine.exec(renderPowerOff(), { timeoutMs: POWEROFF_EXEC_MS }).catch(() => undefined);
    await within(machine.exited, POWEROFF_WAIT_MS);
  }
  await machine.dispose();
  onReports(watcher.flush());
  offConsole();
  if (!config.keep) fs.rmSync(run.baseDir, { recursive: true, force: true });

  const consoleLog = path.join(run.sessionDir, 'console', 'vm1.log');
  if (fatal) {
    process.stderr.write(`${consoleText(fatal.excerpt).trimEnd()}\n`);
    say(`kt: the kernel crashed: ${consoleText(fatal.title)}`);
  }
  if (reports.length === 0 && !guestLost && !config.keep) fs.rmSync(run.sessionDir, { recursive: true, force: true });
  else say(`kt: console log in ${consoleLog}`);
  if (config.keep && !run.keptDir) say(`kt: kept the VM's disks in ${run.vmDir} (kt shell --disks ${run.vmDir} boots them again)`);
  if (fatal) {
    // A kernel that cannot boot or be set up stays kt's host error (exit 3), now with its title.
    if (failure && isKtError(failure)) throw failure;
    return LOST_EXIT;
  }
  if (aborted) return run.stop.reason === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm;
  if (failure && isKtError(failure)) throw failure;
  if (failure || guestLost || status === undefined) {
    const how = qemuExit
      ? `qemu exited (${qemuExit.signal ? `signal ${qemuExit.signal}` : `status ${qemuExit.exitCode}`})`
      : failure instanceof Error
        ? failure.message
        : 'the ssh connection to the guest dropped';
    say(`kt: ${run.vmName} was lost before the ${interactive ? 'shell' : 'command'} ended: ${consoleText(how)}`);
    return LOST_EXIT;
  }
  return status;
}
