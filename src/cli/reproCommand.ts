/**
 * `kt repro RUN_DIR TEST [--section S] [--count N] [--keep] [--dry-run]`: reruns one test of a
 * recorded run with the same kernel, fstests tree, section and VM flags, on a fresh VM, N times,
 * and says how often it failed ("failed 3 of 10"). Each repeat is an ordinary `kt run` (built by
 * reproArgs.ts, run by runCommand) with its own run directory next to the recorded one.
 *
 * Exit: 1 when the test failed at least once (reproduced), 0 when it never did, 3 when every
 * repeat ended in a kt error, 2 for bad input — so `kt repro` can drive `git bisect run`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { normalizeRunConfig, type RunConfig } from '../config/runConfig.js';
import { loadConfigFile } from '../config/load.js';
import { ExitCode, HostError, UsageError, isKtError, printable } from '../errors.js';
import { EVENT_LOG_NAME, readEventLog } from '../record/eventLog.js';
import type { RunStartEvent, SectionConfig } from '../record/events.js';
import { isTestFailure } from '../record/outcome.js';
import { repeatOutcome, type RepeatResult } from './reproOutcome.js';
import { runDirsCreated } from '../record/runDir.js';
import { summarizeRun } from '../record/summarize.js';
import { shellJoin } from '../util/shell.js';
import { readLogs } from './reportCommand.js';
import { isImageKernel, kernelChange, reproRun, type ReproRun } from './reproArgs.js';
import { runCommand } from './runCommand.js';

/** Options of `kt repro`. */
export interface ReproOptions {
  section?: string | string[];
  count?: string | string[];
  keep?: boolean;
  dryRun?: boolean;
  results?: string | string[];
}

function single(flag: string, value: string | string[] | undefined): string | undefined {
  if (!Array.isArray(value)) return value;
  if (value.length === 1) return value[0];
  throw new UsageError('E_FLAG_REPEATED', `${flag} was given ${value.length} times (${value.map(printable).join(', ')})`, `give ${flag} once`);
}

/** --count: a whole number from 1 to 1000, as typed. */
export function parseCount(given: string | undefined): number {
  if (given === undefined) return 1;
  const n = /^\d+$/.test(given.trim()) ? Number(given.trim()) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UsageError('E_BAD_COUNT', `--count ${printable(given)} is not a whole number from 1 to 1000`, 'e.g. --count 10 reruns the test ten times, each on a fresh VM');
  return n;
}

/** The recorded run: its run-start (with kernel, fstests tree, argv, sections) and its results. */
async function recordedRun(runDir: string, test: string, sectionGiven: string | undefined): Promise<{ start: RunStartEvent; section: SectionConfig; resultsDir: string }> {
  const { logs } = await readLogs([runDir]);
  const log = logs[0]!;
  const start = log.events.find((e): e is RunStartEvent => e.type === 'run-start')!;
  const summary = summarizeRun(log.events);
  const results = summary.tests.filter((t) => t.test === test);
  if (results.length === 0) {
    const failing = summary.tests.filter((t) => t.status !== 'notexecuted' && isTestFailure(t.status)).map((t) => t.test);
    throw new UsageError(
      'E_REPRO_UNKNOWN_TEST',
      `${printable(test)} is not a test of the run in ${printable(runDir)}`,
      failing.length > 0 ? `its failing tests: ${[...new Set(failing)].join(' ')}` : 'name a test the run planned (see its report.md)',
    );
  }
  const sections = [...new Set(results.map((r) => r.section))];
  let name: string;
  if (sectionGiven !== undefined) {
    if (!sections.includes(sectionGiven)) {
      throw new UsageError('E_REPRO_UNKNOWN_SECTION', `${printable(test)} did not run in section ${printable(sectionGiven)} of ${printable(runDir)}`, `its sections: ${sections.join(', ')}`);
    }
    name = sectionGiven;
  } else if (sections.length === 1) {
    name = sections[0]!;
  } else {
    throw new UsageError('E_REPRO_SECTION_NEEDED', `${printable(test)} ran in ${sections.length} sections of ${printable(runDir)} (${sections.join(', ')})`, `pick one: --section ${sections[0]}`);
  }
  const section = (start.sections ?? []).find((s) => s.name === name) ?? { name, fstyp: start.fstyp, mkfsOptions: '', mountOptions: '' };
  return { start, section, resultsDir: path.dirname(path.resolve(runDir)) };
}

/** Refuses (exit 2) when what the recorded run used is gone. */
function checkInputs(start: RunStartEvent, kernel: string | undefined): void {
  if (kernel !== undefined && !fs.existsSync(kernel)) {
    throw new UsageError('E_REPRO_KERNEL_GONE', `the kernel the run booted is gone: ${kernel}`, 'rebuild it (or restore it) at that path, or rerun by hand with kt run --kernel FILE');
  }
  if (start.fstests === undefined) {
    throw new UsageError('E_REPRO_NO_FSTESTS', 'the run does not record its fstests tree (written by an older kt)', 'rerun by hand with kt run --fstests DIR');
  }
  if (!fs.existsSync(path.join(start.fstests, 'check'))) {
    throw new UsageError('E_REPRO_FSTESTS_GONE', `the fstests tree the run used is gone: ${start.fstests}`, 'restore the tree at that path, or rerun by hand with kt run --fstests DIR');
  }
}

/**
 * Pure: the run directory of one repeat, from the run directories this process created while
 * it ran (record/runDir.ts runDirsCreated). Never a directory of the results folder at large: a
 * concurrent kt writes there too (its runs, its `latest`), and --keep removes the VM disks of the
 * run it is given. None: the repeat stopped before it made one.
 */
export function repeatRunDir(createdDuringRepeat: readonly string[]): string | undefined {
  if (createdDuringRepeat.length <= 1) return createdDuringRepeat[0];
  throw new HostError(
    'E_REPRO_RUN_DIR',
    `one repeat of kt repro made ${createdDuringRepeat.length} run directories (${createdDuringRepeat.join(', ')}), not one`,
    'report this as a bug of kt; the runs are intact, read them with kt report',
  );
}

/** The per-run temp directory holding a run's VM disks, from its machine-boot command lines. */
async function vmDirsOf(runDir: string): Promise<string[]> {
  const { events } = await readEventLog(path.join(runDir, EVENT_LOG_NAME));
  const dirs = new Set<string>();
  for (const e of events) {
    if (e.type !== 'machine-boot') continue;
    for (const arg of e.argv) {
      const m = /(?:^|[=,])(\/[^,]*)\/vm\d+\/test\.img(?:,|$)/.exec(arg);
      // Only kt's own per-run temp dirs (cli/runCommand.ts: mkdtemp(<tmpdir>/kt-)).
      if (m && path.dirname(m[1]!) === os.tmpdir() && /^kt-[A-Za-z0-9]{6}$/.test(path.basename(m[1]!))) dirs.add(m[1]!);
    }
  }
  return [...dirs];
}

/**
 * The section the repro would run must be the recorded one: same name, FSTYP, MKFS_OPTIONS and
 * MOUNT_OPTIONS. A suite file edited since the run would silently test something else.
 */
function checkSection(recorded: SectionConfig, config: RunConfig): void {
  const now = config.sections[0];
  const differs = (what: string, a: string, b: string) =>
    new UsageError(
      'E_REPRO_SECTION_CHANGED',
      `section ${recorded.name} is not what the run ran: ${what} was ${JSON.stringify(a)}, is now ${JSON.stringify(b)}`,
      'restore the suite file as it was for that run, or rerun by hand with kt run -c SUITE/SECTION',
    );
  if (!now || config.sections.length !== 1) throw differs('the section', recorded.name, config.sections.map((s) => s.name).join(','));
  if (now.name !== recorded.name) throw differs('its name', recorded.name, now.name);
  if (now.fstyp !== recorded.fstyp) throw differs('FSTYP', recorded.fstyp, now.fstyp);
  if (now.mkfsOptions !== recorded.mkfsOptions) throw differs('MKFS_OPTIONS', recorded.mkfsOptions, now.mkfsOptions);
  if (now.mountOptions !== recorded.mountOptions) throw differs('MOUNT_OPTIONS', recorded.mountOptions, now.mountOptions);
}

/**
 * The config kt run will resolve for the repro, where it runs. A run that booted its image's
 * kernel is not repro'd with another one (kernelChange): a kernel file the directory gained since
 * — a kernel tree's bzImage, a config file's kernel: — is refused, naming both kernels.
 */
function reproConfig(start: RunStartEvent, run: ReproRun, configFile: string | undefined): RunConfig {
  const cwd = process.cwd();
  let config: RunConfig;
  try {
    config = normalizeRunConfig(run.args, run.argv, process.env, cwd);
  } catch (err) {
    // kt run in a kernel tree boots its bzImage, and refuses when it is not built.
    if (run.kernel === undefined && isKtError(err) && err.code === 'E_KERNEL_NOT_BUILT') {
      const change = kernelChange(start, run, { kernel: path.join(cwd, 'arch/x86/boot/bzImage'), kernelSource: 'tree', notBuilt: true }, { cwd });
      if (change) throw new UsageError('E_REPRO_KERNEL_CHANGED', change.message, change.hint);
    }
    throw err;
  }
  const change = kernelChange(start, run, config, { cwd, ...(configFile !== undefined ? { configFile: path.resolve(configFile) } : {}) });
  if (change) throw new UsageError('E_REPRO_KERNEL_CHANGED', change.message, change.hint);
  return config;
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The repro runs in the directory the run ran in, when the log records it and it is still
 * there: a run without --config read that directory's kt.yaml (else the user's config file,
 * src/config/load.ts), and so does its repro, wherever `kt repro` is started; a kernel tree
 * kt repro happens to run in is not mistaken for the kernel to boot either.
 */
function enterRunDirectory(start: RunStartEvent): string {
  if (start.cwd === undefined) return `runs in ${process.cwd()} (the run did not record the directory it ran in)`;
  if (!isDirectory(start.cwd)) return `runs in ${process.cwd()} (the directory the run ran in, ${start.cwd}, is gone)`;
  process.chdir(start.cwd);
  return `runs in ${start.cwd}, where the run ran`;
}

export async function reproCommandCli(runDir: string, test: string, options: ReproOptions): Promise<number> {
  const count = parseCount(single('--count', options.count));
  const sectionGiven = single('--section', options.section);
  const resultsGiven = single('--results', options.results);
  // As kt run refuses it (config/runConfig.ts): '' would silently mean the current directory.
  if (resultsGiven !== undefined && resultsGiven.trim() === '') throw new UsageError('E_EMPTY_VALUE', '--results was given without a directory', "give a directory, e.g. --results kt-results, or drop the flag: the runs go next to the recorded one");
  const { start, section, resultsDir } = await recordedRun(runDir, test, sectionGiven);
  // Absolute before the repro changes directory (enterRunDirectory).
  const results = path.resolve(resultsGiven ?? resultsDir);
  const run = reproRun(start, { test, section, results, keep: options.keep === true, dryRun: options.dryRun === true });
  checkInputs(start, run.kernel);
  const runsIn = enterRunDirectory(start);
  const config = loadConfigFile(single('--config', run.args.config), process.env, process.cwd()).file;
  checkSection(section, reproConfig(start, run, config));
  const where = `${test} [${section.name}${section.mkfsOptions ? ` mkfs ${section.mkfsOptions}` : ''}${section.mountOptions ? ` mount ${section.mountOptions}` : ''}]`;
  process.stderr.write(`kt: repro ${where}${count > 1 ? `, ${count} times` : ''}: kt ${shellJoin(run.argv)}\n`);
  process.stderr.write(`kt: repro ${runsIn}: ${config === undefined ? 'no config file' : `config file ${path.resolve(config)}`}\n`);
  if (isImageKernel(start.kernel) && !fs.existsSync(start.kernel)) {
    // The image kernel is what a `kt run` without --kernel boots now; say that it changed.
    process.stderr.write(`kt: note: the run booted the image kernel ${start.kernel}, which is gone (the image was rebuilt): the repro boots the current image's kernel\n`);
  }
  if (options.dryRun) return runCommand(run.args, run.argv);

  const tally: Record<RepeatResult, number> = { failed: 0, passed: 0, notrun: 0, error: 0, notexecuted: 0 };
  const runs: string[] = [];
  const kept: string[] = [];
  for (let i = 1; i <= count; i++) {
    const mark = runDirsCreated().length;
    const code = await runCommand(run.args, run.argv);
    const dir = repeatRunDir(runDirsCreated().slice(mark));
    if (code === ExitCode.sigint || code === ExitCode.sigterm) {
      process.stderr.write(`kt: repro stopped after ${i - 1} of ${count} runs\n`);
      return code;
    }
    if (!dir) return code;
    runs.push(dir);
    const summary = summarizeRun((await readEventLog(path.join(dir, EVENT_LOG_NAME))).events);
    const { status, result: outcome, detail } = repeatOutcome(summary, test);
    tally[outcome] += 1;
    process.stderr.write(`kt: repro ${i}/${count}: ${status}${detail} (${dir})\n`);
    if (options.keep) {
      const vmDirs = await vmDirsOf(dir);
      // --keep keeps the disks of the repeats that failed; the others are removed like a normal run's.
      if (outcome === 'failed') kept.push(...vmDirs);
      else for (const d of vmDirs) fs.rmSync(d, { recursive: true, force: true });
    }
    if (code === ExitCode.infrastructure && outcome === 'notexecuted') break;
  }
  const judged = tally.failed + tally.passed;
  const others = [tally.notrun ? `${tally.notrun} not run` : '', tally.error ? `${tally.error} kt error${tally.error === 1 ? '' : 's'}` : '', tally.notexecuted ? `${tally.notexecuted} not executed` : '']
    .filter(Boolean)
    .join(', ');
  process.stdout.write(`kt: repro ${where}: failed ${tally.failed} of ${judged}${others ? ` (and ${others})` : ''}\n`);
  for (const d of runs) process.stdout.write(`  ${d}\n`);
  for (const d of kept) process.stdout.write(`kt: kept the VM disks of a failing run in ${d}\n`);
  if (tally.failed > 0) return ExitCode.testFailures;
  if (judged === 0 && (tally.error > 0 || tally.notexecuted > 0)) return ExitCode.infrastructure;
  return ExitCode.ok;
}
