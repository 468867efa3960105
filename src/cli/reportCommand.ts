/**
 * `kt report <run-dir>...`: rebuild the reports from event logs (one run, or the shards of a CI
 * job merged). A report never destroys results: a damaged or empty log is refused before any
 * file is written, `--out` never replaces another run's reports, and a report file there that
 * kt did not write is kept under another name (src/cli/reportOutDir.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ExitCode, HostError, UsageError, printable, type KtError } from '../errors.js';
import { errnoCode } from '../record/resultsWriteError.js';
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
import { isShellSessionName } from './shellSessionDir.js';
import { isRunDirLayout } from '../record/runDir.js';
import { printWarning } from './printWarning.js';

/** A run directory, or an events.jsonl path given directly → the event log's path and its run dir. */
function locateLog(arg: string): { log: string; dir: string } {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(arg);
  } catch {
    throw new UsageError('E_REPORT_RUN_DIR', `run directory ${printable(arg)} does not exist`, `pass the directory a \`kt run\` wrote (it holds ${EVENT_LOG_NAME})`);
  }
  if (stat.isDirectory()) return { log: path.join(arg, EVENT_LOG_NAME), dir: arg };
  // A socket or a device is no log; a FIFO is read like a file (`kt report <(zcat shard.jsonl.gz)
  // --out merged`), and waits for its writer as `cat` would.
  if (!stat.isFile() && !stat.isFIFO()) {
    throw new UsageError(
      'E_REPORT_NOT_A_RUN',
      `${printable(arg)} is not a run directory or a kt event log (${fileKind(stat)}, not a file)`,
      `pass run directories (each holds ${EVENT_LOG_NAME}) or their ${EVENT_LOG_NAME} files`,
    );
  }
  return { log: arg, dir: path.dirname(arg) };
}

function fileKind(stat: fs.Stats): string {
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  return 'a special file';
}

/** The event logs of run directories, each with its (absolute) directory. */
export interface RunLogs {
  /** The arguments read, in order: without the ones skipped (kt-history.json, a kt shell session, a run given twice). */
  args: string[];
  /** Every event, logs concatenated in argument order. */
  events: RunEvent[];
  warnings: string[];
  /** Absolute run directories, in argument order. */
  dirs: string[];
  /** Each log's events with its directory. */
  logs: { dir: string; events: RunEvent[] }[];
}

/**
 * Run id → run directory, for the `kt repro` lines of the text summary. A run id two logs share
 * (shards that drew the same id) leads to the first, as report.html's links do
 * (src/cli/reportLinks.ts).
 */
export function runDirsOf(logs: RunLogs['logs']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const log of logs) for (const e of log.events) if (e.type === 'run-start' && !(e.runId in out)) out[e.runId] = log.dir;
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

/** One log read, before the logs of one run are told apart from copies. */
interface ReadLog {
  arg: string;
  dir: string;
  events: RunEvent[];
}

/**
 * What makes a run the same run: its id, start time, shard and host. A run id alone is not
 * enough — it is the start second and 16 random bits, so two CI shards started together can draw
 * the same one.
 */
function runStarts(events: readonly RunEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'run-start' ? [JSON.stringify([e.runId, e.ts, e.shard ?? '', e.hostname])] : []));
}

function runIdsOf(events: readonly RunEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'run-start' ? [e.runId] : []));
}

/** Whether `short` is `long` cut somewhere (a copy taken while the run still wrote, or a killed copy). */
function isPrefix(short: readonly RunEvent[], long: readonly RunEvent[]): boolean {
  return short.length <= long.length && short.every((e, i) => JSON.stringify(e) === JSON.stringify(long[i]));
}

/**
 * How a new log relates to one read already: `same` — the same run's log, one a prefix of the
 * other (a copy of the run directory, or a copy cut short), `collide` — another run that drew the
 * same run id, `apart` — no run id in common.
 */
function relate(read: ReadLog, next: ReadLog): 'same' | 'collide' | 'apart' {
  const ids = new Set(runIdsOf(read.events));
  if (!runIdsOf(next.events).some((id) => ids.has(id))) return 'apart';
  const a = runStarts(read.events);
  const b = runStarts(next.events);
  const sameStart = a.length === b.length && a.every((s, i) => s === b[i]);
  return sameStart && (isPrefix(read.events, next.events) || isPrefix(next.events, read.events)) ? 'same' : 'collide';
}

/** `shard 1/2 on ci-1, started 2026-…` — what tells apart two runs of one run id. */
function startWords(events: readonly RunEvent[]): string {
  const start = events.find((e) => e.type === 'run-start');
  if (start?.type !== 'run-start') return 'no run';
  return `${start.shard !== undefined ? `shard ${start.shard} ` : ''}on ${start.hostname || 'an unnamed host'}, started ${start.ts}, ${events.length} events`;
}

/**
 * Reads every log; refuses (exit 2) a damaged or empty one, naming the file and line, and a file
 * that is no event log at all. A log given twice — `kt-results/latest` beside the directory it
 * points to (the same file), or a copy of a run directory (the same run start — id, time, shard,
 * host — and one log the start of the other) — is read once, the longer copy, with a warning, so
 * no test counts twice and a killed copy cannot hide the complete one whatever the argument
 * order. Logs that only share a run id (CI shards that drew the same id) are both read, with a
 * warning. `kt-history.json` and a `kt shell` session's directory (of `kt-results/*`) are skipped
 * with a warning; any other directory without an event log stays an error. `kt report`, `kt
 * compare` (each side), `kt baseline update` and `kt repro` read run directories through here.
 */
export async function readLogs(runDirs: readonly string[]): Promise<RunLogs> {
  // A log's own warnings (a truncated last line) stay in argument order, and go when a longer
  // copy of it is read instead.
  const warnings: { text: string; of?: ReadLog }[] = [];
  const read: ReadLog[] = [];
  const seenFiles = new Map<string, string>();
  for (const arg of runDirs) {
    if (path.basename(arg).startsWith(HISTORY_FILE) && fs.statSync(arg, { throwIfNoEntry: false })?.isFile()) {
      warnings.push({ text: `skipped ${arg}: it is kt's test history of a results directory, not a run` });
      continue;
    }
    if (isShellSessionName(path.basename(path.resolve(arg))) && fs.statSync(arg, { throwIfNoEntry: false })?.isDirectory() && !fs.existsSync(path.join(arg, EVENT_LOG_NAME))) {
      warnings.push({ text: `skipped ${arg}: it is the console log of a kt shell session, not a run` });
      continue;
    }
    const { log, dir } = locateLog(arg);
    const real = realPathOf(log);
    const sameFile = seenFiles.get(real);
    if (sameFile !== undefined) {
      warnings.push({ text: `skipped ${arg}: it is ${sameFile} again` });
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
    const next: ReadLog = { arg, dir: path.resolve(dir), events: contents.events };
    const ids = runIdsOf(next.events).join(', ');
    const same = read.findIndex((r) => relate(r, next) === 'same');
    if (same >= 0) {
      const kept = read[same]!;
      if (next.events.length <= kept.events.length) {
        warnings.push({
          text:
            next.events.length === kept.events.length
              ? `skipped ${arg}: it holds run ${ids}, read already from ${kept.arg}`
              : `skipped ${arg}: it holds run ${ids} cut short (${next.events.length} of the ${kept.events.length} events of ${kept.arg}, read instead)`,
        });
        continue;
      }
      // The longer copy replaces the shorter one where that one stood.
      warnings.push({ text: `skipped ${kept.arg}: it holds run ${ids} cut short (${kept.events.length} of the ${next.events.length} events of ${arg}, read instead)` });
      warnings.push(...contents.warnings.map((text) => ({ text, of: next })));
      read[same] = next;
      continue;
    }
    for (const r of read) {
      if (relate(r, next) !== 'collide') continue;
      const shared = runIdsOf(next.events).filter((id) => runIdsOf(r.events).includes(id));
      warnings.push({
        text:
          `run id ${shared.join(', ')} is in both ${r.arg} (${startWords(r.events)}) and ${arg} (${startWords(next.events)}): ` +
          `they are different runs, both are read; links and kt repro lines of that run id lead to ${r.arg}`,
      });
    }
    warnings.push(...contents.warnings.map((text) => ({ text, of: next })));
    read.push(next);
  }
  if (read.length === 0) {
    throw new UsageError('E_REPORT_NO_RUN_DIR', `no run directory among ${runDirs.map(printable).join(' ')} (${warnings.map((w) => printable(w.text)).join('; ')})`, 'pass one or more run directories: kt report kt-results/<run-id>');
  }
  return {
    args: read.map((r) => r.arg),
    events: read.flatMap((r) => r.events),
    warnings: warnings.filter((w) => w.of === undefined || read.includes(w.of)).map((w) => w.text),
    dirs: read.map((r) => r.dir),
    logs: read.map((r) => ({ dir: r.dir, events: r.events })),
  };
}

/**
 * Where the reports go; refuses to write over another run's reports. `userDir`: a directory that
 * is not the run's own kt run directory (an --out directory, or the folder of a log given as a
 * file), where a report file kt did not write is moved aside.
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
    // Only kt's own run directory is kt's to write over; the folder a log was copied into (CI
    // downloads: dl/shard1-events.jsonl) holds the user's files, report.md among them.
    return { dir, userDir: !(ownLog && isRunDirLayout(dir, EVENT_LOG_NAME)) };
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

/**
 * A report file `kt report` cannot write. The place is the user's choice (the run directory, or
 * --out), so a place kt cannot write to is bad input (exit 2) and the fix is another --out; only
 * a full or failing file system is the host's (exit 3). kt run's error names --results, which kt
 * report does not have.
 */
export function reportWriteError(file: string, err: unknown, outGiven: boolean): KtError {
  const code = errnoCode(err);
  const dir = path.dirname(file);
  const elsewhere = outGiven ? 'give --out a directory you can write to' : 'add --out DIR, a directory you can write to, for the reports';
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO') {
    return new HostError('E_REPORT_WRITE', `cannot write ${printable(file)}: ${code}`, `free space on (or check) the file system holding ${dir}, or ${elsewhere}; the event logs are intact`, { cause: err });
  }
  return new UsageError('E_REPORT_OUT_UNWRITABLE', `cannot write ${printable(file)}: ${code}`, `${code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? `make ${dir} writable by this user, or ` : ''}${elsewhere}`, { cause: err });
}

export async function reportCommandCli(runDirs: string[], out: string | undefined, options: { baseline?: string; formats?: string[] } = {}): Promise<number> {
  if (runDirs.length === 0) throw new UsageError('E_REPORT_NO_RUN_DIR', 'no run directory given', 'pass one or more run directories: kt report kt-results/<run-id>');
  const formats = parseReportFormats(options.formats);
  // A bad baseline is refused before anything is written, like a damaged log.
  const baseline = options.baseline !== undefined ? readBaseline(options.baseline) : undefined;
  const { args, events, warnings, dirs, logs } = await readLogs(runDirs);
  const { dir: outDir, userDir } = chooseOutDir(out, dirs, args);
  for (const w of warnings) printWarning(w);
  if (userDir) {
    for (const m of moveAsideForeignReports(outDir, formats)) {
      process.stderr.write(`kt: ${printable(m.file)} was not written by kt: kept as ${printable(path.basename(m.backup))}\n`);
    }
  }
  const summary = summarizeRun(events);
  const verdict = baseline && options.baseline !== undefined ? judge(summary, baseline, { file: options.baseline }) : undefined;
  await writeReports(outDir, summary, verdict, { formats, runDirs: relativeRunDirs(outDir, logs), writeError: (file, err) => reportWriteError(file, err, out !== undefined) });
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
