/**
 * `kt baseline update/show`, `kt report --baseline` and `kt run --baseline` through the real
 * binary: exact output, exit codes, and a user's baseline is never destroyed — a refused update
 * leaves the file byte for byte as it was.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serializeBaseline, emptyBaseline } from '../../src/baseline/format.js';
import type { RunEvent } from '../../src/record/events.js';
import { interruptedRun } from '../reporters/scenarios.js';
import { O, runEvents } from '../baseline/runs.js';
import { useBuiltFixtureTree } from '../fstests/fixtureHelpers.js';
import { CLI_TIMEOUT_MS, kt, snapshot, writeRunDir } from './helpers.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-baseline-cli-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** A run directory holding the event log `kt run` would have written. */
function runDir(name: string, events: RunEvent[]): string {
  return writeRunDir(path.join(root, name), events);
}

/** The known-good kernel's runs: 002 fails (output mismatch), 004 is not run, the rest passes. */
const GOOD = { 'selftest/001': [O.pass], 'selftest/002': [O.mismatch], 'generic/004': [O.notrun], 'selftest/005': [O.pass], 'generic/001': [O.pass] };

const read = (file: string) => fs.readFileSync(file, 'utf8');

describe('kt baseline update', () => {
  it('creates the file from run directories and says what it recorded', async () => {
    const a = runDir('good-1', runEvents('good-1', GOOD));
    const b = runDir('good-2', runEvents('good-2', GOOD));
    const r = await kt(['baseline', 'update', a, b], { cwd: root });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // (the helper hands stdout back without its last newline)
    expect(r.out).toBe(
      [
        'kt: baseline kt-baseline.json: created with 2 runs (good-1, good-2)',
        '  now 2 runs; 5 tests in 1 section',
        '  new section xfs: 5 tests',
        '  first failure: selftest/002 [xfs]: 2 of 2 runs failing (2 failed)',
      ].join('\n'),
    );
    expect(read(path.join(root, 'kt-baseline.json'))).toBe(
      [
        '{',
        '  "format": "kt-baseline",',
        '  "version": 2,',
        '  "writtenBy": "kt 0.1.0",',
        '  "runs": [',
        '    {"runId":"good-1","startedAt":"2026-11-21T23:22:27.000Z","status":"completed","kernel":"/boot/vmlinuz-6.1.0-56-cloud-amd64"},',
        '    {"runId":"good-2","startedAt":"2026-11-21T23:22:27.000Z","status":"completed","kernel":"/boot/vmlinuz-6.1.0-56-cloud-amd64"}',
        '  ],',
        '  "sections": {',
        '    "xfs": {',
        '      "generic/001": {"runs":2,"passed":2},',
        '      "generic/004": {"runs":2,"notrun":2},',
        '      "selftest/001": {"runs":2,"passed":2},',
        '      "selftest/002": {"runs":2,"failed":2},',
        '      "selftest/005": {"runs":2,"passed":2}',
        '    }',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    expect(fs.readdirSync(root).sort()).toEqual(['good-1', 'good-2', 'kt-baseline.json']); // no temp file left
  }, CLI_TIMEOUT_MS);

  it('adds new runs, skips runs it already has, and leaves the file alone when nothing is new', async () => {
    const file = path.join(root, 'base.json');
    const a = runDir('good-1', runEvents('good-1', GOOD));
    expect((await kt(['baseline', 'update', a, '--baseline', file], { cwd: root })).code).toBe(0);
    const c = runDir('good-3', runEvents('good-3', { ...GOOD, 'selftest/005': [O.panic], 'generic/002': [O.pass] }));
    const r = await kt(['baseline', 'update', a, c, '--baseline', file], { cwd: root });
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        `kt: baseline ${file}: added 1 run (good-3); skipped 1 already in it (good-1)`,
        '  now 2 runs; 6 tests in 1 section',
        '  new tests in xfs: generic/002',
        '  first failure: selftest/005 [xfs]: 1 of 2 runs failing (1 crashed)',
        '  new crash title: selftest/005 [xfs]: Kernel panic - not syncing: sysrq triggered crash',
      ].join('\n'),
    );
    const before = snapshot(root);
    const again = await kt(['baseline', 'update', c, '--baseline', file], { cwd: root });
    expect(again.code).toBe(0);
    expect(again.out).toBe(`kt: baseline ${file}: nothing to add, every run is already in it (good-3)`);
    expect(snapshot(root)).toEqual(before);
  }, CLI_TIMEOUT_MS);

  it('upgrades a version 1 file when it adds runs, says so, and leaves it alone when it adds none', async () => {
    const file = path.join(root, 'base.json');
    const a = runDir('good-1', runEvents('good-1', GOOD));
    expect((await kt(['baseline', 'update', a, '--baseline', file], { cwd: root })).code).toBe(0);
    // What a kt of format version 1 wrote for the same run: the same text but for the version.
    const v1 = read(file).replace('"version": 2', '"version": 1');
    fs.writeFileSync(file, v1);
    expect((await kt(['baseline', 'update', a, '--baseline', file], { cwd: root })).out).toBe(`kt: baseline ${file}: nothing to add, every run is already in it (good-1)`);
    expect(read(file)).toBe(v1);
    const c = runDir('good-2', runEvents('good-2', { ...GOOD, 'selftest/005': [O.hang, O.pass] }));
    const r = await kt(['baseline', 'update', c, '--baseline', file], { cwd: root });
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        `kt: baseline ${file}: added 1 run (good-2)`,
        '  now 2 runs; 5 tests in 1 section',
        '  format version 1 → 2: it now also counts crashes and timeouts a retry came after, from the runs added now on (the runs already in it keep none; to count theirs, record their run directories into a new file); kt older than this one cannot read it',
        '  first failure: selftest/005 [xfs]: 1 of 2 runs failing (1 flaky, 1 timed out before a retry)',
      ].join('\n'),
    );
    expect(read(file)).toContain('"version": 2,');
    expect(read(file)).toContain('"selftest/005": {"runs":2,"passed":2,"flaky":1,"timedoutEarlier":1}');
  }, CLI_TIMEOUT_MS);

  const refusals: [string, (file: string, dirs: string[]) => string[], (file: string, dirs: string[]) => string][] = [
    [
      'a damaged run directory among the inputs',
      (file, [good, bad]) => {
        fs.appendFileSync(path.join(bad!, 'events.jsonl'), 'this is not an event\n{"type":"run-end"}\n');
        return ['baseline', 'update', good!, bad!, '--baseline', file];
      },
      (_file, [, bad]) => `kt: error E_EVENTS_DAMAGED: ${path.join(bad!, 'events.jsonl')}:`,
    ],
    ['a run directory that does not exist', (file, [good]) => ['baseline', 'update', good!, path.join(root, 'nope'), '--baseline', file], () => `kt: error E_REPORT_RUN_DIR: run directory ${path.join(root, 'nope')} does not exist`],
    [
      'a damaged baseline file',
      (file, [good]) => {
        fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"runs":1,"passed":1', '"runs":1,"passed":"one"'));
        return ['baseline', 'update', good!, '--baseline', file];
      },
      (file) => `kt: error E_BASELINE_DAMAGED: ${file} is damaged (sections.xfs.`,
    ],
    [
      'a baseline written by a newer kt',
      (file, [good]) => {
        fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"version": 2', '"version": 3'));
        return ['baseline', 'update', good!, '--baseline', file];
      },
      (file) => `kt: error E_BASELINE_VERSION: ${file} is baseline format version 3; this kt reads versions 1 and 2`,
    ],
  ];
  for (const [what, setUp, message] of refusals) {
    it(`refuses ${what} (exit 2) and leaves the user's file byte for byte`, async () => {
      const file = path.join(root, 'kt-baseline.json');
      const first = runDir('good-1', runEvents('good-1', GOOD));
      expect((await kt(['baseline', 'update', first], { cwd: root })).code).toBe(0);
      const second = runDir('good-2', runEvents('good-2', GOOD));
      const args = setUp(file, [first, second]);
      const before = snapshot(root);
      const r = await kt(args, { cwd: root });
      expect(r.code).toBe(2);
      expect(r.err.startsWith(message(file, [first, second])), r.err).toBe(true);
      expect(r.err).not.toMatch(/internal error|\n\s+at /);
      expect(snapshot(root)).toEqual(before);
    }, CLI_TIMEOUT_MS);
  }

  it('refuses a --baseline that is a directory, and no run directory at all', async () => {
    const a = runDir('good-1', runEvents('good-1', GOOD));
    const dir = path.join(root, 'adir');
    fs.mkdirSync(dir);
    const r = await kt(['baseline', 'update', a, '--baseline', dir], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.err).toBe(`kt: error E_BASELINE_NOT_A_FILE: baseline ${dir} is a directory\n  hint: give --baseline a file, e.g. kt-baseline.json`);
    const none = await kt(['baseline', 'update'], { cwd: root });
    expect(none.code).toBe(2);
    expect(none.err).toContain('E_BASELINE_NO_RUN_DIR');
  }, CLI_TIMEOUT_MS);
});

describe('kt baseline update --baseline through a symbolic link, or where it cannot write', () => {
  it('writes through a link to its target: the link stays a link (also a link to a file not made yet)', async () => {
    const a = runDir('good-1', runEvents('good-1', GOOD));
    const b = runDir('good-2', runEvents('good-2', GOOD));
    fs.mkdirSync(path.join(root, 'shared'));
    fs.symlinkSync('shared/kt-baseline.json', path.join(root, 'link.json'));
    const first = await kt(['baseline', 'update', a, '--baseline', 'link.json'], { cwd: root });
    expect(first.code).toBe(0);
    expect(fs.lstatSync(path.join(root, 'link.json')).isSymbolicLink()).toBe(true);
    expect(read(path.join(root, 'shared/kt-baseline.json'))).toContain('"runId":"good-1"');
    const second = await kt(['baseline', 'update', b, '--baseline', 'link.json'], { cwd: root });
    expect(second.out.split('\n')[0]).toBe('kt: baseline link.json: added 1 run (good-2)');
    expect(fs.readlinkSync(path.join(root, 'link.json'))).toBe('shared/kt-baseline.json');
    expect(read(path.join(root, 'shared/kt-baseline.json'))).toContain('"runId":"good-2"');
    // No temporary file is left beside the link or the target.
    expect(fs.readdirSync(root).sort()).toEqual(['good-1', 'good-2', 'link.json', 'shared']);
    expect(fs.readdirSync(path.join(root, 'shared'))).toEqual(['kt-baseline.json']);
  }, CLI_TIMEOUT_MS);

  it('a --baseline kt cannot write exits 2 naming --baseline, not --results', async () => {
    const a = runDir('good-1', runEvents('good-1', GOOD));
    const r = await kt(['baseline', 'update', a, '--baseline', '/sys/kt-baseline.json'], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kt: error E_BASELINE_UNWRITABLE: --baseline \/sys\/kt-baseline.json cannot be written \(E[A-Z]+\)\n  hint: give --baseline a file in a directory you can write to; the baseline is as it was$/);
    expect(fs.existsSync('/sys/kt-baseline.json')).toBe(false);
  }, CLI_TIMEOUT_MS);
});

describe('kt baseline show', () => {
  it('prints each section with its failing tests and their rates', async () => {
    const runs = [
      runDir('good-1', runEvents('good-1', GOOD)),
      runDir('good-2', runEvents('good-2', { ...GOOD, 'selftest/005': [O.panic] })),
      runDir('good-3', runEvents('good-3', { 'generic/001': [O.exit3, O.pass] }, { section: 'ext4' })),
    ];
    expect((await kt(['baseline', 'update', ...runs], { cwd: root })).code).toBe(0);
    const r = await kt(['baseline', 'show'], { cwd: root });
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        'kt-baseline.json: 3 runs; 6 tests in 2 sections; runs from 2026-11-21T23:22:27.000Z to 2026-11-21T23:22:27.000Z; written by kt 0.1.0',
        'ext4: 1 test, 1 failing',
        '  generic/001  1 of 1 run failing (1 flaky)',
        'xfs: 5 tests, 2 failing, 1 never ran (not run or kt errors)',
        '  selftest/002  2 of 2 runs failing (2 failed)',
        '  selftest/005  1 of 2 runs failing (1 crashed); Kernel panic - not syncing: sysrq triggered crash (1)',
      ].join('\n'),
    );
    const missing = await kt(['baseline', 'show', '--baseline', 'nope.json'], { cwd: root });
    expect(missing.code).toBe(2);
    expect(missing.err).toBe('kt: error E_BASELINE_MISSING: baseline nope.json does not exist\n  hint: record one first: kt baseline update <run-dir>... --baseline nope.json');
  }, CLI_TIMEOUT_MS);
});

describe('kt report --baseline', () => {
  async function baselineOfGoodRuns(): Promise<string> {
    const runs = [1, 2, 3].map((i) => runDir(`good-${i}`, runEvents(`good-${i}`, GOOD)));
    expect((await kt(['baseline', 'update', ...runs], { cwd: root })).code).toBe(0);
    return path.join(root, 'kt-baseline.json');
  }

  it('exits 0 when only known failures happened, and every report says so', async () => {
    const file = await baselineOfGoodRuns();
    const head = runDir('head', runEvents('head', GOOD));
    const r = await kt(['report', head, '--baseline', file], { cwd: root });
    expect(r.code).toBe(0);
    expect(r.out.split('\n').slice(0, 3)).toEqual([
      `Known failures in ${file} (1):`,
      '  selftest/002 failed: - output mismatch (see /job/results/selftest/002.out.bad); failed in 3 of 3 recorded runs (100%)',
      '',
    ]);
    expect(r.out.endsWith(`\nAgainst ${file}: 0 regressions, 1 known failure\n\nkt: reports written to ${head}`)).toBe(true);
    const summary = JSON.parse(read(path.join(head, 'summary.json'))) as { verdict: { regressions: unknown[]; known: { test: string; rule: string }[] } };
    expect(Object.keys(summary)[1]).toBe('verdict');
    expect(summary.verdict.regressions).toEqual([]);
    expect(summary.verdict.known.map((k) => `${k.test} ${k.rule}`)).toEqual(['selftest/002 known-failure']);
    expect(read(path.join(head, 'report.md')).split('\n')[0]).toBe('# ✅ kt: 0 regressions, 1 known failure');
    const junit = read(path.join(head, 'junit.xml'));
    expect(junit).toContain(`<property name="BASELINE" value="${file}"/>`);
    expect(junit).toContain('<property name="REGRESSIONS" value="0"/>');
    expect(junit).toContain('<failure message="known failure: failed: - output mismatch (see /job/results/selftest/002.out.bad); failed in 3 of 3 recorded runs (100%)" type="TestFail">');
  }, CLI_TIMEOUT_MS);

  it('judges against a version 1 file as a version 2 kt does, and leaves the file as it was', async () => {
    const file = await baselineOfGoodRuns();
    // What a kt of format version 1 wrote for the same runs: the same text but for the version.
    const v1 = read(file).replace('"version": 2', '"version": 1');
    fs.writeFileSync(file, v1);
    const head = runDir('head', runEvents('head', GOOD));
    const r = await kt(['report', head, '--baseline', file], { cwd: root });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out.endsWith(`\nAgainst ${file}: 0 regressions, 1 known failure\n\nkt: reports written to ${head}`)).toBe(true);
    expect(read(file)).toBe(v1);
  }, CLI_TIMEOUT_MS);

  it('exits 1 on a regression and leads every report with it, with the repro line', async () => {
    const file = await baselineOfGoodRuns();
    const head = runDir('head', runEvents('head', { ...GOOD, 'selftest/001': [O.exit3], 'generic/004': [O.pass] }));
    const r = await kt(['report', head, '--baseline', file], { cwd: root });
    expect(r.code).toBe(1);
    expect(r.out.split('\n').slice(0, 5)).toEqual([
      `Regressions against ${file} (1):`,
      '  REGRESSION selftest/001',
      '      failed: [failed, exit status 3]; passed in all 3 recorded runs',
      `      repro: kt repro ${head} selftest/001`,
      '',
    ]);
    expect(r.out).toContain(`\nAgainst ${file}: 1 regression, 1 known failure\n`);
    const md = read(path.join(head, 'report.md')).split('\n');
    expect(md.slice(0, 2)).toEqual(['# ❌ kt: 1 regression, 1 known failure', '']);
    expect(md[2]).toBe(`Against \`${file}\`. 5 tests in 34s, 1 VM booted: 3 passed, 2 failed.`);
    expect(md.slice(3, 10)).toEqual(['', '## Regressions (1)', '', '| Test | Why |', '|---|---|', '| selftest/001 | failed: \\[failed, exit status 3\\]; passed in all 3 recorded runs |', '']);
    const junit = read(path.join(head, 'junit.xml'));
    expect(junit).toContain('<failure message="regression: failed: [failed, exit status 3]; passed in all 3 recorded runs" type="TestFail"/>');
  }, CLI_TIMEOUT_MS);

  it('does not turn an interrupted run into a regression storm', async () => {
    const plan = Object.fromEntries(
      ['generic/455', 'selftest/001', 'selftest/002', 'selftest/003', 'selftest/005', 'selftest/900', 'selftest/006', 'selftest/901', 'selftest/004', 'generic/001', 'generic/002', 'generic/003'].map((t) => [t, [O.pass]]),
    );
    const base = [1, 2, 3].map((i) => runDir(`base-${i}`, runEvents(`base-${i}`, plan, { section: 'global' })));
    expect((await kt(['baseline', 'update', ...base], { cwd: root })).code).toBe(0);
    const head = runDir('head', interruptedRun());
    const r = await kt(['report', head, '--baseline', 'kt-baseline.json'], { cwd: root });
    expect(r.code).toBe(130); // interrupted by SIGINT, as kt run exited
    const summary = JSON.parse(read(path.join(head, 'summary.json'))) as { verdict: { notExecuted: number; regressions: { test: string }[] } };
    expect(summary.verdict.notExecuted).toBe(2);
    expect(summary.verdict.regressions.map((v) => v.test)).not.toContain('generic/002');
    expect(summary.verdict.regressions.map((v) => v.test)).not.toContain('generic/003');
  }, CLI_TIMEOUT_MS);

  it('refuses a missing or damaged baseline before writing any report (exit 2)', async () => {
    const head = runDir('head', runEvents('head', GOOD));
    fs.writeFileSync(path.join(root, 'bad.json'), serializeBaseline(emptyBaseline('kt 0.1.0')).replace('"runs": []', '"runs": {}'));
    // Counts that disagree (4 flaky runs of 3 passes): refused by name below, never a stack trace.
    fs.writeFileSync(
      path.join(root, 'edited.json'),
      serializeBaseline(emptyBaseline('kt 0.1.0')).replace('"sections": {}', '"sections": {"xfs": {"selftest/002": {"runs":4,"passed":3,"failed":1,"flaky":4}}}'),
    );
    const before = snapshot(root);
    const missing = await kt(['report', head, '--baseline', 'nope.json'], { cwd: root });
    expect(missing.code).toBe(2);
    expect(missing.err.split('\n')[0]).toBe('kt: error E_BASELINE_MISSING: baseline nope.json does not exist');
    const bad = await kt(['report', head, '--baseline', 'bad.json'], { cwd: root });
    expect(bad.code).toBe(2);
    expect(bad.err.split('\n')[0]).toMatch(/^kt: error E_BASELINE_DAMAGED: bad\.json is damaged \(runs: /);
    const edited = await kt(['report', head, '--baseline', 'edited.json'], { cwd: root });
    expect(edited.code).toBe(2);
    expect(edited.err).toBe(
      'kt: error E_BASELINE_DAMAGED: edited.json is damaged (sections.xfs.selftest/002.flaky: flaky is 4, more than passed (3); a flaky run passed on a retry, so it is counted in passed too)\n' +
        '  hint: restore edited.json from version control, or fix that test\'s counts by hand: passed + failed + crashed + timedout + notrun + error = runs, flaky ≤ passed, crashedEarlier ≤ flaky + failed + timedout, timedoutEarlier ≤ flaky + failed + crashed (docs/baseline.md, "The baseline file")',
    );
    const empty = await kt(['report', head, '--baseline', ''], { cwd: root });
    expect(empty.code).toBe(2);
    expect(empty.err.split('\n')[0]).toBe('kt: error E_EMPTY_VALUE: --baseline was given without a file');
    expect(snapshot(root)).toEqual(before);
  }, CLI_TIMEOUT_MS);
});

describe('kt run --baseline', () => {
  const fixture = useBuiltFixtureTree('kt-baseline-run-', CLI_TIMEOUT_MS);

  it('refuses a missing or damaged baseline before anything is built or booted (exit 2)', async () => {
    const missing = await kt(['run', '--dry-run', '--fstests', fixture.tree, '--baseline', 'nope.json', 'selftest/001'], { cwd: root });
    expect(missing.code).toBe(2);
    expect(missing.err).toBe('kt: error E_BASELINE_MISSING: baseline nope.json does not exist\n  hint: record one first: kt baseline update <run-dir>... --baseline nope.json');
    fs.writeFileSync(path.join(root, 'other.json'), '{"tests": []}\n');
    const other = await kt(['run', '--dry-run', '--fstests', fixture.tree, '--baseline', 'other.json', 'selftest/001'], { cwd: root });
    expect(other.code).toBe(2);
    expect(other.err.split('\n')[0]).toBe('kt: error E_BASELINE_NOT_A_BASELINE: other.json is not a kt baseline (no "format": "kt-baseline")');
  }, CLI_TIMEOUT_MS);

  it('accepts a good baseline in a dry run', async () => {
    fs.writeFileSync(path.join(root, 'kt-baseline.json'), serializeBaseline(emptyBaseline('kt 0.1.0')));
    const r = await kt(['run', '--dry-run', '--fstests', fixture.tree, '--baseline', 'kt-baseline.json', 'selftest/001'], { cwd: root });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('\n  selftest/001\n');
  }, CLI_TIMEOUT_MS);
});
