/**
 * The crash corpus (test/crash-corpus/*.log, after syzkaller's pkg/report/testdata): real
 * consoles headed by the reports they must produce. An empty "TITLE:" means "no report".
 * KT_UPDATE_CORPUS=1 rewrites the headers from what the detector finds (review the diff!).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { CrashDetector, LineSplitter, detectCrashes, type CrashReport } from '../../src/crash/index.js';

const CORPUS_DIR = fileURLToPath(new URL('../crash-corpus/', import.meta.url));
const UPDATE = process.env['KT_UPDATE_CORPUS'] === '1';

/** What a corpus header says about one report. */
interface ExpectedReport {
  title: string;
  type?: string;
  fatal?: boolean;
  test?: string;
  frame?: string;
  corrupted?: boolean;
}

interface CorpusFile {
  expected: ExpectedReport[];
  console: Buffer;
}

const HEADER_KEYS = ['TITLE', 'TYPE', 'FATAL', 'TEST', 'FRAME', 'CORRUPTED'] as const;

function parseCorpusFile(name: string, bytes: Buffer): CorpusFile {
  const end = bytes.indexOf('\n\n');
  if (end < 0) throw new Error(`${name}: no empty line after the header`);
  const expected: ExpectedReport[] = [];
  for (const line of bytes.subarray(0, end).toString('utf8').split('\n')) {
    const match = /^([A-Z]+): ?(.*)$/.exec(line);
    const key = match?.[1];
    const value = match?.[2] ?? '';
    if (!match || !HEADER_KEYS.includes(key as (typeof HEADER_KEYS)[number])) {
      throw new Error(`${name}: bad header line ${JSON.stringify(line)}`);
    }
    if (key === 'TITLE') {
      if (value !== '') expected.push({ title: value });
      continue;
    }
    const current = expected.at(-1);
    if (!current) throw new Error(`${name}: ${key} before TITLE`);
    if (key === 'TYPE') current.type = value;
    else if (key === 'FATAL') current.fatal = value === 'yes';
    else if (key === 'TEST') current.test = value;
    else if (key === 'FRAME') current.frame = value;
    else if (key === 'CORRUPTED') current.corrupted = value === 'yes';
  }
  return { expected, console: bytes.subarray(end + 2) };
}

function toExpected(report: CrashReport): ExpectedReport {
  const expected: ExpectedReport = { title: report.title, type: report.type, fatal: report.fatal };
  if (report.test !== undefined) expected.test = report.test;
  if (report.frame !== undefined) expected.frame = report.frame;
  if (report.corrupted) expected.corrupted = true;
  return expected;
}

function renderHeader(reports: readonly ExpectedReport[]): string {
  if (reports.length === 0) return 'TITLE:\n';
  return reports
    .map((report) =>
      [
        `TITLE: ${report.title}`,
        `TYPE: ${report.type ?? ''}`,
        `FATAL: ${report.fatal ? 'yes' : 'no'}`,
        ...(report.test !== undefined ? [`TEST: ${report.test}`] : []),
        ...(report.frame !== undefined ? [`FRAME: ${report.frame}`] : []),
        ...(report.corrupted ? ['CORRUPTED: yes'] : []),
      ].join('\n'),
    )
    .join('\n')
    .concat('\n');
}

/** Feeds the console in uneven chunks, as a serial port would deliver it. */
function detectChunked(console: Buffer, sizes: readonly number[]): CrashReport[] {
  const splitter = new LineSplitter();
  const detector = new CrashDetector();
  const reports: CrashReport[] = [];
  let offset = 0;
  for (let i = 0; offset < console.length; i++) {
    const size = sizes[i % sizes.length]!;
    for (const line of splitter.push(console.subarray(offset, offset + size))) reports.push(...detector.push(line));
    offset += size;
  }
  for (const line of splitter.flush()) reports.push(...detector.push(line));
  reports.push(...detector.flush());
  return reports;
}

const files = readdirSync(CORPUS_DIR)
  .filter((name) => name.endsWith('.log'))
  .sort();

describe('crash corpus', () => {
  it('has real consoles to test', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  for (const name of files) {
    it(name, () => {
      const path = CORPUS_DIR + name;
      const bytes = readFileSync(path);
      const { expected, console } = parseCorpusFile(name, bytes);
      const reports = detectCrashes(console);
      if (UPDATE) {
        writeFileSync(path, Buffer.concat([Buffer.from(renderHeader(reports.map(toExpected)) + '\n'), console]));
        return;
      }
      expect(reports.map(toExpected)).toEqual(expected);
      // Every report carries its evidence and a line range inside the console.
      for (const report of reports) {
        expect(report.fingerprint).toMatch(/^[0-9a-f]{16}$/);
        expect(report.excerpt.length).toBeGreaterThan(0);
        expect(report.startLine).toBeGreaterThan(0);
        expect(report.endLine).toBeGreaterThanOrEqual(report.startLine);
      }
      // Chunk boundaries and line terminators must not change what is found.
      expect(detectChunked(console, [1, 7, 64, 3, 4096, 13])).toEqual(reports);
      expect(detectCrashes(Buffer.from(console.toString('latin1').replace(/\n/g, '\r\n'), 'latin1'))).toEqual(reports);
    });
  }
});
