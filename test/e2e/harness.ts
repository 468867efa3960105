/**
 * End-to-end harness: runs the real `kt` binary (dist/, built by `npm test`) against the
 * fixture fstests tree in real QEMU guests under TCG, and inspects what it left behind.
 */
import { execa, type ResultPromise } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const KT = path.join(REPO, 'bin/kt.js');
export const XSD = path.join(REPO, 'test/schemas/junit-10.xsd');

let builtTree: string | undefined;

/**
 * Temporary directories of this test file, removed after its last test (KT_E2E_KEEP=1 keeps
 * them to look at). The hook is registered when a test file imports the harness, on that file.
 */
const made: string[] = [];
afterAll(() => {
  if (process.env.KT_E2E_KEEP === '1') return;
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  builtTree = undefined;
});

/** A fresh directory under the temp dir (`kt-e2e-<what>-XXXXXX`), gone after the test file. */
export function e2eTempDir(what: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kt-e2e-${what}-`));
  made.push(dir);
  return dir;
}

/** A built copy of test/fixtures/fstests (group lists generated, ltp/fsstress compiled). */
export async function fixtureTree(): Promise<string> {
  if (builtTree) return builtTree;
  const dir = e2eTempDir('fstests');
  fs.cpSync(path.join(REPO, 'test/fixtures/fstests'), dir, { recursive: true });
  await execa('make', ['-s', '-C', dir]);
  builtTree = dir;
  return dir;
}

/**
 * A copy of kt (what `node bin/kt.js` needs: dist, guest, suites, node_modules) in `dir/kt`,
 * readable by every user: the tests that run kt as an ordinary account cannot rely on reading
 * the checkout (CI's copy sits under a 0700 mktemp directory; a checkout in a 0700 home too).
 */
export async function readableKtCopy(dir: string): Promise<string> {
  const kt = path.join(dir, 'kt');
  for (const part of ['bin', 'dist', 'guest', 'suites', 'package.json', 'node_modules']) {
    fs.cpSync(path.join(REPO, part), path.join(kt, part), { recursive: true, verbatimSymlinks: true });
  }
  await execa('chmod', ['-R', 'a+rX', kt]);
  return kt;
}

export interface KtRun {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  resultsDir: string;
  /** <results>/<run-id>, resolved through the `latest` link. */
  runDir: string;
}

let ktTmp: string | undefined;
afterAll(() => {
  ktTmp = undefined;
});

/**
 * The TMPDIR of every kt this test file starts, where kt makes its run temp dirs
 * (src/vm/runTempDir.ts). A directory of the file's own, so that `ktTempDirs()` sees what this
 * file's runs left and nothing of another kt on the host: a kt a user runs, one an earlier
 * `npm test` lost to SIGKILL, the other e2e files running at the same time.
 */
export function ktTmpDir(): string {
  ktTmp ??= e2eTempDir('tmp');
  return ktTmp;
}

/** Env for kt in tests: its own TMPDIR (ktTmpDir), no colours, the shared image cache. */
export function ktEnv(): Record<string, string> {
  return { ...(process.env as Record<string, string>), NO_COLOR: '1', TMPDIR: ktTmpDir() };
}

export function startKt(args: string[], resultsDir: string): ResultPromise<{ reject: false; all: false }> {
  return execa('node', [KT, 'run', '--accel', 'tcg', '--results', resultsDir, ...args], {
    reject: false,
    env: ktEnv(),
    cwd: os.tmpdir(),
    stdin: 'ignore',
  }) as unknown as ResultPromise<{ reject: false; all: false }>;
}

export async function runKt(args: string[]): Promise<KtRun> {
  const resultsDir = e2eTempDir('results');
  const r = await startKt(args, resultsDir);
  return finished(r, resultsDir);
}

export function finished(r: { exitCode?: number; stdout?: unknown; stderr?: unknown }, resultsDir: string): KtRun {
  const latest = path.join(resultsDir, 'latest');
  const runDir = fs.existsSync(latest) ? fs.realpathSync(latest) : '';
  return { exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), resultsDir, runDir };
}

export interface EventLine {
  type: string;
  test?: string;
  outcome?: { status: string; message?: string; reason?: string; crash?: { title: string; type: string } };
  [key: string]: unknown;
}

export function readEvents(runDir: string): EventLine[] {
  return fs
    .readFileSync(path.join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as EventLine);
}

/** Final outcome status per test (last test-end wins). */
export function outcomes(runDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ev of readEvents(runDir)) if (ev.type === 'test-end' && ev.test) out[ev.test] = ev.outcome!.status;
  return out;
}

export function lastEnd(runDir: string, test: string): EventLine {
  const ends = readEvents(runDir).filter((e) => e.type === 'test-end' && e.test === test);
  const last = ends[ends.length - 1];
  if (!last) throw new Error(`no test-end for ${test}`);
  return last;
}

/** xmllint's verdict on junit.xml against the JUnit schema (test/schemas/junit-10.xsd). */
export async function validateJunit(file: string): Promise<{ ok: boolean; output: string }> {
  const r = await execa('xmllint', ['--noout', '--schema', XSD, file], { reject: false });
  return { ok: r.exitCode === 0, output: `${r.stdout}${r.stderr}` };
}

/** QEMU processes whose command line names this run (kt names VMs kt-<run-id>-vmN). */
export async function qemuOf(runId: string): Promise<string[]> {
  const r = await execa('pgrep', ['-f', `qemu-system.*kt-${runId}-`], { reject: false });
  return r.stdout.split('\n').filter(Boolean);
}

export function runIdOf(runDir: string): string {
  return path.basename(runDir);
}

/** kt's per-run temp dirs (<TMPDIR>/kt-XXXXXX) that hold VM disks; all must be gone after a run. */
export function ktTempDirs(tmp: string = ktTmpDir()): string[] {
  return fs.readdirSync(tmp).filter((d) => /^kt-[A-Za-z0-9]{6}$/.test(d));
}

/** Waits until the run's event log contains an event matching `pred`. */
export async function waitForEvent(resultsDir: string, pred: (e: EventLine) => boolean, timeoutMs: number): Promise<EventLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const latest = path.join(resultsDir, 'latest');
    if (fs.existsSync(latest)) {
      const ev = readEvents(fs.realpathSync(latest)).find(pred);
      if (ev) return ev;
    }
    if (Date.now() > deadline) throw new Error(`no matching event within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
