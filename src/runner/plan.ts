/**
 * The host-side plan of a run: which tests, in which order, on no VM at all (issue #2:
 * fstests' own `check -n -g quick` takes ~60 s under TCG; the group lists give the same list
 * at once, fstests.md §1.4).
 */
import fs from 'node:fs';
import type { RunConfig } from '../config/runConfig.js';
import { UsageError } from '../errors.js';
import { loadTestTree } from '../fstests/testTree.js';
import { planTests } from '../fstests/planTests.js';
import { parseExcludeFile } from '../fstests/excludeFile.js';
import { orderLongestFirst, selectShard } from './order.js';
import { historyKey, loadHistory } from '../record/history.js';

export interface PlannedRun {
  /** Tests to run, in the order VMs take them (longest first). */
  tests: string[];
  /** Tests removed by exclude files (reported, not run). */
  expunged: string[];
  /** Tests before sharding, for the record. */
  totalBeforeShard: number;
}

export function planRun(config: RunConfig): PlannedRun {
  const tree = loadTestTree(config.fstestsDir, config.suite.fstyp);
  const expungeLines = config.excludeFiles.flatMap((f) => parseExcludeFile(fs.readFileSync(f, 'utf8')));
  const plan = planTests({
    tree,
    fstyp: config.suite.fstyp,
    groups: config.groups,
    excludeGroups: config.excludeGroups,
    tests: config.tests,
    expungeLines,
  });
  if (plan.tests.length === 0) {
    throw new UsageError(
      'E_NOTHING_TO_RUN',
      `the selection (${describeSelection(config)}) leaves no test to run${plan.expunged.length ? ` (${plan.expunged.length} excluded)` : ''}`,
      'check -g/-x/-E and the test names against the group lists in tests/*/group.list',
    );
  }
  // Sharding first, on the plan order every CI job computes alike; then each shard orders itself.
  const sharded = config.shard ? selectShard(plan.tests, config.shard.index, config.shard.total) : plan.tests;
  const history = loadHistory(config.resultsDir);
  const durations = new Map<string, number>();
  for (const t of sharded) {
    const h = history.get(historyKey(config.suite.name, t));
    if (h) durations.set(t, h.lastSeconds);
  }
  return { tests: orderLongestFirst(sharded, durations), expunged: plan.expunged, totalBeforeShard: plan.tests.length };
}

function describeSelection(config: RunConfig): string {
  const parts = [
    ...config.groups.map((g) => `-g ${g}`),
    ...config.excludeGroups.map((g) => `-x ${g}`),
    ...config.tests,
  ];
  return parts.length ? parts.join(' ') : 'default group auto';
}
