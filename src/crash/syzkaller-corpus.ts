/**
 * Scoring kt's crash titles against syzkaller's corpus of real console logs
 * (pkg/report/testdata/linux/report; a copy of half of it is in test/crash-corpus/syzkaller).
 * Pure functions: the test and `node dist/bench/crashCorpus.js` read the files and time the run.
 */
import type { CrashReport } from './report.js';

/** One corpus file: what syzbot says about its console log. */
export interface SyzkallerCase {
  /** The expected title; '' when the log holds no crash. */
  title: string;
  /** Alternative titles syzbot accepts for the same bug. */
  alts: string[];
  /** syzbot judged the report corrupted. */
  corrupted: boolean;
  /** The console log (without the header, without the expected REPORT: text). */
  log: Buffer;
}

/** Parses a corpus file (format of syzkaller's pkg/report/report_test.go; "\r" is dropped). */
export function parseSyzkallerCase(bytes: Uint8Array): SyzkallerCase {
  const text = Buffer.from(bytes).toString('latin1').replace(/\r/g, '');
  const lines = text.split('\n');
  const testCase: SyzkallerCase = { title: '', alts: [], corrupted: false, log: Buffer.alloc(0) };
  let i = 0;
  for (; i < lines.length && lines[i] !== ''; i++) {
    const line = lines[i]!;
    if (line.startsWith('TITLE: ')) testCase.title = line.slice('TITLE: '.length);
    else if (line.startsWith('ALT: ')) testCase.alts.push(line.slice('ALT: '.length));
    else if (line === 'CORRUPTED: Y') testCase.corrupted = true;
  }
  const log: string[] = [];
  let previousEmpty = false;
  for (i++; i < lines.length; i++) {
    const line = lines[i]!;
    if (previousEmpty && line === 'REPORT:') break;
    log.push(line);
    previousEmpty = line === '';
  }
  testCase.log = Buffer.from(log.join('\n'), 'latin1');
  return testCase;
}

/** A title's kind and culprit: "KASAN: use-after-free Read in foo" -> ["KASAN: use-after-free Read", "foo"]. */
export function splitTitle(title: string): { kind: string; func: string } {
  const at = title.lastIndexOf(' in ');
  return at < 0 ? { kind: title, func: '' } : { kind: title.slice(0, at), func: title.slice(at + ' in '.length) };
}

/** How kt's first report on one log compares with syzbot's title. */
export interface CaseScore {
  /** syzbot reports a crash in this log. */
  crash: boolean;
  /** kt reported something. */
  reported: boolean;
  /** kt's first title is syzbot's title or one of its alternatives. */
  titleEqual: boolean;
  /** kt's first title has the same kind and the same culprit function as one of syzbot's. */
  sameKindAndFunction: boolean;
  /** kt's and syzbot's corrupted verdicts agree (meaningful when both reported). */
  corruptedAgrees: boolean;
  /** kt's first title, '' when kt reported nothing. */
  got: string;
}

/** Scores kt's reports on one log (syzbot titles the first crash of a log: so is kt's first report). */
export function scoreCase(testCase: SyzkallerCase, reports: readonly CrashReport[]): CaseScore {
  const first = reports[0];
  const wanted = [testCase.title, ...testCase.alts];
  const got = first?.title ?? '';
  const mine = splitTitle(got);
  return {
    crash: testCase.title !== '',
    reported: first !== undefined,
    titleEqual: first !== undefined && wanted.includes(got),
    sameKindAndFunction:
      first !== undefined &&
      wanted.some((title) => {
        const theirs = splitTitle(title);
        return theirs.kind === mine.kind && theirs.func === mine.func;
      }),
    corruptedAgrees: (first?.corrupted === true) === testCase.corrupted,
    got,
  };
}

export interface CorpusSummary {
  files: number;
  crashes: number;
  detected: number;
  falseAlarms: number;
  titleEqual: number;
  sameKindAndFunction: number;
  corruptedAgree: number;
}

/** Adds up case scores. Rates are over the logs syzbot finds a crash in. */
export function summarize(scores: readonly CaseScore[]): CorpusSummary {
  const summary: CorpusSummary = { files: scores.length, crashes: 0, detected: 0, falseAlarms: 0, titleEqual: 0, sameKindAndFunction: 0, corruptedAgree: 0 };
  for (const score of scores) {
    if (!score.crash) {
      if (score.reported) summary.falseAlarms++;
      continue;
    }
    summary.crashes++;
    if (score.reported) summary.detected++;
    if (score.titleEqual) summary.titleEqual++;
    if (score.sameKindAndFunction) summary.sameKindAndFunction++;
    if (score.reported && score.corruptedAgrees) summary.corruptedAgree++;
  }
  return summary;
}

/** "detected 349/356 (98.0%), false alarms 0/18, ..." */
export function formatSummary(summary: CorpusSummary): string {
  const pct = (n: number, of: number): string => `${n}/${of} (${of === 0 ? '-' : ((100 * n) / of).toFixed(1)}%)`;
  return [
    `detected ${pct(summary.detected, summary.crashes)}`,
    `false alarms ${summary.falseAlarms}/${summary.files - summary.crashes}`,
    `title equal ${pct(summary.titleEqual, summary.crashes)}`,
    `same kind and function ${pct(summary.sameKindAndFunction, summary.crashes)}`,
    `corrupted verdict agrees ${pct(summary.corruptedAgree, summary.detected)}`,
  ].join(', ');
}
