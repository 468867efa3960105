/**
 * Reads `tests/<dir>/group.list`, the file fstests' `make` writes from each test's
 * `_begin_fstest <groups>` line (docs/fstests.md §1.4):
 *
 *   # QA groups control file, automatically generated.
 *   # See _begin_fstest in each test for details.
 *
 *   001 rw dir udf auto quick
 */
import { isTestName } from './testNames.js';

/** Test name (`001`) → its groups, in file order. */
export type GroupList = Map<string, string[]>;

/**
 * Parses group.list text the way check's get_sub_group_list reads it: `#` starts a comment,
 * the test name must start the line and match VALID_TEST_NAME, the rest are group names.
 */
export function parseGroupList(text: string): GroupList {
  const tests: GroupList = new Map();
  for (const raw of text.split('\n')) {
    // fstests check get_sub_group_list: sed -e 's/#.*//'
    const line = raw.replace(/#.*/, '').replace(/\s+$/, '');
    if (line === '' || /^\s/.test(line)) continue;
    const [name, ...groups] = line.split(/\s+/);
    if (name === undefined || !isTestName(name)) continue;
    const known = tests.get(name) ?? [];
    for (const g of groups) if (!known.includes(g)) known.push(g);
    tests.set(name, known);
  }
  return tests;
}

/** Every group name used in a group list, sorted. */
export function groupNames(list: GroupList): string[] {
  const names = new Set<string>();
  for (const groups of list.values()) for (const g of groups) names.add(g);
  return [...names].sort();
}
