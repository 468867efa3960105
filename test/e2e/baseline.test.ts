/**
 * Regression testing on real VMs (docs/baseline.md): a run of the fixture tree in section xfs/1k
 * becomes the baseline; `kt repro` reruns its failing selftest/002 twice, each time on a fresh
 * VM in the same section ("failed 2 of 2"); a branch where selftest/001 broke is run with
 * --baseline (exit 1, the regression first, the known failure known); `kt compare` tells the two
 * runs apart. -j 1 throughout: four boots in all.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureTree, KT, ktEnv, qemuOf, readEvents, runIdOf, runKt, type EventLine, type KtRun } from './harness.js';

/** Runs a kt command that is not `kt run` (the harness's runKt adds `run`). */
async function kt(args: string[]): Promise<{ code: number | undefined; out: string; err: string }> {
  const r = await execa('node', [KT, ...args], { reject: false, env: ktEnv(), cwd: os.tmpdir(), stdin: 'ignore' });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

const startOf = (events: EventLine[]) => events.find((e) => e.type === 'run-start')!;
const endsOf = (events: EventLine[]) => events.filter((e) => e.type === 'test-end').map((e) => `${String(e['section'])} ${e.test} ${e.outcome!.status}`);

let tree: string;
let work: string;
let baseline: string;
let good: KtRun;

beforeAll(async () => {
  tree = await fixtureTree();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-e2e-baseline-'));
  baseline = path.join(work, 'kt-baseline.json');
  good = await runKt(['-c', 'xfs/1k', '-j', '1', '--fstests', tree, 'selftest/001', 'selftest/002']);
}, 1_800_000);

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe('regression testing against a baseline, on real VMs', () => {
  it('records the known-good run as the baseline', async () => {
    expect(good.stderr).not.toMatch(/internal error/);
    expect(good.exitCode, good.stderr).toBe(1);
    expect(endsOf(readEvents(good.runDir))).toEqual(['xfs/1k selftest/001 passed', 'xfs/1k selftest/002 failed']);
    // The text summary prints the command that reruns each failure.
    expect(good.stdout).toContain(`\n      repro: kt repro ${good.runDir} selftest/002\n`);
    const r = await kt(['baseline', 'update', good.runDir, '--baseline', baseline]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.split('\n')[0]).toBe(`kt: baseline ${baseline}: created with 1 run (${runIdOf(good.runDir)})`);
    expect(fs.readFileSync(baseline, 'utf8')).toContain('\n    "xfs/1k": {\n      "selftest/001": {"runs":1,"passed":1},\n      "selftest/002": {"runs":1,"failed":1}\n    }\n');
  });

  it('kt repro reruns selftest/002 twice, each on a fresh VM with the same kernel, tree and section: failed 2 of 2, disks kept with --keep', async () => {
    const before = new Set(fs.readdirSync(good.resultsDir));
    const r = await kt(['repro', good.runDir, 'selftest/002', '--count', '2', '--keep']);
    expect(r.err).not.toMatch(/internal error/);
    expect(r.code, r.err).toBe(1);
    expect(r.out).toContain('kt: repro selftest/002 [xfs/1k mkfs -b size=1024]: failed 2 of 2\n');
    const runs = fs
      .readdirSync(good.resultsDir)
      .filter((d) => !before.has(d) && d !== 'latest' && fs.existsSync(path.join(good.resultsDir, d, 'events.jsonl')))
      .map((d) => path.join(good.resultsDir, d));
    expect(runs).toHaveLength(2);
    const recorded = startOf(readEvents(good.runDir));
    for (const dir of runs) {
      const events = readEvents(dir);
      const start = startOf(events);
      expect(events.filter((e) => e.type === 'machine-boot')).toHaveLength(1); // a fresh VM per repeat
      expect(endsOf(events)).toEqual(['xfs/1k selftest/002 failed']);
      expect(start['sections']).toEqual(recorded['sections']);
      expect(start['kernel']).toBe(recorded['kernel']);
      expect(start['fstests']).toBe(recorded['fstests']);
      expect(r.out.split('\n')).toContain(`  ${dir}`);
    }
    expect(await qemuOf(runIdOf(runs[0]!))).toEqual([]);
    // --keep: the disks of both failing repeats are kept, and said where.
    const kept = r.out.split('\n').filter((l) => l.startsWith('kt: kept the VM disks of a failing run in ')).map((l) => l.slice('kt: kept the VM disks of a failing run in '.length));
    expect(kept).toHaveLength(2);
    for (const dir of kept) {
      expect(fs.existsSync(path.join(dir, 'vm1', 'test.img')), dir).toBe(true);
      expect(fs.existsSync(path.join(dir, 'vm1', 'scratch.img')), dir).toBe(true);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kt run --baseline on a branch that broke selftest/001: exit 1, the regression leads, the known failure is known', async () => {
    // The branch: selftest/001 now prints a line its golden output does not have.
    const branch = path.join(work, 'fstests-branch');
    fs.cpSync(tree, branch, { recursive: true });
    const test = path.join(branch, 'tests/selftest/001');
    fs.writeFileSync(test, fs.readFileSync(test, 'utf8').replace('echo "Silence is golden"', 'echo "Silence is golden"\necho "regressed"'));
    const head = await runKt(['-c', 'xfs/1k', '-j', '1', '--fstests', branch, '--baseline', baseline, 'selftest/001', 'selftest/002']);
    expect(head.stderr).not.toMatch(/internal error/);
    expect(head.exitCode, head.stderr).toBe(1);
    expect(head.stdout.split('\n').slice(0, 4)).toEqual([
      `Regressions against ${baseline} (1):`,
      '  REGRESSION selftest/001',
      expect.stringMatching(/^ {6}failed: - output mismatch \(see \S*selftest\/001\.out\.bad\); passed in the only recorded run \(fewer than 3: a flaky test cannot be told yet\)$/),
      `      repro: kt repro ${head.runDir} selftest/001`,
    ]);
    expect(head.stdout).toContain(`\nAgainst ${baseline}: 1 regression, 1 known failure\n`);
    const summary = JSON.parse(fs.readFileSync(path.join(head.runDir, 'summary.json'), 'utf8')) as { verdict: { regressions: { test: string; rule: string }[]; known: { test: string }[] } };
    expect(summary.verdict.regressions.map((v) => `${v.test} ${v.rule}`)).toEqual(['selftest/001 new-failure']);
    expect(summary.verdict.known.map((v) => v.test)).toEqual(['selftest/002']);

    const compare = await kt(['compare', good.runDir, head.runDir]);
    expect(compare.code, compare.err).toBe(1);
    expect(compare.out.split('\n').slice(0, 4)).toEqual([
      `kt compare: base 1 run (${runIdOf(good.runDir)}), head 1 run (${runIdOf(head.runDir)})`,
      '',
      'Regressions (1):',
      expect.stringMatching(/^ {2}selftest\/001 {2}failed: - output mismatch .*; passed in the only recorded run/),
    ]);
    expect(compare.out.split('\n').at(-1)).toBe('Head against base: 1 regression, 1 known failure');
    // The other way round: the good run has no failure the branch did not have.
    const back = await kt(['compare', head.runDir, good.runDir, '--format', 'json']);
    expect(back.code, back.err).toBe(0);
    expect((JSON.parse(back.out) as { verdict: { regressions: unknown[] } }).verdict.regressions).toEqual([]);
  });

  it('leaves no qemu and none of its VM temp dirs behind', async () => {
    const runs = fs
      .readdirSync(good.resultsDir)
      .filter((d) => fs.existsSync(path.join(good.resultsDir, d, 'events.jsonl')) && d !== 'latest')
      .map((d) => path.join(good.resultsDir, d));
    expect(runs.length).toBeGreaterThanOrEqual(3);
    for (const dir of runs) {
      expect(await qemuOf(runIdOf(dir))).toEqual([]);
      // The per-run temp dir holding the VM disks (qemu's -drive file=<dir>/vmN/test.img) is gone.
      const disks = readEvents(dir)
        .filter((e) => e.type === 'machine-boot')
        .flatMap((e) => (e['argv'] as string[]).flatMap((a) => /file=([^,]*\/vm\d+)\/test\.img/.exec(a)?.[1] ?? []));
      expect(disks.length).toBeGreaterThan(0);
      for (const d of disks) expect(fs.existsSync(path.dirname(d)), d).toBe(false);
    }
  });
});
