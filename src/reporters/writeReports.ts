/**
 * Writing the report files of a run: junit.xml, summary.json, report.md and report.html. Used at the end of
 * `kt run` (with the events it just wrote) and by `kt report <run-dir>...` (replaying one or many
 * event logs, e.g. CI shards), so both paths produce byte-identical reports from the same events.
 *
 * Each file is written to a temporary name and renamed into place: a reader (or a CI upload) never
 * sees half a junit.xml, and a failed write leaves the previous file intact.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { resultsWriteError } from '../record/resultsWriteError.js';
import { renderJsonSummary } from './json.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import { renderHtml } from './html.js';
import { previousRunSummary } from './previousRun.js';
import type { RunSummary } from '../record/runSummary.js';
import type { RunVerdict } from '../record/verdict.js';

/** File names of the reports inside the output directory. */
export const REPORT_FILES = { junit: 'junit.xml', json: 'summary.json', markdown: 'report.md', html: 'report.html' } as const;

/** One kind of report file. */
export type ReportFormat = keyof typeof REPORT_FILES;

/** Which reports to write, and what report.html needs besides the summary. */
export interface WriteReportsOptions {
  /** Default: all. */
  formats?: readonly ReportFormat[];
  /** The run report.html compares durations with; default: the previous run of outDir's results directory (previousRun.ts); null: none. */
  previous?: RunSummary | null;
  /** Run id → its run directory relative to outDir, where report.html links to a run's files (merged shards). */
  runDirs?: Readonly<Record<string, string>>;
  /**
   * The error a failed write becomes. Default: kt run's (resultsWriteError: exit 3, a hint about
   * --results); `kt report`, which has no --results, passes its own (a hint about --out).
   */
  writeError?: (file: string, err: unknown) => Error;
}

/** Paths of the report files written. */
export interface ReportPaths {
  /** junit.xml */
  junit: string;
  /** summary.json */
  json: string;
  /** report.md */
  markdown: string;
  /** report.html */
  html: string;
}

/** What writeReports produced. */
export interface WrittenReports {
  /** The summary the files were rendered from (for the terminal summary and exit code). */
  summary: RunSummary;
  /** Where the files are. */
  paths: ReportPaths;
}

/** Writes `content` to `file` via a temporary file in the same directory and a rename. */
export async function writeFileAtomic(file: string, content: string, writeError: (file: string, err: unknown) => Error = runWriteError): Promise<void> {
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
    throw writeError(file, err);
  }
}

function runWriteError(file: string, err: unknown): Error {
  return resultsWriteError(file, err, 'write');
}

/** Renders and writes junit.xml, summary.json, report.md and report.html (or `options.formats`) into `outDir` (with a baseline verdict, its words). */
export async function writeReports(outDir: string, summary: RunSummary, verdict?: RunVerdict, options: WriteReportsOptions = {}): Promise<WrittenReports> {
  const paths: ReportPaths = {
    junit: path.join(outDir, REPORT_FILES.junit),
    json: path.join(outDir, REPORT_FILES.json),
    markdown: path.join(outDir, REPORT_FILES.markdown),
    html: path.join(outDir, REPORT_FILES.html),
  };
  const formats = new Set<ReportFormat>(options.formats ?? ['junit', 'json', 'markdown', 'html']);
  const write = (file: string, content: string) => writeFileAtomic(file, content, options.writeError);
  if (formats.has('junit')) await write(paths.junit, renderJunit(summary, verdict));
  if (formats.has('json')) await write(paths.json, renderJsonSummary(summary, verdict));
  if (formats.has('markdown')) await write(paths.markdown, renderMarkdown(summary, verdict));
  if (formats.has('html')) {
    const previous = options.previous === undefined ? await previousRunSummary(outDir) : (options.previous ?? undefined);
    await write(paths.html, renderHtml(summary, { ...(verdict ? { verdict } : {}), ...(previous ? { previous } : {}), ...(options.runDirs ? { runDirs: options.runDirs } : {}) }));
  }
  return { summary, paths };
}
