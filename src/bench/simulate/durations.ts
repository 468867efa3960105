/**
 * Per-test durations in fstests' `check.time` format: one `TEST SECONDS` line per test, the
 * file check keeps in its results directory (fstests' `check`: `_update_time` writes
 * `$seq $secs` to check.time). The simulation feeds them to simulated guests; the real sets
 * are in bench/data/fstests-durations/ (README there gives each source).
 */
import fs from 'node:fs';
import { UsageError, printable } from '../../errors.js';

export interface TestDuration {
  test: string;
  seconds: number;
}

/** fstests test names: `<dir>/<seq>` (tests/<dir>/<seq>; a seq may be a name, e.g. `generic/dm-test`). */
const LINE = /^([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)[ \t]+(\d+)$/;

/** Parses check.time text; `source` names the file in errors. Pure. */
export function parseDurations(text: string, source: string): TestDuration[] {
  const out: TestDuration[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '') continue;
    const m = LINE.exec(line);
    if (!m) {
      throw new UsageError(
        'E_BAD_DURATIONS',
        `${source}:${index + 1}: not a check.time line: "${printable(line.slice(0, 120))}"`,
        'each line must be "<dir>/<test> <seconds>", e.g. "generic/001 5" (the format of fstests\' check.time)',
      );
    }
    const test = m[1]!;
    if (seen.has(test)) {
      throw new UsageError('E_BAD_DURATIONS', `${source}:${index + 1}: ${test} is listed twice`, 'keep one line per test');
    }
    seen.add(test);
    out.push({ test, seconds: Number(m[2]) });
  }
  if (out.length === 0) {
    throw new UsageError('E_BAD_DURATIONS', `${source} holds no test durations`, 'pass a check.time file, e.g. one in bench/data/fstests-durations/');
  }
  return out;
}

/** Reads and parses a check.time file; a missing or unreadable file is a usage error. */
export function loadDurations(file: string): TestDuration[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      'E_BAD_DURATIONS',
      `cannot read durations file ${printable(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      'pass a check.time file, e.g. bench/data/fstests-durations/kdevops-xfs_reflink-6.6.0-rc5-auto.check.time',
    );
  }
  return parseDurations(text, file);
}
