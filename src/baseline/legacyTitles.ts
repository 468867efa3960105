/**
 * Crash titles that kt once gave and gives no more, so that a baseline recorded before the change
 * does not turn every such crash into a "new crash". Before the filesystem assertion helpers
 * became skipped frames (src/crash/frames.ts), every failed XFS ASSERT was titled by the helper:
 * `WARNING in assfail`, `kernel BUG in assfail`, `WARNING in asswarn` (fs/xfs/xfs_message.c);
 * now it is titled by the function that asserted. A recorded helper title stands for a title of
 * the same kind in that test when the crash is such an assertion. Pure.
 */
const LEGACY_HELPERS = ['assfail', 'asswarn'] as const;

/** The kind part of a title: "WARNING" of "WARNING in xfs_inactive". */
function kindOf(title: string): string | undefined {
  const at = title.lastIndexOf(' in ');
  return at > 0 ? title.slice(0, at) : undefined;
}

/**
 * Whether `titles` (a baseline entry's recorded titles) knows `crash`: its title, or a legacy
 * helper title of the same kind when the crash is an assertion through that helper (its report
 * shows the helper's frame or XFS's "Assertion failed" line). Any other crash of that kind in the
 * test stays new.
 */
export function titleRecorded(titles: Readonly<Record<string, unknown>>, crash: { title: string; excerpt?: string }): boolean {
  if (titles[crash.title] !== undefined) return true;
  const kind = kindOf(crash.title);
  if (kind === undefined || !/\bass(?:fail|warn)\b|XFS \([^)]*\): Assertion failed|XFS: Assertion failed/.test(crash.excerpt ?? '')) return false;
  return LEGACY_HELPERS.some((helper) => titles[`${kind} in ${helper}`] !== undefined);
}
