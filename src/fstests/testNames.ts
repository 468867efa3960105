/**
 * How fstests names tests and test directories. Shared by the group.list reader, the planner
 * and the check output parser, so all three agree on what a test id is.
 */

/** fstests common/test_names: VALID_TEST_NAME='[0-9]\{3\}-\?[[:alnum:]-]*' (a test file name). */
export const TEST_NAME_PATTERN = '[0-9]{3}-?[A-Za-z0-9-]*';

/** A test id as check prints it, `<dir>/<name>` (docs/fstests.md §2.2: "generic/001", "xfs/838"). */
export const TEST_ID_PATTERN = `[a-z0-9]+/${TEST_NAME_PATTERN}`;

const TEST_NAME_RE = new RegExp(`^${TEST_NAME_PATTERN}$`);
const TEST_ID_RE = new RegExp(`^${TEST_ID_PATTERN}$`);

/** True for a test file name such as `001` or `001-some-name`. */
export function isTestName(name: string): boolean {
  return TEST_NAME_RE.test(name);
}

/** True for a test id such as `generic/001`. */
export function isTestId(id: string): boolean {
  return TEST_ID_RE.test(id);
}

/**
 * The test directory of FSTYP: ext2 and ext3 use tests/ext4 (fstests check get_group_list, as of
 * v2026.01.05: `if [ "$FSTYP" = ext2 -o "$FSTYP" = ext3 ]; then fsgroup=ext4`); a later fuse
 * series maps fuse types of ext* there too (get_group_dirs).
 */
export function fsTestDir(fstyp: string): string {
  if (fstyp === 'ext2' || fstyp === 'ext3' || /^fuseblk\.ext[234]$/.test(fstyp)) return 'ext4';
  return fstyp;
}

/**
 * The test directories of fstests that belong to one filesystem (kdave/xfstests tests/: every
 * directory but generic, shared, perf and selftest, v2026.01.05). check searches one of them for
 * groups only when it is FSTYP's (get_group_list), but runs a test named on its command line whatever
 * FSTYP is, and since fstests dropped `_supported_fs` such a test no longer says `not run`
 * there unless a `_require_*` check stops it: btrfs/001 on xfs fails with `_btrfs: command not
 * found`. A directory not listed here (a fork's own) counts as generic.
 */
export const FILESYSTEM_TEST_DIRS: ReadonlySet<string> = new Set(['btrfs', 'ceph', 'cifs', 'ext4', 'f2fs', 'nfs', 'ocfs2', 'overlay', 'tmpfs', 'udf', 'xfs']);

/** The filesystem test `id` (`btrfs/001`) was written for, or undefined for generic and other tests. Pure. */
export function filesystemOfTest(id: string): string | undefined {
  const [dir, name] = id.split('/');
  return name !== undefined && dir !== undefined && FILESYSTEM_TEST_DIRS.has(dir) ? dir : undefined;
}

/** The directories check searches for `-g`/`-x` groups: generic plus the FSTYP directory. */
export function groupDirs(fstyp: string): string[] {
  // fstests check: SRC_GROUPS="generic", then $(get_group_dirs) adds the fstyp dir.
  const fsDir = fsTestDir(fstyp);
  return fsDir === 'generic' ? ['generic'] : ['generic', fsDir];
}
