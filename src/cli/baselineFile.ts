/**
 * Reading and writing the baseline file (format: src/baseline/format.ts, docs/baseline.md). A
 * user's baseline is never lost: it is read and checked completely before anything is written,
 * and the new text replaces it by rename, so a failed write leaves the old file as it was.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError, printable } from '../errors.js';
import { parseBaseline, type Baseline } from '../baseline/format.js';
import { writeFileAtomic } from '../reporters/writeReports.js';

/** A --baseline value: refused when empty. */
export function baselinePath(given: string | string[] | undefined, fallback?: string): string | undefined {
  if (Array.isArray(given)) {
    if (given.length === 1) return baselinePath(given[0], fallback);
    throw new UsageError('E_FLAG_REPEATED', `--baseline was given ${given.length} times (${given.map(printable).join(', ')})`, 'give --baseline once');
  }
  if (given === undefined) return fallback;
  if (given.trim() === '') throw new UsageError('E_EMPTY_VALUE', '--baseline was given without a file', 'give the baseline file, e.g. --baseline kt-baseline.json');
  return given;
}

/** Reads a baseline the user named; it must exist (`kt run --baseline`, `kt report --baseline`). */
export function readBaseline(file: string): Baseline {
  const text = readText(file);
  if (text === undefined) {
    throw new UsageError(
      'E_BASELINE_MISSING',
      `baseline ${printable(file)} does not exist`,
      `record one first: kt baseline update <run-dir>... --baseline ${printable(file)}`,
    );
  }
  return parseBaseline(text, file);
}

/** Reads a baseline to update: undefined when the file does not exist yet. */
export function readBaselineIfAny(file: string): Baseline | undefined {
  const text = readText(file);
  return text === undefined ? undefined : parseBaseline(text, file);
}

function readText(file: string): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError('E_BASELINE_UNREADABLE', `cannot read baseline ${printable(file)} (${(err as NodeJS.ErrnoException).code})`, 'check the path and its permissions');
  }
  if (!stat.isFile()) throw new UsageError('E_BASELINE_NOT_A_FILE', `baseline ${printable(file)} is ${stat.isDirectory() ? 'a directory' : 'not a regular file'}`, 'give --baseline a file, e.g. kt-baseline.json');
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError('E_BASELINE_UNREADABLE', `cannot read baseline ${printable(file)} (${(err as NodeJS.ErrnoException).code})`, 'check its permissions');
  }
}

/** Writes the baseline's text: a temporary file in the same directory, then a rename over the old one. */
export async function writeBaselineText(file: string, text: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new UsageError('E_BASELINE_DIR_MISSING', `cannot write baseline ${printable(file)}: directory ${printable(dir)} does not exist`, 'create the directory first, or give another --baseline');
  await writeFileAtomic(file, text);
}
