/**
 * Subordinate id ranges from /etc/subuid and /etc/subgid (subuid(5), subgid(5)): lines of
 * `login-or-uid:start:count`. They say which host ids newuidmap(1)/newgidmap(1) let a user map
 * into a user namespace. Pure: the file contents are passed in.
 */

export interface SubIdRange {
  start: number;
  count: number;
}

interface SubIdEntry extends SubIdRange {
  owner: string;
}

/**
 * Ids a rootless image build must map: the guest tree uses ids up to 65534 (Debian's
 * base-passwd gives nobody/nogroup 65534), so 65536 — shadow's SUB_UID_COUNT default in
 * /etc/login.defs, what useradd allots — is the least that works.
 */
export const MIN_SUBID_COUNT = 65536;

/** Where usermod --add-subuids ranges conventionally start (login.defs SUB_UID_MIN). */
export const SUBID_MIN_START = 100000;

/** Every well-formed entry, in file order; comments, blanks and malformed lines are skipped. */
export function parseSubIds(text: string): SubIdEntry[] {
  const entries: SubIdEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^([^:#\s][^:]*):(\d+):(\d+)\s*$/.exec(line);
    if (!m) continue;
    entries.push({ owner: m[1]!, start: Number(m[2]), count: Number(m[3]) });
  }
  return entries;
}

/**
 * The first range of the user (by login name or by numeric uid, as newuidmap(1) accepts both)
 * holding at least `minCount` ids; `undefined` with `largest` set when the user only has
 * smaller ones.
 */
export function findSubIdRange(
  text: string,
  user: { name: string; id: number },
  minCount = MIN_SUBID_COUNT,
): { range?: SubIdRange; largest?: number } {
  const mine = parseSubIds(text).filter((e) => e.owner === user.name || e.owner === String(user.id));
  const range = mine.find((e) => e.count >= minCount);
  if (range) return { range: { start: range.start, count: range.count } };
  if (mine.length === 0) return {};
  return { largest: Math.max(...mine.map((e) => e.count)) };
}

/**
 * A start for a new range of `count` ids that overlaps no range of any of the files, at or
 * above SUBID_MIN_START: after the highest range in use. For the exact usermod command in hints.
 */
export function nextFreeSubIdStart(texts: readonly string[]): number {
  let end = SUBID_MIN_START;
  for (const text of texts) {
    for (const e of parseSubIds(text)) end = Math.max(end, e.start + e.count);
  }
  return end;
}
