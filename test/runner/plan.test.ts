/**
 * planRun's order from kt's history: longest first by expectedSeconds (a test not run last time
 * counts as the seconds that took), and a test without history at the 90th percentile of the
 * tests that ran (order.ts unknownEstimateOf), which the plan hands to batching too
 * (PlannedRun.unknownSec). On the fixture tree, with kt's default section (xfs/4k).
 */
import { describe, expect, it } from 'vitest';
import { normalizeRunConfig } from '../../src/config/runConfig.js';
import type { History, TestHistory } from '../../src/record/history.js';
import { planRun } from '../../src/runner/plan.js';
import { useBuiltFixtureTree } from '../fstests/fixtureHelpers.js';

const fixture = useBuiltFixtureTree('kt-plan-');

const SELFTESTS = ['001', '002', '003', '004', '900', '901', '902', '903'].map((n) => `selftest/${n}`);
const TESTS = ['generic/001', 'generic/002', 'generic/003', 'generic/004', ...SELFTESTS];

describe('planRun', () => {
  it('orders by the last durations, tests not run last, an unknown test at the 90th percentile of the tests that ran', () => {
    // An empty HOME: no user config file is read.
    const { tree, root } = fixture;
    const config = normalizeRunConfig({ fstests: tree, accel: 'tcg', tests: TESTS }, [], { HOME: root }, root);
    const history: History = new Map<string, TestHistory>([
      // The fixture's durations in a real TCG run.
      ['xfs/4k:generic/001', { lastSeconds: 4, maxSeconds: 4 }],
      ['xfs/4k:generic/002', { lastSeconds: 7, maxSeconds: 7 }],
      ['xfs/4k:generic/003', { lastSeconds: 10, maxSeconds: 12 }],
      // Eight not run in a second; selftest/001 had run for 2 s before that.
      ...SELFTESTS.map((t): [string, TestHistory] => [`xfs/4k:${t}`, { notrunSeconds: 1 }]),
      ['xfs/4k:selftest/001', { lastSeconds: 2, maxSeconds: 2, notrunSeconds: 1 }],
    ]);
    const plan = planRun(config, history);
    // Over 4, 7 and 10 s: 10. Counting the eight marks in, it would be 7, and generic/004 would
    // come after generic/002 (ties keep plan order).
    expect(plan.unknownSec).toBe(10);
    expect(plan.work.map((w) => w.test)).toEqual(['generic/003', 'generic/004', 'generic/002', 'generic/001', ...SELFTESTS]);
  });
});
