/**
 * The host-side plan of a run: which (section, test) pairs, in which order, on no VM at all
 * (fstests' own `check -n -g quick` takes about a minute under TCG; the group lists give the
 * same list at once: src/fstests/planTests.ts).
 */
import type { RunConfig } from '../config/runConfig.js';
import { LAYER_LABEL, ruleApplies, type ExcludeLayer, type ExcludeRule, type KernelVersion } from '../config/excludes.js';
import { UsageError } from '../errors.js';
import type { WorkSpec } from '../record/events.js';
import { expectedSeconds, historyKey, type History } from '../record/history.js';
import { loadTestTree, type TestTree } from '../fstests/testTree.js';
import { planTests } from '../fstests/planTests.js';
import { filesystemOfTest, fsTestDir } from '../fstests/testNames.js';
import { SECTION_FSTYPS } from '../config/schema.js';
import { expungeLineMatches } from '../fstests/excludeFile.js';
import { orderLongestFirst, selectShard, unknownEstimateOf } from './order.js';
import { guestSectionSlug } from './guestCommands.js';
import { testKey } from '../record/testKey.js';

/** A test an exclude rule removed from a section. */
export interface Exclusion {
  test: string;
  rule: ExcludeRule;
}

export interface SectionPlan {
  section: string;
  /** Tests of the section, in check's order (before sharding). */
  tests: string[];
  /** Tests removed by exclude rules, with the rule that removed each. */
  excluded: Exclusion[];
}

export interface PlannedRun {
  /** (section, test) pairs in the order VMs take them (longest first). */
  work: WorkSpec[];
  /** The seconds a test without history was estimated at for that order (order.ts unknownEstimateOf); batching uses it too. */
  unknownSec: number;
  /** Per section, before sharding. */
  sections: SectionPlan[];
  /** Items before sharding, for the record. */
  totalBeforeShard: number;
  /** What the plan passed over and the user should hear of (an -x group a section lacks), each once. */
  warnings: string[];
}

const LAYER_ORDER: readonly ExcludeLayer[] = ['config', 'suite', 'section', 'cli'];

/**
 * Applies exclude rules layer by layer (config file, suite, section, -E), each test removed by
 * the first rule that names it; rules guarded by a kernel condition apply when the kernel
 * matches (or is unknown). Pure.
 */
export function applyExcludes(tests: readonly string[], rules: readonly ExcludeRule[], kernel: KernelVersion | undefined): { kept: string[]; excluded: Exclusion[] } {
  const ordered = LAYER_ORDER.flatMap((layer) => rules.filter((r) => r.layer === layer && ruleApplies(r, kernel)));
  const kept: string[] = [];
  const excluded: Exclusion[] = [];
  for (const test of tests) {
    const rule = ordered.find((r) => expungeLineMatches(r.line, test));
    if (rule) excluded.push({ test, rule });
    else kept.push(test);
  }
  return { kept, excluded };
}

/** One line per layer that removed something: `3 by the suite (suites/exclude/xfs.exclude)`. */
export function describeExclusions(sections: readonly SectionPlan[]): string[] {
  const byLayer = new Map<ExcludeLayer, { count: number; sources: Set<string> }>();
  for (const s of sections) {
    for (const e of s.excluded) {
      const entry = byLayer.get(e.rule.layer) ?? { count: 0, sources: new Set<string>() };
      entry.count++;
      entry.sources.add(e.rule.source.replace(/:\d+$/, ''));
      byLayer.set(e.rule.layer, entry);
    }
  }
  return LAYER_ORDER.filter((l) => byLayer.has(l)).map((l) => {
    const e = byLayer.get(l)!;
    return `${e.count} by ${LAYER_LABEL[l]} (${[...e.sources].join(', ')})`;
  });
}

export function planRun(config: RunConfig, history: History, kernel?: KernelVersion): PlannedRun {
  // Sections keep their config and results apart in the guest by a path-safe slug of the name.
  const slugs = new Map<string, string>();
  for (const section of config.sections) {
    const slug = guestSectionSlug(section.name);
    const other = slugs.get(slug);
    if (other !== undefined) {
      throw new UsageError('E_SECTION_NAME_CLASH', `sections ${other} and ${section.name} would share the guest directory ${slug}`, 'rename one section (letters, digits, "_" and "-" keep names apart)');
    }
    slugs.set(slug, section.name);
  }
  const trees = new Map<string, TestTree>();
  const treeFor = (fstyp: string) => {
    let tree = trees.get(fstyp);
    if (!tree) {
      tree = loadTestTree(config.fstestsDir, fstyp);
      trees.set(fstyp, tree);
    }
    return tree;
  };
  const warnings = new Set<string>();
  const sectionDirs = new Set(config.sections.map((s) => fsTestDir(s.fstyp)));
  const strays: StrayTests[] = [];
  const sections: SectionPlan[] = config.sections.map((section) => {
    const plan = planTests({
      tree: treeFor(section.fstyp),
      fstyp: section.fstyp,
      groups: config.groups,
      excludeGroups: config.excludeGroups,
      tests: config.tests,
    });
    for (const w of plan.warnings ?? []) warnings.add(w);
    const placed = placeFilesystemTests(plan.tests, section.fstyp, sectionDirs);
    const { kept, excluded } = applyExcludes(placed.tests, [...config.excludes, ...section.excludes], kernel);
    // Only what is still planned after the excludes is worth a warning.
    const still = new Set(kept);
    strays.push({ section: section.name, fstyp: section.fstyp, tests: placed.strays.filter((t) => still.has(t)) });
    return { section: section.name, tests: kept, excluded };
  });
  for (const w of strayWarnings(strays)) warnings.add(w);
  const all: WorkSpec[] = sections.flatMap((s) => s.tests.map((test) => ({ section: s.section, test })));
  if (all.length === 0) {
    const excluded = sections.reduce((n, s) => n + s.excluded.length, 0);
    throw new UsageError(
      'E_NOTHING_TO_RUN',
      `the selection (${describeSelection(config)}) leaves no test to run${excluded ? ` (${excluded} excluded)` : ''}`,
      'check -g/-x/-E and the test names against the group lists in tests/*/group.list',
    );
  }
  // Sharding first, on the plan order every CI job computes alike; then each shard orders itself.
  const sharded = config.shard ? selectShard(all, config.shard.index, config.shard.total) : all;
  const durations = new Map<string, number>();
  const key = (w: WorkSpec) => testKey(w.section, w.test);
  const histories = sharded.map((w) => history.get(historyKey(w.section, w.test)));
  for (const [i, w] of sharded.entries()) {
    const seconds = expectedSeconds(histories[i]);
    if (seconds !== undefined) durations.set(key(w), seconds);
  }
  const unknownSec = unknownEstimateOf(histories);
  return { work: orderLongestFirst(sharded, durations, key, unknownSec), unknownSec, sections, totalBeforeShard: all.length, warnings: [...warnings] };
}

/**
 * A test written for one filesystem (`btrfs/001`, src/fstests/testNames.ts) that was named or
 * reached through a `<dir>/<group>` group runs only in the sections of that filesystem when the
 * run has one; with none, it stays where it was asked for, as fstests' check would run it: a
 * stray, which the user hears of (strayWarnings). Pure.
 */
function placeFilesystemTests(tests: readonly string[], fstyp: string, sectionDirs: ReadonlySet<string>): { tests: string[]; strays: string[] } {
  const own = fsTestDir(fstyp);
  const strays: string[] = [];
  const kept = tests.filter((t) => {
    const fs = filesystemOfTest(t);
    if (fs === undefined || fs === own) return true;
    if (sectionDirs.has(fs)) return false;
    strays.push(t);
    return true;
  });
  return { tests: kept, strays };
}

/** The tests one section runs although they were written for another filesystem. */
interface StrayTests {
  section: string;
  fstyp: string;
  tests: string[];
}

/**
 * One warning per filesystem whose tests run in sections of another, naming the tests and the
 * sections, and what to do: a section of that filesystem where kt has one. Pure.
 */
export function strayWarnings(strays: readonly StrayTests[]): string[] {
  const byFs = new Map<string, { tests: string[]; sections: string[] }>();
  for (const s of strays) {
    for (const t of s.tests) {
      const fs = filesystemOfTest(t)!;
      const entry = byFs.get(fs) ?? { tests: [], sections: [] };
      if (!entry.tests.includes(t)) entry.tests.push(t);
      const section = `${s.section} (FSTYP=${s.fstyp})`;
      if (!entry.sections.includes(section)) entry.sections.push(section);
      byFs.set(fs, entry);
    }
  }
  return [...byFs].map(([fs, { tests, sections }]) => {
    const one = tests.length === 1;
    const named = tests.length <= 3 ? tests.join(', ') : `${tests.slice(0, 3).join(', ')} and ${tests.length - 3} more`;
    const fix = (SECTION_FSTYPS as readonly string[]).includes(fs)
      ? `add a section of FSTYP=${fs} (-c) to run ${one ? 'it' : 'them'} there`
      : `kt has no sections of FSTYP=${fs}`;
    return `${named}: written for ${fs}, run in ${sections.length === 1 ? 'section' : 'sections'} ${sections.join(', ')} as check would run ${one ? 'it' : 'them'}, where ${one ? 'it is' : 'they are'} likely to fail; ${fix}`;
  });
}

function describeSelection(config: RunConfig): string {
  const parts = [...config.groups.map((g) => `-g ${g}`), ...config.excludeGroups.map((g) => `-x ${g}`), ...config.tests];
  return parts.length ? parts.join(' ') : 'default group auto';
}
