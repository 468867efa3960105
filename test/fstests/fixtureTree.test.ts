/**
 * kt's fixture fstests tree (test/fixtures/fstests) without devices: its scripts parse, `make`
 * generates group lists in fstests' format and builds ltp/fsstress, and kt's planner reads it.
 * Running `check` itself needs root and loop devices: fixtureCheck.test.ts.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isKtError } from '../../src/errors.js';
import { planTests } from '../../src/fstests/planTests.js';
import { loadTestTree } from '../../src/fstests/testTree.js';
import { buildFixtureTree, buildToolsMissing, copyFixtureTree } from './fixtureHelpers.js';
import { FIXTURE } from './helpers.js';

const missing = buildToolsMissing();

test('every shell script of the fixture parses (bash -n) and is executable where it must be', () => {
  const scripts = ['check', 'tools/mkgroupfile', 'common/config', 'common/rc', 'common/preamble'];
  for (const dir of ['generic', 'selftest', 'xfs']) {
    for (const f of fs.readdirSync(path.join(FIXTURE, 'tests', dir))) {
      if (/^\d{3}$/.test(f)) scripts.push(`tests/${dir}/${f}`);
    }
  }
  for (const s of scripts) {
    const r = spawnSync('bash', ['-n', path.join(FIXTURE, s)], { encoding: 'utf8' });
    expect(r.stderr, s).toBe('');
    if (!s.startsWith('common/')) expect(fs.statSync(path.join(FIXTURE, s)).mode & 0o111, s).not.toBe(0);
  }
});

describe.skipIf(missing !== undefined)(`make in a copy of the tree${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir = '';
  beforeAll(() => {
    dir = copyFixtureTree();
  });
  afterAll(() => {
    if (dir) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  test('before make, kt reports the tree as not built', () => {
    let err: unknown;
    try {
      loadTestTree(dir, 'xfs');
    } catch (e) {
      err = e;
    }
    expect(isKtError(err) && err.code).toBe('E_FSTESTS_NOT_BUILT');
    expect(isKtError(err) && err.hint).toBe(`run make in ${dir}`);
  });

  test('make writes group lists exactly like fstests from the _begin_fstest lines', () => {
    buildFixtureTree(dir);
    const header = '# QA groups control file, automatically generated.\n# See _begin_fstest in each test for details.\n\n';
    expect(fs.readFileSync(path.join(dir, 'tests/selftest/group.list'), 'utf8')).toBe(
      `${header}001 selftest\n002 selftest\n003 selftest\n004 selftest\n005 dangerous_selftest\n006 dangerous_selftest\n007 selftest\n900 selftest\n901 selftest\n902 dangerous_selftest\n903 dangerous_selftest\n904 dangerous_selftest\n905 kt_selftest\n906 dangerous_selftest\n`,
    );
    expect(fs.readFileSync(path.join(dir, 'tests/generic/group.list'), 'utf8')).toBe(
      `${header}001 auto quick rw\n002 auto quick mount rw\n003 auto rw stress\n004 auto quick log\n`,
    );
    expect(fs.readFileSync(path.join(dir, 'tests/xfs/group.list'), 'utf8')).toBe(`${header}001 auto quick\n`);
  });

  test('a second make leaves the group lists untouched (stable mtimes for kt image caching)', () => {
    const file = path.join(dir, 'tests/generic/group.list');
    const before = fs.statSync(file).mtimeMs;
    buildFixtureTree(dir);
    expect(fs.statSync(file).mtimeMs).toBe(before);
  });

  test('mkgroupfile refuses a group that doc/group-names.txt does not know', () => {
    const t = path.join(dir, 'tests/generic/099');
    fs.writeFileSync(t, '#! /bin/bash\n. ./common/preamble\n_begin_fstest auto quikc\n');
    const r = spawnSync('make', ['-s'], { cwd: dir, encoding: 'utf8' });
    fs.rmSync(t);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('tests/generic/099: group "quikc" is not in doc/group-names.txt');
  });

  test("kt's planner reads the built tree", () => {
    const tree = loadTestTree(dir, 'xfs');
    expect(planTests({ tree, fstyp: 'xfs', groups: ['quick'] }).tests).toEqual([
      'generic/001',
      'generic/002',
      'generic/004',
      'xfs/001',
    ]);
    expect(planTests({ tree, fstyp: 'xfs', groups: ['selftest/selftest'] }).tests).toEqual([
      'selftest/001',
      'selftest/002',
      'selftest/003',
      'selftest/004',
      'selftest/007',
      'selftest/900',
      'selftest/901',
    ]);
    expect(planTests({ tree, fstyp: 'xfs', groups: ['selftest/dangerous_selftest'] }).tests).toEqual([
      'selftest/005',
      'selftest/006',
      'selftest/902',
      'selftest/903',
      'selftest/904',
      'selftest/906',
    ]);
  });

  test('ltp/fsstress is compiled, runs, and answers the preflight probe without "not found"', () => {
    const work = path.join(path.dirname(dir), 'fsstress-work');
    const r = spawnSync(path.join(dir, 'ltp/fsstress'), ['-d', work, '-n', '300', '-p', '2', '-s', '1'], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readdirSync(work)).toEqual([]); // each process cleaned up after itself
    const probe = spawnSync(path.join(dir, 'ltp/fsstress'), ['-?'], { encoding: 'utf8' });
    expect(`${probe.stdout}${probe.stderr}`).toContain('Usage: fsstress');
    expect(`${probe.stdout}${probe.stderr}`).not.toMatch(/not found|No such file|cannot execute|Exec format/);
  });
});
