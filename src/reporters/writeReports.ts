/**
 * Writing the report files of a run: junit.xml, summary.json and report.md. Used at the end of
 * `kt run` (with the events it just wrote) and by `kt report <run-dir>...` (replaying one or many
 * event logs, e.g. CI shards), so both paths produce byte-identical reports from the same events.
 *
 * Each file is written to a temporary name and renamed into place: a reader (or a CI upload) never
 * sees half a junit.xml, and a failed write leaves the previous file intact.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { UsageError } from '../errors.js';
import type { RunEvent } from '../record/events.js';
import { EVENT_LOG_NAME, readEventLog, resultsWriteError } from '../record/eventLog.js';
import { renderJsonSummary } from './json.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import type { RunSummary } from '../record/runSummary.js';
import { summarizeRun } from '../record/summarize.js';

/** File names of the reports inside the output directory. */
export const REPORT_FILES = { junit: 'junit.xml', json: 'summary.json', markdown: 'report.md' } as const;

/** Paths of the report files written. */
export interface ReportPaths {
  /** junit.xml */
  junit: string;
  /** summary.json */
  json: string;
  /** report.md */
  markdown: string;
}

/** What writeReports produced. */
export interface WrittenReports {
  /** The summary the files were rendered from (for the terminal summary and exit code). */
  summary: RunSummary;
  /** Where the files are. */
  paths: ReportPaths;
}

/** What reportCommand produced. */
export interface ReportCommandResult extends WrittenReports {
  /** Directory the reports were written to. */
  outDir: string;
  /** Event logs read, in order. */
  logs: string[];
  /** Lines skipped while reading the logs, for the CLI to print. */
  warnings: string[];
}

/** Writes `content` to `file` via a temporary file in the same directory and a rename. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(content, 'utf8');
      // Data on disk before the rename makes it visible: no empty junit.xml after a host crash.
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw resultsWriteError(file, err, 'write');
  }
}

/** Renders and writes junit.xml, summary.json and report.md into `outDir`. */
export async function writeReports(outDir: string, events: readonly RunEvent[]): Promise<WrittenReports> {
  const summary = summarizeRun(events);
  const paths: ReportPaths = {
    junit: path.join(outDir, REPORT_FILES.junit),
    json: path.join(outDir, REPORT_FILES.json),
    markdown: path.join(outDir, REPORT_FILES.markdown),
  };
  await writeFileAtomic(paths.junit, renderJunit(summary));
  await writeFileAtomic(paths.json, renderJsonSummary(summary));
  await writeFileAtomic(paths.markdown, renderMarkdown(summary));
  return { summary, paths };
}

/** A run directory, or an events.jsonl path given directly → the event log's path. */
async function eventLogPath(arg: string): Promise<string> {
  try {
    return (await stat(arg)).isDirectory() ? path.join(arg, EVENT_LOG_NAME) : arg;
  } catch {
    throw new UsageError('E_REPORT_RUN_DIR', `run directory ${arg} does not exist`, `pass the directory a \`kt run\` wrote (it holds ${EVENT_LOG_NAME})`);
  }
}

/**
 * `kt report <run-dir>...`: reads each run's events.jsonl (CI shards are merged by concatenating
 * their events in argument order) and writes the reports to `outDir` — by default the run
 * directory itself when there is exactly one.
 */
export async function reportCommand(runDirs: readonly string[], outDir?: string): Promise<ReportCommandResult> {
  if (runDirs.length === 0) {
    throw new UsageError('E_REPORT_NO_RUN_DIR', 'no run directory given', 'pass one or more run directories: kt report kt-results/<run-id>');
  }
  const firstDir = runDirs[0] as string;
  if (outDir === undefined && runDirs.length > 1) {
    throw new UsageError(
      'E_REPORT_OUT',
      `${runDirs.length} run directories given (${runDirs.join(', ')}) but no --out`,
      'merged reports need their own directory: add --out <dir>',
    );
  }
  const logs: string[] = [];
  const events: RunEvent[] = [];
  const warnings: string[] = [];
  for (const dir of runDirs) {
    const log = await eventLogPath(dir);
    const contents = await readEventLog(log);
    logs.push(log);
    events.push(...contents.events);
    warnings.push(...contents.warnings);
  }
  const target = outDir ?? ((await stat(firstDir)).isDirectory() ? firstDir : path.dirname(firstDir));
  try {
    await mkdir(target, { recursive: true });
  } catch (err) {
    throw resultsWriteError(target, err, 'create');
  }
  const written = await writeReports(target, events);
  return { ...written, outDir: target, logs, warnings };
}
