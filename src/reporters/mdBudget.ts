/**
 * Fitting report.md into a byte budget. kt appends report.md to $GITHUB_STEP_SUMMARY, and GitHub
 * drops a step summary over 1024 KiB whole ("$GITHUB_STEP_SUMMARY upload aborted, supports
 * content up to a size of 1024k"): a run with a thousand failing tests, each with its diff, would
 * lose its summary exactly when it matters. report.html and summary.json keep everything.
 *
 * A document is a sequence of parts: fixed lines, and lists whose items have a full form (a
 * failure's section with its diff) and maybe a short one (the failing test's name). When the
 * whole document fits, it is rendered as it is. Otherwise every list starts short (items with a
 * short form in it, the others left out and counted), and the room left is handed out in the
 * lists' priority order, item by item from the top, in full form. Only when even the short forms
 * do not fit are short items left out too, lowest priority first.
 */

/** One entry of a list. */
export interface MdItem {
  /** Lines of the whole entry. */
  full: string[];
  /** Lines that still name it when there is no room for the whole (absent: left out and counted). */
  short?: string[];
}

/** A list whose items can be shortened or left out. */
export interface MdList {
  kind: 'list';
  /** Lines before the items (a heading, a table's header). */
  head: string[];
  items: MdItem[];
  /** Lines before the first item shown in short form, when there is one. */
  shortHead?: string[];
  /** Lines after the last item shown in short form, when there is one. */
  shortTail?: string[];
  /** Lines after the items. */
  tail: string[];
  /** Lists get room beyond their short form in this order, lowest first. */
  priority: number;
  /** Lines that stand for the `n` last items, left out. */
  more(n: number): string[];
}

/** Lines shown only when the document had to be shortened (where to find the rest). */
export interface MdNote {
  kind: 'note';
  lines: string[];
}

export type MdPart = string[] | MdList | MdNote;

/** How one list is shown: items [0, full) in full form, [full, kept) short, the rest counted. */
interface Shown {
  full: number;
  kept: number;
}

/** Bytes kept per list for its "N more" line when short items have to be left out. */
const MORE_LINE_ROOM = 256;

function bytes(lines: readonly string[]): number {
  let n = 0;
  for (const line of lines) n += Buffer.byteLength(line, 'utf8') + 1;
  return n;
}

function listLines(list: MdList, shown: Shown): string[] {
  const out = [...list.head];
  for (const item of list.items.slice(0, shown.full)) out.push(...item.full);
  const short = list.items.slice(shown.full, shown.kept);
  if (short.length > 0) out.push(...(list.shortHead ?? []));
  for (const item of short) out.push(...(item.short ?? []));
  if (short.length > 0) out.push(...(list.shortTail ?? []));
  const left = list.items.length - shown.kept;
  if (left > 0) out.push(...list.more(left));
  out.push(...list.tail);
  return out;
}

function documentLines(parts: readonly MdPart[], shown: ReadonlyMap<MdList, Shown> | undefined): string[] {
  const out: string[] = [];
  for (const part of parts) {
    if (Array.isArray(part)) out.push(...part);
    else if (part.kind === 'note') {
      if (shown) out.push(...part.lines);
    } else out.push(...listLines(part, shown?.get(part) ?? { full: part.items.length, kept: part.items.length }));
  }
  return out;
}

function finish(lines: readonly string[]): string {
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

/** The items of a list that have a short form, counted from the top. */
function shortPrefix(list: MdList): number {
  const i = list.items.findIndex((item) => item.short === undefined);
  return i < 0 ? list.items.length : i;
}

/** Renders `parts` as one markdown document of at most `maxBytes` bytes when it can (see above). */
export function renderWithinBudget(parts: readonly MdPart[], maxBytes: number): string {
  const whole = documentLines(parts, undefined);
  if (bytes(whole) <= maxBytes) return finish(whole);

  const lists = parts.filter((p): p is MdList => !Array.isArray(p) && p.kind === 'list');
  const shown = new Map<MdList, Shown>(lists.map((l) => [l, { full: 0, kept: shortPrefix(l) }]));
  let size = bytes(documentLines(parts, shown));

  // Even the names do not fit: leave short items out, lowest priority first, bottom up. The
  // "N more" line this adds to a list is short; a little room per list is kept for it.
  const byPriority = [...lists].sort((a, b) => a.priority - b.priority);
  if (size > maxBytes) {
    const target = maxBytes - MORE_LINE_ROOM * lists.length;
    for (const list of [...byPriority].reverse()) {
      const s = shown.get(list)!;
      while (size > target && s.kept > 0) {
        s.kept -= 1;
        size -= bytes(list.items[s.kept]!.short ?? []);
      }
    }
    size = bytes(documentLines(parts, shown));
  }

  // The room left goes to whole items, in priority order, each list from the top. The cost of
  // an item is its full form less the short form it replaces; the "N more" line only shrinks.
  for (const list of byPriority) {
    const s = shown.get(list)!;
    while (s.full < list.items.length) {
      const item = list.items[s.full]!;
      const cost = bytes(item.full) - (s.full < s.kept ? bytes(item.short ?? []) : 0);
      if (size + cost > maxBytes) break;
      size += cost;
      s.full += 1;
      if (s.kept < s.full) s.kept = s.full;
    }
  }
  return finish(documentLines(parts, shown));
}
