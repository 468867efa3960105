/**
 * fstests exclude ("expunge") lists: `check -E file` and `-e a,b` (docs/fstests.md §1.2).
 * check reads the file with `sed "s/#.*$//"`, one entry per line, and expunges a test when a
 * line matches the regex `^<test id>\b`, so trailing text after the id is fine.
 */

/** The entries of an exclude file: comments removed, blank lines dropped, whitespace trimmed. */
export function parseExcludeFile(text: string): string[] {
  // fstests check -E: sed "s/#.*$//" $xfile
  // Unlike check, leading blanks are trimmed: an indented entry should not silently match nothing.
  return text
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
}

/** The entries of a `check -e` argument, split on commas and spaces like check does. */
export function splitExpungeArg(arg: string): string[] {
  // fstests check -e: echo "$xfile" | tr ', ' '\n\n'
  return arg.split(/[, ]/).filter((s) => s !== '');
}

/** check's _expunge_test: does this exclude line name the test (`^${TEST_ID}\b`)? */
export function expungeLineMatches(line: string, testId: string): boolean {
  if (!line.startsWith(testId)) return false;
  const next = line[testId.length];
  const isWord = (c: string | undefined) => c !== undefined && /\w/.test(c);
  // \b after the id: a word/non-word change between its last character and the next one.
  return isWord(testId[testId.length - 1]) !== isWord(next);
}
