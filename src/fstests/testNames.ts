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

/** The test directory of FSTYP; check's get_group_dirs maps ext2/ext3/fuseblk.ext* to ext4. */
export function fsTestDir(fstyp: string): string {
  // fstests check get_group_dirs: "ext2|ext3|fuseblk.ext[234]) fsgroup=ext4"
  if (fstyp === 'ext2' || fstyp === 'ext3' || /^fuseblk\.ext[234]$/.test(fstyp)) return 'ext4';
  return fstyp;
}

/** The directories check searches for `-g`/`-x` groups: generic plus the FSTYP directory. */
export function groupDirs(fstyp: string): string[] {
  // fstests check: SRC_GROUPS="generic", then $(get_group_dirs) adds the fstyp dir.
  const fsDir = fsTestDir(fstyp);
  return fsDir === 'generic' ? ['generic'] : ['generic', fsDir];
}
