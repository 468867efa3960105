/**
 * `$RESULT_BASE/check.time`: `<test> <seconds>` per line, passed tests only, merged with the
 * previous file and sorted by check's _wrapup (docs/fstests.md §3). Empty after a hang or crash.
 */

/** Test id → seconds of its last pass. Lines that are not `<test> <integer>` are skipped. */
export function parseCheckTime(text: string): Map<string, number> {
  const times = new Map<string, number>();
  for (const line of text.split('\n')) {
    // check _wrapup: echo "$seqnum `expr $stop - $start`" >>$tmp.time, merged with awk '{ t[$1] = $2 }'
    const m = /^(\S+)\s+(\d+)\s*$/.exec(line);
    if (m?.[1] !== undefined) times.set(m[1], Number(m[2]));
  }
  return times;
}
