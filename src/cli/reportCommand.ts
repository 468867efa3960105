/**
 * `kt report <run-dir>...`: rebuild the reports from event logs (one run, or the shards of a CI
 * job merged). A report never destroys results: a damaged or empty log is refused before any
 * file is written, `--out` never replaces another run's reports, and a report file there that
 * kt did not write is kept under another name (src/cli/reportOutDir.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ExitCode, UsageError, printable } from '../errors.js';
import { EVENT_LOG_NAME, readEventLog } from '../record/eventLog.js';
import { HISTORY_FILE } from '../record/history.js';
import type { RunEvent } from '../record/events.js';
import { summarizeRun } from '../record/summarize.js';
import { exitCodeFor } from '../record/verdict.js';
import { judge } from '../baseline/judge.js';
import { readBaseline } from './baselineFile.js';
import { renderTextSummary } from '../reporters/text.js';
import { shouldUseColor } from '../reporters/color.js';
import { REPORT_FILES, writeReports } from '../reporters/writeReports.js';
import { ALL_REPORT_FORMATS, parseReportFormats } from './reportFormats.js';
import { relativeRunDirs } from './reportLinks.js';
import { makeDirs } from '../util/dirs.js';
import { moveAsideForeignReports } from './reportOutDir.js';

/** A run directory, or an events.jsonl path given directly → the event log's path and its run dir. */
function locateLog(arg: string): { log: string; dir: string } {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(arg);
  } catch {
    throw new UsageError('E_REPORT_RUN_DIR', `run directory ${printable(arg)} does not exist`, `pass the directory a \`kt run\` wrote (it holds ${EVENT_LOG_NAME})`);
  }
  return stat.isDirectory() ? { log: path.join(arg, EVENT_LOG_NAME), dir: arg } : { log: arg, dir: path.dirname(arg) };
}

/** The event logs of run directories, each with its (absolute) directory. */
export interface RunLogs {
  /** The arguments read, in order: without the ones skipped (kt-history.json, a run given twice). */
  args: string[];
  /** Every event, logs concatenated in argument order. */
  events: RunEvent[];
  warnings: string[];
  /** Absolute run directories, in argument order. */
  dirs: string[];
  /** Each log's events with its directory. */
  logs: { dir: string; events: RunEvent[] }[];
}

/** Run id → run directory, for the `kt repro` lines of the text summary. */
export function runDirsOf(logs: RunLogs['logs']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const log of logs) for (const e of log.events) if (e.type === 'run-start') out[e.runId] = log.dir;
  return out;
}

/** realpath, or the path itself when it cannot be resolved (readEventLog then says why). */
function realPathOf(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

/**
 * Reads every log; refuses (exit 2) a damaged or empty one, naming the file and line, and a file
 * that is no event log at all. A run given twice — `kt-results/latest` beside the directory it
 * points to, or a copy of a run directory (the same run id) — is read once, with a warning, so
 * no test counts twice; `kt-history.json` (of `kt-results/*`) is skipped with a warning. `kt
 * report`, `kt compare` (each side), `kt baseline update` and `kt repro` read run directories
 * through here.
 */
export async function readLogs(runDirs: readonly string[]): Promise<RunLogs> {
  const events: RunEvent[] = [];
  const warnings: string[] = [];
  const dirs: string[] = [];
  const logs: RunLogs['logs'] = [];
  const args: string[] = [];
  const seenFiles = new Map<string, string>();
  const seenRuns = new Map<string, string>();
  for (const arg of runDirs) {
    if (path.basename(arg).startsWith(HISTORY_FILE) && fs.statSync(arg, { throwIfNoEntry: false })?.isFile()) {
      warnings.push(`skipped ${arg}: it is kt's test history of a results directory, not a run`);
      continue;
    }
    const { log, dir } = locateLog(arg);
    const real = realPathOf(log);
    const sameFile = seenFiles.get(real);
    if (sameFile !== undefined) {
      warnings.push(`skipped ${arg}: it is ${sameFile} again`);
      continue;
    }
    seenFiles.set(real, arg);
    const contents = await readEventLog(log);
    if (log === arg && contents.events.length === 0 && contents.problems.length > 0) {
      throw new UsageError(
        'E_REPORT_NOT_A_RUN',
        `${printable(arg)} is not a run directory or a kt event log (${contents.problems[0]!.where}: ${contents.problems[0]!.what})`,
        `pass run directories (each holds ${EVENT_LOG_NAME}) or their ${EVENT_LOG_NAME} files`,
      );
    }
    const problem = contents.problems[0];
    if (problem) {
      const more = contents.problems.length > 1 ? ` (and ${contents.problems.length - 1} more damaged lines)` : '';
      throw new UsageError(
        'E_EVENTS_DAMAGED',
        `${problem.where}: ${problem.what}${more}; no report was written`,
        `${log} is damaged or is not a kt event log: restore it from a copy, or remove the damaged lines by hand`,
      );
    }
    if (!contents.events.some((e) => e.type === 'run-start')) {
      throw new UsageError(
        'E_EVENTS_EMPTY',
        `${log} holds no run (${contents.events.length === 0 ? 'no events' : 'no run-start event'}); no report was written`,
        'pass the run directory of a `kt run` that started',
      );
    }
    const runIds = contents.events.flatMap((e) => (e.type === 'run-start' ? [e.runId] : []));
    const again = runIds.every((id) => seenRuns.has(id));
    if (again) {
      warnings.push(`skipped ${arg}: it holds run ${runIds.join(', ')}, read already from ${seenRuns.get(runIds[0]!)}`);
      continue;
    }
    for (const id of runIds) if (!seenRuns.has(id)) seenRuns.set(id, arg);
    events.push(...contents.events);
    warnings.push(...contents.warnings);
    dirs.push(path.resolve(dir));
    logs.push({ dir: path.resolve(dir), events: contents.events });
    args.push(arg);
  }
  if (logs.length === 0) {
    throw new UsageError('E_REPORT_NO_RUN_DIR', `no run directory among ${runDirs.map(printable).join(' ')} (${warnings.map(printable).join('; ')})`, 'pass one or more run directories: kt report kt-results/<run-id>');
  }
  return { args, events, warnings, dirs, logs };
}

/**
 * Where the reports go; refuses to write over another run's reports. `userDir`: an --out
 * directory that is not the run's own, where a report file kt did not write is moved aside.
 */
function chooseOutDir(out: string | undefined, dirs: readonly string[], runDirs: readonly string[]): { dir: string; userDir: boolean } {
  if (out === undefined) {
    if (dirs.length > 1) {
      throw new UsageError('E_REPORT_OUT', `${dirs.length} run directories given (${dirs.join(', ')}) but no --out`, 'merged reports need their own directory: add --out <dir>');
    }
    // A log given as a file that is not its directory's own events.jsonl: that directory holds
    // another run, whose reports must not be replaced.
    const given = runDirs[0]!;
    const dir = dirs[0]!;
    const ownLog = fs.statSync(given).isDirectory() || path.resolve(given) === path.join(dir, EVENT_LOG_NAME);
    if (!ownLog && fs.existsSync(path.join(dir, EVENT_LOG_NAME))) {
      throw new UsageError(
        'E_REPORT_OUT_IS_RUN',
        `${printable(given)} is not the event log of ${dir}, which holds another run; its reports would be replaced`,
        'give --out a new directory for the reports of this log',
      );
    }
    return { dir, userDir: false };
  }
  if (out.trim() === '') throw new UsageError('E_EMPTY_VALUE', '--out was given without a directory', 'give a new directory for the merged reports, e.g. --out kt-results/merged');
  const target = path.resolve(out);
  const ownRun = dirs.length === 1 && dirs[0] === target;
  if (!ownRun && fs.existsSync(path.join(target, EVENT_LOG_NAME))) {
    throw new UsageError(
      'E_REPORT_OUT_IS_RUN',
      `--out ${printable(out)} is the run directory of another run; its reports would be replaced`,
      'give --out a new directory (or the run directory being reported)',
    );
  }
  try {
    makeDirs(target);
    fs.accessSync(target, fs.constants.W_OK);
  } catch (err) {
    throw new UsageError('E_REPORT_OUT_UNWRITABLE', `--out ${printable(out)} cannot be created or written (${(err as NodeJS.ErrnoException).code})`, 'give --out a directory you can write to');
  }
  if (!fs.statSync(target).isDirectory()) {
    throw new UsageError('E_REPORT_OUT_NOT_DIR', `--out ${printable(out)} is a file, not a directory`, 'give --out a directory for the reports (a new one is created)');
  }
  return { dir: target, userDir: !ownRun };
}

export async function reportCommandCli(runDirs: string[], out: string | undefined, options: { baseline?: string; formats?: string[] } = {}): Promise<number> {
  if (runDirs.length === 0) throw new UsageError('E_REPORT_NO_RUN_DIR', 'no run directory given', 'pass one or more run directories: kt report kt-results/<run-id>');
  const formats = parseReportFormats(options.formats);
  // A bad baseline is refused before anything is written, like a damaged log.
  const baseline = options.baseline !== undefined ? readBaseline(options.baseline) : undefined;
  const { args, events, warnings, dirs, logs } = await readLogs(runDirs);
  const { dir: outDir, userDir } = chooseOutDir(out, dirs, args);
  for (const w of warnings) process.stderr.write(`kt: warning: ${printable(w)}\n`);
  if (userDir) {
    for (const m of moveAsideForeignReports(outDir, formats)) {
      process.stderr.write(`kt: ${printable(m.file)} was not written by kt: kept as ${printable(path.basename(m.backup))}\n`);
    }
  }
  const summary = summarizeRun(events);
  const verdict = baseline && options.baseline !== undefined ? judge(summary, baseline, { file: options.baseline }) : undefined;
  await writeReports(outDir, summary, verdict, { formats, runDirs: relativeRunDirs(outDir, logs) });
  process.stdout.write(renderTextSummary(summary, { color: shouldUseColor(process.stdout), runDirs: runDirsOf(logs), ...(verdict ? { verdict } : {}) }) + '\n');
  const written = formats.length === ALL_REPORT_FORMATS.length ? 'reports' : formats.map((f) => REPORT_FILES[f]).join(', ');
  process.stdout.write(`kt: ${written} written to ${outDir}\n`);
  // A run that did not complete is not a pass, whatever its tests say (kt run exited 3 or 130).
  const incomplete = summary.runs.find((r) => r.status !== 'completed');
  if (incomplete) {
    process.stderr.write(`kt: run ${incomplete.runId} ${incomplete.status === 'killed' ? 'was killed (its log has no end)' : incomplete.status === 'error' ? `ended in an error${incomplete.message ? `: ${printable(incomplete.message.split('\n')[0]!)}` : ''}` : `was interrupted${incomplete.signal ? ` by ${incomplete.signal}` : ''}`}\n`);
    if (incomplete.status === 'interrupted') return incomplete.signal === 'SIGTERM' ? ExitCode.sigterm : ExitCode.sigint;
    return ExitCode.infrastructure;
  }
  const code = exitCodeFor(summary, verdict);
  return code === 0 ? ExitCode.ok : code === 3 ? ExitCode.infrastructure : ExitCode.testFailures;
}
