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

export function createRunDir(resultsDir: string, runId: string): string {
  const dir = path.join(resultsDir, runId);
  try {
    fs.mkdirSync(path.join(dir, 'console'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'results'), { recursive: true });
  } catch (err) {
    throw resultsWriteError(dir, err, 'create');
  }
  // `latest` is replaced atomically: a concurrent run never sees it missing.
  const link = path.join(resultsDir, 'latest');
  const tmp = `${link}.${process.pid}.tmp`;
  try {
    fs.rmSync(tmp, { force: true });
    fs.symlinkSync(runId, tmp);
    fs.renameSync(tmp, link);
  } catch {
    // A results dir on a filesystem without symlinks still gets its results.
  }
  return dir;
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
