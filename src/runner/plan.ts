/**
 * The host-side plan of a run: which (section, test) pairs, in which order, on no VM at all
 * (fstests' own `check -n -g quick` takes about a minute under TCG; the group lists give the
 * same list at once: src/fstests/planTests.ts).
 */
import fs from 'node:fs';
import type { RunConfig } from '../config/runConfig.js';
import { UsageError } from '../errors.js';
import type { WorkSpec } from '../record/events.js';
import { historyKey, type History } from '../record/history.js';
import { loadTestTree, type TestTree } from '../fstests/testTree.js';
import { planTests } from '../fstests/planTests.js';
import { parseExcludeFile } from '../fstests/excludeFile.js';
import { orderLongestFirst, selectShard } from './order.js';

export interface SectionPlan {
  section: string;
  /** Tests of the section, in check's order (before sharding). */
  tests: string[];
  /** Tests removed by exclude files. */
  expunged: string[];
}

export interface PlannedRun {
  /** (section, test) pairs in the order VMs take them (longest first). */
  work: WorkSpec[];
  /** Per section, before sharding. */
  sections: SectionPlan[];
  /** Items before sharding, for the record. */
  totalBeforeShard: number;
}

export function planRun(config: RunConfig, history: History): PlannedRun {
  const trees = new Map<string, TestTree>();
  const treeFor = (fstyp: string) => {
    let tree = trees.get(fstyp);
    if (!tree) {
      tree = loadTestTree(config.fstestsDir, fstyp);
      trees.set(fstyp, tree);
    }
    return tree;
  };
  const excludeText = new Map<string, string[]>();
  const linesOf = (file: string) => {
    let lines = excludeText.get(file);
    if (!lines) {
      lines = parseExcludeFile(fs.readFileSync(file, 'utf8'));
      excludeText.set(file, lines);
    }
    return lines;
  };
  const sections: SectionPlan[] = config.sections.map((section) => {
    const plan = planTests({
      tree: treeFor(section.fstyp),
      fstyp: section.fstyp,
      groups: config.groups,
      excludeGroups: config.excludeGroups,
      tests: config.tests,
      expungeLines: [...config.excludeFiles, ...section.excludeFiles].flatMap(linesOf),
    });
    return { section: section.name, tests: plan.tests, expunged: plan.expunged };
  });
  const all: WorkSpec[] = sections.flatMap((s) => s.tests.map((test) => ({ section: s.section, test })));
  if (all.length === 0) {
    const expunged = sections.reduce((n, s) => n + s.expunged.length, 0);
    throw new UsageError(
      'E_NOTHING_TO_RUN',
      `the selection (${describeSelection(config)}) leaves no test to run${expunged ? ` (${expunged} excluded)` : ''}`,
      'check -g/-x/-E and the test names against the group lists in tests/*/group.list',
    );
  }
  // Sharding first, on the plan order every CI job computes alike; then each shard orders itself.
  const sharded = config.shard ? selectShard(all, config.shard.index, config.shard.total) : all;
  const durations = new Map<string, number>();
  const key = (w: WorkSpec) => `${w.section}\u0000${w.test}`;
  for (const w of sharded) {
    const h = history.get(historyKey(w.section, w.test));
    if (h) durations.set(key(w), h.lastSeconds);
  }
  return { work: orderLongestFirst(sharded, durations, key), sections, totalBeforeShard: all.length };
}

function describeSelection(config: RunConfig): string {
  const parts = [...config.groups.map((g) => `-g ${g}`), ...config.excludeGroups.map((g) => `-x ${g}`), ...config.tests];
  return parts.length ? parts.join(' ') : 'default group auto';
}
