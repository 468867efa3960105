/**
 * check expands test arguments as shell globs inside tests/ (`list=$(cd $SRC_DIR; echo $1)`,
 * docs/fstests.md §1.2: 'xfs/*', '*\/001'). kt matches the same patterns against known test ids.
 */

/** True when the argument holds a glob character bash would expand. */
export function hasGlobChars(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** A bash pathname glob as an anchored RegExp: `*` and `?` never match `/`. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
