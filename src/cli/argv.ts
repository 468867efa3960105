/**
 * yargs reads `--scratch-size -5G` as the flag without a value followed by the short options
 * -5 and -G ("Unknown arguments: 5, G"). A value that starts with "-" and a digit is never an
 * option of kt, so it is joined to its flag (`--scratch-size=-5G`) and kt's own check then says
 * what is wrong with it.
 */

/** Flags of `kt run` (and `kt report`) that take a value, long and short forms. */
export const RUN_VALUE_FLAGS: ReadonlySet<string> = new Set([
  '--group', '-g', '--section', '-c', '--exclude-group', '-x', '--exclude-file', '-E', '--jobs', '-j', '--kernel', '--fstests',
  '--results', '--accel', '--config', '--suite', '--memory', '--cpus', '--test-size', '--scratch-size',
  '--test-timeout', '--boot-timeout', '--retries', '--shard', '--transport', '--batch', '--backend',
  '--nixos-vm', '--append', '--out', '--spares', '--baseline', '--count', '--module', '--modules',
  '--rootfs', '--share', '--kernel-entry', '--test-dev',
]);

/** Pure: joins `FLAG -<digit>...` into `FLAG=-<digit>...` for the given value flags. */
export function joinNegativeValues(argv: readonly string[], valueFlags: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (valueFlags.has(arg) && next !== undefined && /^-[0-9.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

/**
 * yargs reads any `--no-NAME` as NAME=false ("boolean-negation"), so `--no-config` handed a
 * boolean to code that expects a path. kt keeps the `--no-` form for its on/off flags only
 * (`--no-keep`); for a flag that takes a value it is an error naming the flag.
 */
export interface DeclaredFlags {
  /** Declared boolean options (yargs' getOptions().boolean). */
  boolean: readonly string[];
  /** Each option's aliases (yargs' getOptions().alias). */
  alias: Readonly<Record<string, readonly string[]>>;
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Pure: the NAME of the first `--no-NAME` (before `--`) that is not an on/off flag, if any. */
export function negatedValueFlag(argv: readonly string[], declared: DeclaredFlags): string | undefined {
  const onOff = new Set<string>();
  for (const name of declared.boolean) {
    onOff.add(kebab(name));
    for (const alias of declared.alias[name] ?? []) onOff.add(kebab(alias));
  }
  for (const arg of argv) {
    if (arg === '--') break;
    // `--no-x=v` is not a negation for yargs (the `=` form is read first): yargs' strict mode refuses it.
    const m = /^--no-([^=]+)$/.exec(arg);
    if (m && !onOff.has(kebab(m[1]!))) return m[1]!;
  }
  return undefined;
}
