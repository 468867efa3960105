/**
 * `kt crash scan [--json] FILE...`: runs kt's console crash detector (src/crash) over saved
 * console logs — a CI log, a VM's console.log, a syzbot report — and prints one line per report
 * (with --json, one JSON object per line), nothing for a clean log. `-` reads stdin.
 * Exit 0: no report; 1: reports found; 2: usage (no file, a file that cannot be read).
 * docs/crash-titles.md describes the titles.
 */
import fs from 'node:fs';
import type { Readable } from 'node:stream';

import { CrashDetector, LineSplitter, type CrashReport } from '../crash/index.js';
import { ExitCode, UsageError, printable } from '../errors.js';

export interface CrashScanOptions {
  json: boolean;
}

/** The text line of one report: "FILE:LINE: TITLE (fatal, corrupted, test T)". */
export function formatCrashLine(file: string, report: CrashReport): string {
  const notes = [report.fatal ? 'fatal' : '', report.corrupted ? 'corrupted' : '', report.test !== undefined ? `test ${report.test}` : ''].filter(Boolean);
  return `${printable(file)}:${report.startLine}: ${report.title}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
}

/** The JSON object of one report (one line of `--json` output). */
export function crashJson(file: string, report: CrashReport): Record<string, unknown> {
  return {
    file,
    title: report.title,
    type: report.type,
    fatal: report.fatal,
    corrupted: report.corrupted === true,
    frame: report.frame ?? null,
    fingerprint: report.fingerprint,
    test: report.test ?? null,
    startLine: report.startLine,
    endLine: report.endLine,
    pattern: report.pattern,
    excerpt: report.excerpt,
  };
}

/** Refuses (exit 2) what cannot be read, before anything is scanned. */
function checkReadable(file: string): void {
  if (file === '-') return;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
    fs.accessSync(file, fs.constants.R_OK);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new UsageError('E_CRASH_SCAN_FILE', `console log ${printable(file)} ${why}`, 'give the path of a saved console log, or - to read stdin');
  }
  if (stat.isDirectory()) {
    throw new UsageError('E_CRASH_SCAN_FILE', `console log ${printable(file)} is a directory`, 'give a console log file (e.g. <run-dir>/console/vm1.log), or - to read stdin');
  }
}

/** Streams one log through a LineSplitter and a CrashDetector; calls `found` for each report. */
async function scanStream(input: Readable, found: (report: CrashReport) => void): Promise<void> {
  const splitter = new LineSplitter();
  const detector = new CrashDetector();
  for await (const chunk of input) {
    for (const line of splitter.push(chunk as Buffer)) for (const report of detector.push(line)) found(report);
  }
  for (const line of splitter.flush()) for (const report of detector.push(line)) found(report);
  for (const report of detector.flush()) found(report);
}

export async function crashScan(files: readonly string[], options: CrashScanOptions): Promise<number> {
  if (files.length === 0) {
    throw new UsageError('E_CRASH_SCAN_NO_FILE', 'kt crash scan needs a console log to read', 'give one or more files, or - to read stdin: kt crash scan console.log');
  }
  if (files.filter((file) => file === '-').length > 1) {
    throw new UsageError('E_CRASH_SCAN_FILE', 'stdin (-) was given more than once', 'give - once');
  }
  for (const file of files) checkReadable(file);
  let reports = 0;
  for (const file of files) {
    const input = file === '-' ? process.stdin : fs.createReadStream(file);
    try {
      await scanStream(input, (report) => {
        reports++;
        process.stdout.write(`${options.json ? JSON.stringify(crashJson(file, report)) : formatCrashLine(file, report)}\n`);
      });
    } catch (err) {
      throw new UsageError('E_CRASH_SCAN_FILE', `console log ${printable(file)} could not be read: ${(err as Error).message}`, 'give the path of a readable console log');
    }
  }
  return reports > 0 ? ExitCode.testFailures : ExitCode.ok;
}

/**
 * The files of `kt crash scan`, in the order given. yargs drops a lone "-" (stdin) and leaves
 * the words after `--` (a file whose name starts with "-") to nobody, so the command line is read
 * again when either is there.
 */
export function scanFiles(parsed: readonly string[], argv: readonly string[]): string[] {
  if (!argv.includes('-')) {
    const dash = argv.indexOf('--');
    return dash < 0 ? [...parsed] : [...parsed, ...argv.slice(dash + 1)];
  }
  const scan = argv.indexOf('scan', argv.indexOf('crash'));
  const files: string[] = [];
  let optionsEnded = false;
  for (const word of argv.slice(scan + 1)) {
    if (!optionsEnded && word === '--') optionsEnded = true;
    else if (optionsEnded || word === '-' || !word.startsWith('-')) files.push(word);
  }
  return files;
}

/** `kt crash <action> [files..]`: the one action is `scan`. */
export async function crashCommandCli(action: string, files: readonly string[], options: CrashScanOptions, argv: readonly string[] = []): Promise<number> {
  if (action !== 'scan') throw new UsageError('E_USAGE', `unknown crash action ${printable(action)}`, 'kt crash scan FILE... finds crash reports in console logs');
  return crashScan(scanFiles(files, argv), options);
}
