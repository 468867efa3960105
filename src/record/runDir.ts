/**
 * The run directory (CI jobs and scripts depend on these names; README "The run directory"):
 *   <results>/<run-id>/events.jsonl   every event, appended as it happens
 *   <results>/<run-id>/junit.xml      summary.json   report.md
 *   <results>/<run-id>/console/vmN.log              each VM's kernel console
 *   <results>/<run-id>/results/<test>.<ext>         per-test files (fstests' names: full,
 *                                                   dmesg, out.bad; console for crashes)
 *   <results>/<run-id>/results/<section>/<test>.<ext>   the same, in a run of several sections
 *   <results>/latest -> <run-id>
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { resultsWriteError } from './resultsWriteError.js';

/** 20261122-013045-3fa2: sortable, unique across concurrent runs on one host. */
export function makeRunId(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `${stamp}-${crypto.randomBytes(2).toString('hex')}`;
}

/** Run directories this process created, in order (see runDirsCreated). */
const created: string[] = [];

/**
 * The run directories this process created so far, oldest first. `kt repro` runs each repeat
 * as an in-process `kt run`, and takes the run directory from here: another kt writing to the same
 * results directory meanwhile (its run directory, its `latest`) is never mistaken for its own.
 */
export function runDirsCreated(): readonly string[] {
  return [...created];
}

/** What became of `<results>/latest`: pointed at the new run, or left alone (and why). */
export type LatestLink = 'updated' | 'not-a-link' | 'unsupported';

/**
 * Pure: may kt replace what is at `latest` (its lstat, undefined when nothing is there)? Only
 * its own symlink: a file or directory of that name is the user's, and is never replaced.
 */
export function mayReplaceLatest(stat: Pick<fs.Stats, 'isSymbolicLink'> | undefined): boolean {
  return stat === undefined || stat.isSymbolicLink();
}

export function createRunDir(resultsDir: string, runId: string): string {
  return createRunDirAndLink(resultsDir, runId).dir;
}

/** createRunDir, saying what became of `latest` (for a warning when it is not kt's symlink). */
export function createRunDirAndLink(resultsDir: string, runId: string): { dir: string; latest: LatestLink } {
  const dir = path.join(resultsDir, runId);
  try {
    fs.mkdirSync(path.join(dir, 'console'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'results'), { recursive: true });
  } catch (err) {
    throw resultsWriteError(dir, err, 'create');
  }
  created.push(path.resolve(dir));
  return { dir, latest: pointLatestAt(resultsDir, runId) };
}

/** `latest` is replaced atomically (a concurrent run never sees it missing), and only when it is kt's symlink. */
function pointLatestAt(resultsDir: string, runId: string): LatestLink {
  const link = path.join(resultsDir, 'latest');
  let stat: fs.Stats | undefined;
  try {
    stat = fs.lstatSync(link, { throwIfNoEntry: false });
  } catch {
    return 'unsupported';
  }
  if (!mayReplaceLatest(stat)) return 'not-a-link';
  const tmp = `${link}.${process.pid}.tmp`;
  try {
    fs.rmSync(tmp, { force: true });
    fs.symlinkSync(runId, tmp);
    // A user's file put there since the lstat above is not replaced either: rename(2) would.
    if (!mayReplaceLatest(fs.lstatSync(link, { throwIfNoEntry: false }))) {
      fs.rmSync(tmp, { force: true });
      return 'not-a-link';
    }
    fs.renameSync(tmp, link);
    return 'updated';
  } catch {
    // A results dir on a filesystem without symlinks still gets its results.
    fs.rmSync(tmp, { force: true });
    return 'unsupported';
  }
}

/**
 * A kt run directory, as createRunDir makes it: the event log beside console/ and results/.
 * `kt report` writes over the report files of such a directory only (they are kt's); a folder
 * that merely holds a copied event log is the user's.
 */
export function isRunDirLayout(dir: string, logName: string): boolean {
  const is = (name: string, kind: 'file' | 'dir') => {
    const st = fs.lstatSync(path.join(dir, name), { throwIfNoEntry: false });
    return st !== undefined && (kind === 'file' ? st.isFile() : st.isDirectory());
  };
  return is(logName, 'file') && is('console', 'dir') && is('results', 'dir');
}

/**
 * Relative path of a test's artifact; reruns get a suffix so nothing is overwritten. `section`
 * is given in runs of several sections only (fstests also keeps results/<section>/).
 */
export function artifactPath(test: string, attempt: number, ext: string, section?: string): string {
  return `results/${section ? `${section}/` : ''}${test}.${ext}${attempt > 1 ? `.attempt${attempt}` : ''}`;
}

export function writeArtifact(runDir: string, rel: string, data: Buffer | string): void {
  const file = path.join(runDir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}
