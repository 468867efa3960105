/**
 * The benchmark's flags (src/bench/benchArgs.ts) and its test lists (src/bench/benchTests.ts):
 * defaults, every usage error with its code and the bad input echoed, --only validation, and
 * the lists checked against the group lists of kt's real fixture tree (test/fixtures/fstests).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { BENCH_ROWS, formatBenchError, MIN_RECOVERY_TESTS, parseBenchArgs } from '../../src/bench/benchArgs.js';
import { benchLists, checkTestsInTree, FIXTURE_RECOVERY_TESTS, FIXTURE_TESTS } from '../../src/bench/benchTests.js';
import { loadTestTree, type TestTree } from '../../src/fstests/testTree.js';
import { buildFixtureTree, buildToolsMissing, copyFixtureTree } from '../fstests/fixtureHelpers.js';

const missing = buildToolsMissing();

/** The UsageError parseBenchArgs throws for `argv` (fails the test when it throws none). */
function usageError(argv: string[], env: NodeJS.ProcessEnv = {}): UsageError {
  try {
    parseBenchArgs(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error(`parseBenchArgs(${JSON.stringify(argv)}) did not throw`);
}

describe('parseBenchArgs: defaults', () => {
  it('runs every row, 3 boots, under TCG, on the fixture tree', () => {
    const args = parseBenchArgs([], {});
    expect(args).toEqual({ boots: 3, rows: [...BENCH_ROWS], accel: 'tcg', cpus: 2, testDev: 'template' });
    expect(args.fstests).toBeUndefined();
    expect(args.tests).toBeUndefined();
  });

  it('has a restore row, measured only: kt boots fresh (docs/speed.md)', () => {
    expect(parseBenchArgs(['--only', 'restore'], {}).rows).toEqual(['restore']);
    expect(usageError(['--only', 'restores']).message).toBe('--only restores: no such row');
  });

  it('takes KT_BENCH_BOOTS and KT_BENCH_ACCEL from the environment, flags over them', () => {
    expect(parseBenchArgs([], { KT_BENCH_BOOTS: '5', KT_BENCH_ACCEL: 'kvm' })).toMatchObject({ boots: 5, accel: 'kvm' });
    expect(parseBenchArgs(['--boots', '1', '--accel', 'tcg'], { KT_BENCH_BOOTS: '5', KT_BENCH_ACCEL: 'kvm' })).toMatchObject({ boots: 1, accel: 'tcg' });
  });

  it('refuses bad environment values instead of running with NaN boots or a guessed accelerator', () => {
    const boots = usageError([], { KT_BENCH_BOOTS: 'three' });
    expect(boots.code).toBe('E_BENCH_USAGE');
    expect(boots.message).toContain('KT_BENCH_BOOTS "three"');
    expect(usageError([], { KT_BENCH_ACCEL: 'hvf' }).message).toContain('KT_BENCH_ACCEL=hvf');
  });

  it('takes a user tree with its lists', () => {
    const args = parseBenchArgs(['--fstests', '/src/xfstests-dev', '--tests', 'generic/001, generic/002,generic/005', '--recovery-tests', 'generic/001,generic/002,generic/013', '--boots', '2', '--accel', 'kvm'], {});
    expect(args).toEqual({
      fstests: '/src/xfstests-dev',
      tests: ['generic/001', 'generic/002', 'generic/005'],
      recoveryTests: ['generic/001', 'generic/002', 'generic/013'],
      boots: 2,
      rows: [...BENCH_ROWS],
      accel: 'kvm',
      cpus: 2,
      testDev: 'template',
    });
  });

  it('boots the boot row at the shape --cpus gives (kt default 2; -j auto gives TCG guests 1)', () => {
    expect(parseBenchArgs(['--cpus', '1', '--only', 'boot'], {})).toMatchObject({ cpus: 1, rows: ['boot'] });
  });

  it('gives TEST_DEV as a run does (a copy of one made once), or by every VM\'s own mkfs with --test-dev mkfs', () => {
    expect(parseBenchArgs(['--test-dev', 'mkfs'], {}).testDev).toBe('mkfs');
    expect(parseBenchArgs(['--test-dev', 'template'], {}).testDev).toBe('template');
    const err = usageError(['--test-dev', 'copy']);
    expect(err.code).toBe('E_BENCH_USAGE');
    expect(err.message).toBe('--test-dev copy is not template or mkfs');
    expect(usageError(['--test-dev']).message).toBe('--test-dev needs template or mkfs');
  });
});

describe('parseBenchArgs: --only', () => {
  it('runs the rows named, each once, in the benchmark order', () => {
    expect(parseBenchArgs(['--only', 'recovery,boot,checkStart,boot'], {}).rows).toEqual(['boot', 'checkStart', 'recovery']);
    expect(parseBenchArgs(['--only', 'checkStart,bootCpu,boot'], {}).rows).toEqual(['boot', 'bootCpu', 'checkStart']);
    expect(parseBenchArgs(['--only', 'virtiofsBoot'], {}).rows).toEqual(['virtiofsBoot']);
  });

  it('names the unknown row and lists the real ones', () => {
    const err = usageError(['--only', 'boot,Boot']);
    expect(err.code).toBe('E_BENCH_USAGE');
    expect(err.message).toBe('--only Boot: no such row');
    expect(err.hint).toBe(`rows: ${BENCH_ROWS.join(', ')}`);
  });

  it('needs a list', () => {
    expect(usageError(['--only']).message).toBe('--only needs a comma-separated list');
    expect(usageError(['--only', ',']).message).toBe('--only needs a comma-separated list');
  });
});

describe('parseBenchArgs: errors', () => {
  const cases: Array<[string, string[], string]> = [
    ['--fstests without a directory', ['--fstests'], '--fstests needs a directory'],
    ['--fstests followed by a flag', ['--fstests', '--tests', 'generic/001'], '--fstests needs a directory'],
    ['--fstests without --tests', ['--fstests', '/src/xfstests-dev'], '--fstests needs --tests (the list to time on that tree)'],
    ['--tests without a list', ['--fstests', '/x', '--tests'], '--tests needs a comma-separated list'],
    ['--tests without --fstests', ['--tests', 'generic/001'], '--tests needs --fstests (the fixture tree has its own lists)'],
    ['--recovery-tests without --fstests', ['--recovery-tests', 'generic/001,generic/002,generic/003'], '--recovery-tests needs --fstests (the fixture tree has its own lists)'],
    ['--recovery-tests with two tests', ['--fstests', '/x', '--tests', 'generic/001', '--recovery-tests', 'generic/001,generic/002'], `--recovery-tests needs at least ${MIN_RECOVERY_TESTS} tests, got 2 (generic/001,generic/002)`],
    ['recovery with too few --tests', ['--fstests', '/x', '--tests', 'generic/001,generic/002'], `the recovery row needs at least ${MIN_RECOVERY_TESTS} passing tests; --tests has 2`],
    ['--boots 0', ['--boots', '0'], '--boots "0" is not a whole number from 1 to 50'],
    ['--boots 51', ['--boots', '51'], '--boots "51" is not a whole number from 1 to 50'],
    ['--boots 1.5', ['--boots', '1.5'], '--boots "1.5" is not a whole number from 1 to 50'],
    ['--boots without a value', ['--boots'], '--boots "" is not a whole number from 1 to 50'],
    ['--accel hvf', ['--accel', 'hvf'], '--accel hvf is not tcg or kvm'],
    ['--cpus 0', ['--cpus', '0'], '--cpus "0" is not a whole number from 1 to 64'],
    ['--cpus two', ['--cpus', 'two'], '--cpus "two" is not a whole number from 1 to 64'],
    ['--cpus without a value', ['--cpus'], '--cpus "" is not a whole number from 1 to 64'],
    ['--accel without a value', ['--accel'], '--accel  is not tcg or kvm'],
    ['--kernel without a file', ['--kernel'], '--kernel needs a kernel file'],
    ['--kernel followed by a flag', ['--kernel', '--boots', '3'], '--kernel needs a kernel file'],
    ['an unknown flag', ['--jobs', '4'], 'unknown argument "--jobs"'],
    ['a stray word', ['boot'], 'unknown argument "boot"'],
  ];
  for (const [what, argv, message] of cases) {
    it(`${what}: E_BENCH_USAGE echoing the input, with a hint`, () => {
      const err = usageError(argv);
      expect(err.code).toBe('E_BENCH_USAGE');
      expect(err.exitCode).toBe(2);
      expect(err.message).toBe(message);
      expect(err.hint).toMatch(/\S/);
    });
  }

  it('takes a kernel of the developer, as kt run --kernel does', () => {
    expect(parseBenchArgs(['--kernel', 'arch/x86/boot/bzImage', '--only', 'boot'], {})).toMatchObject({ kernel: 'arch/x86/boot/bzImage', rows: ['boot'] });
    expect(parseBenchArgs([], {}).kernel).toBeUndefined();
  });

  it('lets a user tree leave the recovery row out instead of naming three tests', () => {
    expect(parseBenchArgs(['--fstests', '/x', '--tests', 'generic/001', '--only', 'boot,checkStart'], {}).rows).toEqual(['boot', 'checkStart']);
  });

  it('prints as `bench: error CODE: message` and the hint, without a stack', () => {
    const text = formatBenchError(usageError(['--only', 'warp']));
    expect(text).toBe(`bench: error E_BENCH_USAGE: --only warp: no such row\n  hint: rows: ${BENCH_ROWS.join(', ')}`);
    expect(text).not.toMatch(/\n\s+at /);
  });
});

// The group lists are make's output: a built copy of the fixture tree, as the benchmark builds one.
describe.skipIf(missing !== undefined)(`the benchmark test lists${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir: string;
  let tree: TestTree;
  beforeAll(() => {
    dir = copyFixtureTree('kt-bench-args-');
    buildFixtureTree(dir);
    tree = loadTestTree(dir, 'xfs');
  });
  afterAll(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  it('are in the fixture tree, and recovery has a test after the one it panics', () => {
    expect(() => checkTestsInTree(tree, FIXTURE_TESTS, '--tests')).not.toThrow();
    expect(() => checkTestsInTree(tree, FIXTURE_RECOVERY_TESTS, '--recovery-tests')).not.toThrow();
    expect(FIXTURE_RECOVERY_TESTS.length).toBeGreaterThanOrEqual(MIN_RECOVERY_TESTS);
    // In fstests' order, which kt keeps on a first run (the recovery row relies on it).
    expect([...FIXTURE_RECOVERY_TESTS].sort()).toEqual(FIXTURE_RECOVERY_TESTS);
  });

  it('recovery on the fixture uses no test that crashes, hangs, fails or is not run', () => {
    // Their groups in the fixture's group lists: the dangerous and kt self-tests are left out.
    for (const test of FIXTURE_RECOVERY_TESTS) {
      const [dir, name] = test.split('/') as [string, string];
      const groups = tree.dirs.get(dir)!.get(name)!;
      expect(groups).not.toContain('dangerous_selftest');
      expect(groups).not.toContain('kt_selftest');
    }
    expect(FIXTURE_RECOVERY_TESTS).not.toContain('selftest/002');
    expect(FIXTURE_RECOVERY_TESTS).not.toContain('selftest/003');
    expect(FIXTURE_RECOVERY_TESTS).not.toContain('selftest/004');
    expect(FIXTURE_RECOVERY_TESTS).not.toContain('generic/004');
  });

  it('a user tree: --tests, and recovery on the same tests unless --recovery-tests names others', () => {
    expect(benchLists({ fstests: '/x', tests: ['a/001', 'a/002', 'a/003'] })).toEqual({ tests: ['a/001', 'a/002', 'a/003'], recoveryTests: ['a/001', 'a/002', 'a/003'] });
    expect(benchLists({ fstests: '/x', tests: ['a/001'], recoveryTests: ['b/001', 'b/002', 'b/003'] }).recoveryTests).toEqual(['b/001', 'b/002', 'b/003']);
    expect(benchLists({})).toEqual({ tests: FIXTURE_TESTS, recoveryTests: FIXTURE_RECOVERY_TESTS });
  });

  it('a test the tree does not hold is a usage error with the nearest names', () => {
    let err: unknown;
    try {
      checkTestsInTree(tree, ['generic/001', 'generic/010'], '--tests');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    const u = err as UsageError;
    expect(u.code).toBe('E_BENCH_TEST_UNKNOWN');
    expect(u.message).toContain('--tests: generic/010 is not a test of');
    expect(u.hint).toContain('generic/001');
    expect(() => checkTestsInTree(tree, ['nosuchdir/001'], '--recovery-tests')).toThrow(/--recovery-tests: nosuchdir\/001/);
  });
});
