/**
 * Reading and writing the baseline file (format: src/baseline/format.ts, docs/baseline.md). A
 * user's baseline is never lost: it is read and checked completely before anything is written,
 * and the new text replaces it by rename, so a failed write leaves the old file as it was.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HostError, UsageError, printable } from '../errors.js';
import { parseBaseline, parseBaselineFile, type Baseline } from '../baseline/format.js';
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

/** Reads a baseline to update, with its file's format version: undefined when the file does not exist yet. */
export function readBaselineIfAny(file: string): { baseline: Baseline; fileVersion: number } | undefined {
  const text = readText(file);
  return text === undefined ? undefined : parseBaselineFile(text, file);
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

/**
 * The file a write to `file` lands in: a symlink (kt-baseline.json -> shared/baseline.json, also
 * a dangling one) is followed, so the rename replaces its target and the link stays a link.
 */
export function writeTarget(file: string): string {
  let p = path.resolve(file);
  try {
    return fs.realpathSync(p);
  } catch {
    // Missing, or a link to a missing file: follow the links by hand (40 as Linux's MAXSYMLINKS).
  }
  for (let hops = 0; hops < 40; hops++) {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(p);
    } catch {
      return p;
    }
    if (!stat.isSymbolicLink()) return p;
    p = path.resolve(path.dirname(p), fs.readlinkSync(p));
  }
  throw new UsageError('E_BASELINE_LINK_LOOP', `baseline ${printable(file)} is a loop of symbolic links`, 'give --baseline a file, e.g. kt-baseline.json');
}

/** The errno code inside an error (writeFileAtomic's HostError carries the fs error as its cause). */
function errnoOf(err: unknown): string {
  const inner = err instanceof Error && err.cause !== undefined ? err.cause : err;
  return typeof inner === 'object' && inner !== null && 'code' in inner && typeof inner.code === 'string' ? inner.code : 'EIO';
}

/**
 * Writes the baseline's text: a temporary file in the target's directory, then a rename over
 * the old one (through a symlink to its target). A place the user cannot write is their input
 * (exit 2, naming --baseline); a full or failing disk is the host's (exit 3).
 */
export async function writeBaselineText(file: string, text: string): Promise<void> {
  const target = writeTarget(file);
  const dir = path.dirname(target);
  const shown = target === path.resolve(file) ? printable(file) : `${printable(file)} (-> ${printable(target)})`;
  if (!fs.existsSync(dir)) throw new UsageError('E_BASELINE_DIR_MISSING', `cannot write baseline ${shown}: directory ${printable(dir)} does not exist`, 'create the directory first, or give another --baseline');
  try {
    await writeFileAtomic(target, text);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO') {
      throw new HostError('E_BASELINE_WRITE', `cannot write baseline ${shown}: ${code}`, `free space on the file system holding ${printable(dir)} (or give another --baseline), then run again; the baseline is as it was`, { cause: err });
    }
    throw new UsageError('E_BASELINE_UNWRITABLE', `--baseline ${shown} cannot be written (${code})`, `give --baseline a file in a directory you can write to; the baseline is as it was`, { cause: err });
  }
}
