/**
 * POSIX shell quoting, for commands kt runs in guests, fstests' sourced config, and the
 * command lines --dry-run prints. One word stays bare when it only holds characters no shell
 * treats specially; anything else is single-quoted ('it'\''s').
 */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
