/**
 * `kt report --out DIR` into a directory that is not a run directory: a report file already
 * there that kt did not write (the user's own report.md, another tool's junit.xml) is moved
 * aside to NAME.kt-old (then .kt-old.1, …), as `kt kconfig fix` keeps .config.kt-old, and said
 * on stderr; kt's own reports there (an earlier `kt report --out DIR`) are replaced.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError, printable } from '../errors.js';
import { REPORT_FILES, type ReportFormat } from '../reporters/writeReports.js';
import { freeName } from '../util/freeName.js';

/** How many bytes of a file are enough to recognise kt's report in it. */
const HEAD_BYTES = 4096;

/**
 * Pure: does this start of a file look like the report kt writes under that name? Each test is
 * the fixed opening of kt's renderer (src/reporters: junit.ts names the suites "kt", json.ts puts
 * the format version first, markdown.ts and html.ts open with "kt" and the verdict).
 */
export function looksLikeKtReport(format: ReportFormat, head: string): boolean {
  switch (format) {
    case 'junit':
      return /^<\?xml[^>]*\?>\s*<testsuites name="kt"[\s>]/.test(head);
    case 'json':
      return /^\{\s*"version":\s*\d+,\s*"(runs|verdict)":/.test(head);
    case 'markdown':
      return /^# \S+ kt: /.test(head);
    case 'html':
      return /^<!DOCTYPE html>/i.test(head) && /<title>kt [^<]*<\/title>/.test(head);
  }
}

function headOf(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    const buf = Buffer.alloc(HEAD_BYTES);
    const n = fs.readSync(fd, buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, n).toString('utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** A report file moved out of kt's way. */
export interface MovedAside {
  file: string;
  backup: string;
}

/**
 * Moves aside each report file of `formats` in `dir` that kt did not write: anything but a
 * regular file (a directory, a symlink) or a file without kt's opening. Returns what it moved.
 */
export function moveAsideForeignReports(dir: string, formats: readonly ReportFormat[]): MovedAside[] {
  const moved: MovedAside[] = [];
  for (const format of formats) {
    const file = path.join(dir, REPORT_FILES[format]);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(file);
    } catch {
      continue;
    }
    const head = stat.isFile() ? headOf(file) : undefined;
    if (head !== undefined && looksLikeKtReport(format, head)) continue;
    const backup = freeName(`${file}.kt-old`);
    try {
      fs.renameSync(file, backup);
    } catch (err) {
      throw new UsageError(
        'E_REPORT_OUT_FOREIGN',
        `${printable(file)} was not written by kt and cannot be moved aside to ${printable(path.basename(backup))} (${(err as NodeJS.ErrnoException).code})`,
        'give --out a new directory for the reports, or move the file away yourself',
      );
    }
    moved.push({ file, backup });
  }
  return moved;
}
