/**
 * `node dist/bench/crashCorpus.js [--verbose] [DIR...]`: runs kt's crash detector over
 * syzkaller's corpus of real console logs and prints how kt's titles compare with syzbot's, and
 * how long detection took (files are read first; only detection is timed).
 *
 * DIR defaults to the half of the corpus kept in this repository (test/crash-corpus/syzkaller).
 * Point it at a checkout's pkg/report/testdata/linux/report to measure the other half.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { detectCrashes } from '../crash/detector.js';
import { formatSummary, parseSyzkallerCase, scoreCase, summarize, type CaseScore, type SyzkallerCase } from '../crash/syzkaller-corpus.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_DIR = path.join(REPO, 'test/crash-corpus/syzkaller');

function main(argv: string[]): number {
  const verbose = argv.includes('--verbose');
  const dirs = argv.filter((arg) => arg !== '--verbose');
  const cases: { name: string; testCase: SyzkallerCase }[] = [];
  for (const dir of dirs.length > 0 ? dirs : [DEFAULT_DIR]) {
    let names: string[];
    try {
      names = fs.readdirSync(dir).filter((name) => /^\d+$/.test(name));
    } catch (error) {
      process.stderr.write(`crashCorpus: cannot read ${dir}: ${(error as Error).message}\n`);
      return 2;
    }
    names.sort((a, b) => Number(a) - Number(b));
    for (const name of names) cases.push({ name: path.join(dir, name), testCase: parseSyzkallerCase(fs.readFileSync(path.join(dir, name))) });
  }
  const bytes = cases.reduce((sum, { testCase }) => sum + testCase.log.length, 0);
  const scores: CaseScore[] = [];
  const started = process.hrtime.bigint();
  const results = cases.map(({ testCase }) => detectCrashes(testCase.log));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  for (const [i, { name, testCase }] of cases.entries()) {
    const score = scoreCase(testCase, results[i]!);
    scores.push(score);
    if (verbose && (score.crash !== score.reported || (score.crash && !score.titleEqual))) {
      process.stdout.write(`${name}: want ${JSON.stringify(testCase.title)} got ${JSON.stringify(score.got)}\n`);
    }
  }
  process.stdout.write(`${cases.length} logs, ${(bytes / 1e6).toFixed(1)} MB: ${formatSummary(summarize(scores))}\n`);
  process.stdout.write(`detection took ${ms.toFixed(0)} ms (${((bytes / 1e6) / (ms / 1000)).toFixed(1)} MB/s)\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
