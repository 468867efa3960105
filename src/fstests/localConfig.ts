/**
 * Renders the config file check reads (`local.config`, or the file named by $HOST_OPTIONS;
 * docs/fstests.md §1.3). Two forms:
 * - without sections, the file is sourced by bash: `export NAME=value` lines, values
 *   single-quoted when needed, so any value is safe;
 * - with `[section]` lines, common/config parses it with sed and `eval`s
 *   `export NAME="value"`: only plain NAME=value lines work, so values that sed or eval would
 *   change are refused.
 */
import { UsageError } from '../errors.js';
import { shellQuote } from '../util/shell.js';

export { shellQuote };

/** The no-sections config kt writes for one guest. */
export interface LocalConfigOptions {
  /** FSTYP. */
  fstyp: string;
  /** TEST_DEV: a block device already holding an FSTYP filesystem. */
  testDev: string;
  /** TEST_DIR: where check mounts TEST_DEV. */
  testDir: string;
  /** SCRATCH_DEV: mkfs'ed by check at the start of each section (unset with SCRATCH_DEV_POOL). */
  scratchDev?: string;
  /** SCRATCH_MNT. */
  scratchMnt: string;
  /** RESULT_BASE: where check writes results. */
  resultBase: string;
  /** MKFS_OPTIONS, a shell word list (e.g. `-m reflink=1`). */
  mkfsOptions?: string;
  /** MOUNT_OPTIONS, a shell word list (e.g. `-o noatime`). */
  mountOptions?: string;
  /** More variables, in order (CANON_DEVS, LOGWRITES_DEV, TIME_FACTOR, ...). */
  extra?: Record<string, string>;
  /** Text of the first comment line; defaults to "written by kt". */
  comment?: string;
}

/** One `[name]` block of a sections config. */
export interface ConfigSection {
  /** Section name: letters, digits, `_` and `-` (common/config). */
  name: string;
  /** Variables of the section, in order; later sections inherit earlier ones in check. */
  vars: Record<string, string>;
}

/** The sourced-by-bash form, as in the samples' local.config. */
export function renderLocalConfig(opts: LocalConfigOptions): string {
  const vars: Array<[string, string]> = [
    ['FSTYP', opts.fstyp],
    ['TEST_DEV', opts.testDev],
    ['TEST_DIR', opts.testDir],
    ...(opts.scratchDev !== undefined ? ([['SCRATCH_DEV', opts.scratchDev]] as Array<[string, string]>) : []),
    ['SCRATCH_MNT', opts.scratchMnt],
    ['RESULT_BASE', opts.resultBase],
  ];
  if (opts.mkfsOptions !== undefined) vars.push(['MKFS_OPTIONS', opts.mkfsOptions]);
  if (opts.mountOptions !== undefined) vars.push(['MOUNT_OPTIONS', opts.mountOptions]);
  vars.push(...Object.entries(opts.extra ?? {}));

  const seen = new Set<string>();
  const lines = [`# ${oneLine(opts.comment ?? 'written by kt')}`];
  for (const [name, value] of vars) {
    checkName(name);
    if (seen.has(name)) throw configError(`${name} is set twice in the fstests config`, 'give each variable once');
    seen.add(name);
    lines.push(`export ${name}=${shellQuote(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The `[section]` form; throws UsageError for names or values common/config would mangle. */
export function renderSectionsConfig(sections: readonly ConfigSection[], comment = 'written by kt'): string {
  if (sections.length === 0) throw configError('a sections config needs at least one section', 'add a section');
  const seen = new Set<string>();
  const blocks = sections.map((s) => {
    // common/config: section names are matched with [[:alnum:]_-]
    if (!/^[A-Za-z0-9_-]+$/.test(s.name)) {
      throw configError(`invalid fstests config section name "${s.name}"`, 'use letters, digits, "_" and "-" only');
    }
    if (seen.has(s.name)) throw configError(`fstests config section "${s.name}" appears twice`, 'merge the two sections');
    seen.add(s.name);
    const lines = [`[${s.name}]`];
    for (const [name, value] of Object.entries(s.vars)) {
      checkName(name);
      checkSectionValue(s.name, name, value);
      lines.push(/\s/.test(value) || value === '' ? `${name}="${value}"` : `${name}=${value}`);
    }
    return lines.join('\n');
  });
  return `# ${oneLine(comment)}\n${blocks.join('\n\n')}\n`;
}


function checkName(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw configError(`invalid fstests config variable name "${name}"`, 'use a shell variable name such as MKFS_OPTIONS');
  }
}

// common/config parse_config_section runs, per line: s/[[:space:]]*=[[:space:]]*/=/g,
// s/#.*$//, strips leading and trailing blanks, keeps `[^"']*` inside optional quotes, and
// evals `export NAME="value"` (so $, ` and \ are expanded).
function checkSectionValue(section: string, name: string, value: string): void {
  const problems: Array<[RegExp, string]> = [
    [/[\n\r]/, 'a line break'],
    [/#/, '"#" (starts a comment)'],
    [/["']/, 'a quote'],
    [/[$`\\]/, '"$", "`" or "\\" (expanded by eval)'],
    [/\s=|=\s/, 'blanks around "=" (removed by common/config)'],
    [/^\s|\s$/, 'leading or trailing blanks (stripped)'],
  ];
  for (const [re, what] of problems) {
    if (re.test(value)) {
      throw configError(
        `value of ${name} in section [${section}] contains ${what}, which fstests' sections config cannot hold: ${JSON.stringify(value)}`,
        'use the config without sections (renderLocalConfig), which is sourced by bash and can hold any value',
      );
    }
  }
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

function configError(message: string, hint: string): UsageError {
  return new UsageError('E_FSTESTS_CONFIG', message, hint);
}
