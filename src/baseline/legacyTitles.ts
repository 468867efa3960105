/**
 * Crash titles that kt once gave and gives no more, so that a baseline recorded before the change
 * does not turn every such crash into a "new crash". Before the filesystem assertion helpers
 * became skipped frames (src/crash/frames.ts), every failed XFS ASSERT was titled by the helper:
 * `WARNING in assfail`, `kernel BUG in assfail`, `WARNING in asswarn` (fs/xfs/xfs_message.c);
 * now it is titled by the function that asserted. A recorded helper title stands for any title of
 * the same kind in that test. Pure.
 */
const LEGACY_HELPERS = ['assfail', 'asswarn'] as const;

/** The kind part of a title: "WARNING" of "WARNING in xfs_inactive". */
function kindOf(title: string): string | undefined {
  const at = title.lastIndexOf(' in ');
  return at > 0 ? title.slice(0, at) : undefined;
}

/** Whether `titles` (a baseline entry's recorded titles) knows `title`, directly or by a legacy helper title. */
export function titleRecorded(titles: Readonly<Record<string, unknown>>, title: string): boolean {
  if (titles[title] !== undefined) return true;
  const kind = kindOf(title);
  return kind !== undefined && LEGACY_HELPERS.some((helper) => titles[`${kind} in ${helper}`] !== undefined);
}
