/**
 * Which fstests tree and test lists the benchmark times (pure): the user's built tree with the
 * lists given (benchArgs.ts), or kt's fixture tree (test/fixtures/fstests) with lists chosen for
 * it. Every test named must be in the tree's group lists, so a typo is a usage error before any
 * VM boots instead of a row that times nothing.
 */
import { UsageError } from '../errors.js';
import { closestNames } from '../fstests/suggest.js';
import type { TestTree } from '../fstests/testTree.js';
import type { BenchArgs } from './benchArgs.js';

/**
 * The fixture list of the checkStart, scaling, batching, rss and overhead rows: every outcome
 * kind (passed, failed, notrun, a dmesg warning, a bad status, a test that fails on vm1 only)
 * and a spread of durations (generic/003 runs fsstress, generic/002 mkfs's SCRATCH_DEV).
 */
export const FIXTURE_TESTS = ['generic/001', 'generic/002', 'generic/003', 'generic/004', 'xfs/001', 'selftest/001', 'selftest/002', 'selftest/003', 'selftest/004', 'selftest/900', 'selftest/901', 'selftest/905'];

/**
 * The fixture list of the recovery row: tests that pass and last a few seconds each (generic/001
 * sleeps 1 s, generic/002 mkfs's and mounts SCRATCH_DEV and sleeps 3 s, generic/003 runs
 * fsstress and sleeps 6 s), so one of them is running when the spare has settled, and at least
 * one comes after it to run on the spare. In fstests' order, which kt keeps on a first run.
 */
export const FIXTURE_RECOVERY_TESTS = ['generic/001', 'generic/002', 'generic/003', 'selftest/001', 'xfs/001'];

export interface BenchLists {
  tests: string[];
  recoveryTests: string[];
}

export function benchLists(args: Pick<BenchArgs, 'fstests' | 'tests' | 'recoveryTests'>): BenchLists {
  if (!args.fstests) return { tests: FIXTURE_TESTS, recoveryTests: FIXTURE_RECOVERY_TESTS };
  const tests = args.tests ?? [];
  return { tests, recoveryTests: args.recoveryTests ?? tests };
}

/** Throws E_BENCH_TEST_UNKNOWN for the first test of `tests` that the tree does not hold. */
export function checkTestsInTree(tree: TestTree, tests: readonly string[], flag: string): void {
  const known = [...tree.dirs].flatMap(([dir, list]) => [...list.keys()].map((name) => `${dir}/${name}`));
  for (const test of tests) {
    const [dir, name] = test.split('/');
    if (dir !== undefined && name !== undefined && tree.dirs.get(dir)?.has(name)) continue;
    const near = closestNames(known, test);
    throw new UsageError(
      'E_BENCH_TEST_UNKNOWN',
      `${flag}: ${test} is not a test of ${tree.root} (not in tests/*/group.list)`,
      near.length ? `did you mean ${near.join(', ')}?` : 'name tests as DIR/NNN, e.g. generic/001',
    );
  }
}
