/**
 * The host-side twin of check's `_prepare_test_list` (docs/fstests.md §1.2, §1.4): which tests a
 * `check [-g ...] [-x ...] [-e/-E ...] [tests...]` would run, computed from the group lists so
 * kt can shard the list and hand each VM an explicit `--exact-order` list.
 *
 * kt is stricter than check: an unknown -g group or test is an error here, where check prints a
 * warning (`xfs/999 - unknown test, ignored`) or, for a name it half-recognises, `- no such
 * test?` at run time. An unknown -x group is what it is for check (`Group "x" is empty or not
 * defined?`, and the run goes on): a warning, since a group to leave out may exist for only some
 * of a run's filesystems (xfs's groups are not ext4's).
 */
import { UsageError, printable } from '../errors.js';
import { expungeLineMatches } from './excludeFile.js';
import { groupNames } from './groupList.js';
import { closestNames } from './suggest.js';
import { globToRegExp, hasGlobChars } from './testGlob.js';
import { groupDirs, isTestName } from './testNames.js';
import type { TestTree } from './testTree.js';

/** What to select, in check's own terms. */
export interface PlanRequest {
  /** Group lists of the tree (loadTestTree). */
  tree: TestTree;
  /** FSTYP: groups are searched in tests/generic and this type's directory. */
  fstyp: string;
  /** `-g` values; each may hold `a,b`, and `dir/group` restricts a group to one directory. */
  groups?: readonly string[];
  /** `-x` values, same forms as groups; their members are removed from the list. */
  excludeGroups?: readonly string[];
  /** Explicit tests: `dir/NNN`, `tests/dir/NNN`, `dir/NNN` naming an `NNN-name` test, or globs. */
  tests?: readonly string[];
  /** `-e` entries and `-E` file lines; a test is expunged when a line matches `^<id>\b`. */
  expungeLines?: readonly string[];
  /** check --exact-order: keep the given order and duplicates instead of `sort -n | uniq`. */
  exactOrder?: boolean;
}

/** The tests check would run, and the ones it would print as `[expunged]`. */
export interface TestPlan {
  /** Tests to run, `dir/name`, in check's order. */
  tests: string[];
  /** Tests of the list removed by an expunge line, in list order. */
  expunged: string[];
  /** What check would warn about and go on (an -x group with no test here); absent when nothing. */
  warnings?: string[];
}

/** Computes the test list of a check invocation. Throws UsageError for unknown groups/tests. */
export function planTests(req: PlanRequest): TestPlan {
  const groups = splitCommas(req.groups ?? []);
  const explicit = req.tests ?? [];
  const list: string[] = [];
  for (const arg of explicit) list.push(...resolveTestArg(req.tree, arg));

  // fstests check: with no tests and no -g, "default group list is the auto group".
  const wanted = explicit.length === 0 && groups.length === 0 ? ['auto'] : groups;
  const seen = new Set(list);
  const add = (t: string) => {
    if (!seen.has(t)) list.push(t);
    seen.add(t);
  };
  // fstests check _prepare_test_list: `-g all` only when it is the only group and no tests given.
  if (explicit.length === 0 && wanted.length === 1 && wanted[0] === 'all') {
    for (const dir of searchedDirs(req.tree, req.fstyp)) {
      for (const name of req.tree.dirs.get(dir)?.keys() ?? []) add(`${dir}/${name}`);
    }
  } else {
    for (const g of wanted) for (const t of groupMembers(req.tree, req.fstyp, g)) add(t);
  }

  const removed = new Set<string>();
  const warnings: string[] = [];
  for (const g of splitCommas(req.excludeGroups ?? [])) {
    // fstests check _prepare_test_list, XGROUP_LIST: echo "Group \"$xgroup\" is empty or not defined?"; continue
    const members = groupMembersIfAny(req.tree, req.fstyp, g);
    if (members.length === 0) warnings.push(`-x ${printable(g)}: group "${printable(g)}" is empty or not defined for FSTYP=${req.fstyp}; nothing left out for it`);
    for (const t of members) removed.add(t);
  }
  let ordered = list.filter((t) => !removed.has(t));
  if (!req.exactOrder) {
    // fstests check: list=`sort -n $tmp.list | uniq`. Every line starts with "tests/", so -n
    // sees equal keys and the last-resort byte comparison decides (LC_ALL=C in the guest).
    ordered = [...new Set(ordered)].sort(compareBytes);
  }

  const expungeLines = req.expungeLines ?? [];
  const tests: string[] = [];
  const expunged: string[] = [];
  for (const t of ordered) {
    if (expungeLines.some((line) => expungeLineMatches(line, t))) expunged.push(t);
    else tests.push(t);
  }
  return { tests, expunged, ...(warnings.length > 0 ? { warnings } : {}) };
}

/** Every test id of the tree, `dir/name`. */
export function allTestIds(tree: TestTree): string[] {
  const ids: string[] = [];
  for (const [dir, list] of tree.dirs) for (const name of list.keys()) ids.push(`${dir}/${name}`);
  return ids;
}

function splitCommas(values: readonly string[]): string[] {
  // fstests check -g/-x: GROUP_LIST="$GROUP_LIST ${group//,/ }"
  return values.flatMap((v) => v.split(/[,\s]+/)).filter((v) => v !== '');
}

function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function searchedDirs(tree: TestTree, fstyp: string): string[] {
  // fstests check get_group_list: directories that do not exist are skipped.
  return groupDirs(fstyp).filter((d) => tree.dirs.has(d));
}

/** check's get_group_list, as -x reads it: no members (a missing group or directory) is no error. */
function groupMembersIfAny(tree: TestTree, fstyp: string, group: string): string[] {
  const slash = group.lastIndexOf('/');
  const dirs = slash >= 0 ? [group.slice(0, slash)] : searchedDirs(tree, fstyp);
  const name = slash >= 0 ? group.slice(slash + 1) : group;
  const members: string[] = [];
  for (const dir of dirs) {
    for (const [test, groups] of tree.dirs.get(dir) ?? []) if (groups.includes(name)) members.push(`${dir}/${test}`);
  }
  return members;
}

/** check's get_group_list, as -g reads it: members of `group` (or `dir/group`), in group.list order. */
function groupMembers(tree: TestTree, fstyp: string, group: string): string[] {
  const slash = group.lastIndexOf('/');
  const dirs = slash >= 0 ? [group.slice(0, slash)] : searchedDirs(tree, fstyp);
  const name = slash >= 0 ? group.slice(slash + 1) : group;
  if (slash >= 0 && !tree.dirs.has(dirs[0] ?? '')) {
    throw new UsageError(
      'E_UNKNOWN_GROUP',
      `unknown group "${printable(group)}": there is no tests/${dirs[0] ?? ''}/group.list in ${tree.root}`,
      `test directories here: ${[...tree.dirs.keys()].sort().join(', ')}`,
    );
  }
  const members = groupMembersIfAny(tree, fstyp, group);
  if (members.length === 0) throw unknownGroup(tree, fstyp, group, dirs, name);
  return members;
}

function unknownGroup(tree: TestTree, fstyp: string, group: string, dirs: string[], name: string): UsageError {
  const counts = new Map<string, number>();
  for (const dir of dirs) {
    const list = tree.dirs.get(dir);
    if (!list) continue;
    for (const g of groupNames(list)) {
      let n = 0;
      for (const groups of list.values()) if (groups.includes(g)) n++;
      counts.set(g, (counts.get(g) ?? 0) + n);
    }
  }
  const biggest = [...counts].sort((a, b) => b[1] - a[1] || compareBytes(a[0], b[0])).slice(0, 8).map(([g]) => g);
  const close = closestNames(counts.keys(), name, 3, 2);
  const where = dirs.map((d) => `tests/${d}`).join(' and ');
  const parts: string[] = [];
  if (name === 'all') parts.push('"all" selects every test only when it is the only group and no tests are named');
  if (close.length > 0) parts.push(`did you mean ${close.join(', ')}?`);
  parts.push(
    counts.size > 0
      ? `groups in ${where} include ${biggest.join(', ')} (${counts.size} in all)`
      : `${where} has no group list; check FSTYP`,
  );
  return new UsageError(
    'E_UNKNOWN_GROUP',
    `unknown group "${printable(group)}" for FSTYP=${fstyp}: no test in ${where} belongs to it`,
    parts.join('; '),
  );
}

/** check's test argument loop: globs, `tests/` prefix, and `NNN` naming an `NNN-name` test. */
function resolveTestArg(tree: TestTree, arg: string): string[] {
  // fstests check: t=${t#$SRC_DIR/}
  const id = arg.replace(/^tests\//, '');
  if (hasGlobChars(id)) {
    const re = globToRegExp(id);
    const matches = allTestIds(tree).filter((t) => re.test(t)).sort(compareBytes);
    if (matches.length === 0) throw unknownTest(tree, arg, `no test matches the pattern "${printable(arg)}"`);
    return matches;
  }
  const slash = id.indexOf('/');
  const dir = id.slice(0, slash);
  const name = id.slice(slash + 1);
  const list = slash > 0 ? tree.dirs.get(dir) : undefined;
  if (list?.has(name)) return [id];
  // fstests check accepts a prefix (grep -Eq "^$test_name" group.list) and, when the file does
  // not exist, runs the shortest test named "<NNN>*" if the argument is a 3-digit VALID_TEST_ID.
  if (list && /^[0-9]{3}$/.test(name)) {
    const full = [...list.keys()]
      .filter((n) => n.startsWith(name) && isTestName(n))
      .sort((a, b) => a.length - b.length || compareBytes(a, b))[0];
    if (full) return [`${dir}/${full}`];
  }
  return throwUnknown(tree, arg, list ? undefined : slash > 0 ? dir : '');
}

function throwUnknown(tree: TestTree, arg: string, missingDir: string | undefined): never {
  const why =
    missingDir === undefined
      ? `unknown test "${printable(arg)}"`
      : missingDir === ''
        ? `unknown test "${printable(arg)}": a test is named <dir>/<name>, e.g. generic/001`
        : `unknown test "${printable(arg)}": there is no tests/${missingDir}/group.list`;
  throw unknownTest(tree, arg, why);
}

function unknownTest(tree: TestTree, arg: string, message: string): UsageError {
  const close = closestNames(allTestIds(tree), arg.replace(/^tests\//, ''), 3, 3);
  const dirs = [...tree.dirs.keys()].sort().join(', ');
  const hint =
    close.length > 0
      ? `did you mean ${close.join(', ')}?`
      : `tests are listed in tests/<dir>/group.list; directories here: ${dirs}`;
  return new UsageError('E_UNKNOWN_TEST', message, hint);
}
