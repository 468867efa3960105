/**
 * Writing the report files of a run: junit.xml, summary.json and report.md. Used at the end of
 * `kt run` (with the events it just wrote) and by `kt report <run-dir>...` (replaying one or many
 * event logs, e.g. CI shards), so both paths produce byte-identical reports from the same events.
 *
 * Each file is written to a temporary name and renamed into place: a reader (or a CI upload) never
 * sees half a junit.xml, and a failed write leaves the previous file intact.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { resultsWriteError } from '../record/eventLog.js';
import { renderJsonSummary } from './json.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import type { RunSummary } from '../record/runSummary.js';

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
export async function writeReports(outDir: string, summary: RunSummary): Promise<WrittenReports> {
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
