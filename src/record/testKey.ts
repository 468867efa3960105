/**
 * The identity of a test within a run, as one string for Map and Set keys: the same test in two
 * sections (fstests config sections) is two tests. NUL can be in neither a section nor a test
 * name (both are path components), so the pair splits back at it. Pure.
 */
export function testKey(section: string, test: string): string {
  return `${section}\u0000${test}`;
}
