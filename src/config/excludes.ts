/**
 * Exclude rules in layers: the config file (kt.yaml: a user's global list), the suite (per
 * filesystem), the section, and the command line (-E). Each rule names tests the way fstests'
 * `check -E` does (a line matches a test when it starts with the test id followed by a word
 * boundary: check's _expunge_test), may carry a reason or link, and may hold only for some
 * kernels (`kernel: "<6.6"`).
 */
import { UsageError, printable } from '../errors.js';

/** Where a rule comes from, in the order layers apply. */
export type ExcludeLayer = 'config' | 'suite' | 'section' | 'cli';

export const LAYER_LABEL: Record<ExcludeLayer, string> = {
  config: 'the config file',
  suite: 'the suite',
  section: 'the section',
  cli: '-E',
};

/** A kernel version as numbers, e.g. [6, 1, 0]. */
export type KernelVersion = readonly number[];

/**
 * One comparison of a kernel condition, e.g. `<6.6`. It compares at the precision written:
 * `=6.1` is every 6.1.x, `<6.6` is before the 6.6 series, `>=6.1.50` is from 6.1.50 on.
 */
export interface VersionTerm {
  op: '<' | '<=' | '>' | '>=' | '=';
  /** The version as written: one to three numbers. */
  version: KernelVersion;
}

export interface ExcludeRule {
  layer: ExcludeLayer;
  /** `file:line`, or the suite file and key: where the user edits it. */
  source: string;
  /** The exclude line as check reads it (a test id, maybe followed by text). */
  line: string;
  /** Why, or a link (the `# comment` of an exclude file, or `reason:` in YAML). */
  reason?: string;
  /** The rule holds when the kernel satisfies every term (absent: always). */
  kernel?: VersionTerm[];
  /** The condition as written, for messages. */
  kernelText?: string;
}

/** `6.1.0-57-cloud-amd64` → [6, 1, 0]; undefined when it does not start with a version. */
export function parseKernelVersion(text: string): KernelVersion | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

function compareVersions(a: KernelVersion, b: KernelVersion): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** `">=6.1 <6.6"` → terms; throws a UsageError naming `where`. */
export function parseKernelCondition(text: string, where: string): VersionTerm[] {
  const terms: VersionTerm[] = [];
  for (const word of text.trim().split(/\s+/)) {
    const m = /^(<=|>=|<|>|=)?(\d+(?:\.\d+){0,2})$/.exec(word);
    if (!m) {
      throw new UsageError('E_EXCLUDE_KERNEL', `${where}: kernel condition "${printable(text)}" is not a list of comparisons`, 'write it like "<6.6", ">=6.1 <6.8" or "=6.1"');
    }
    terms.push({ op: (m[1] ?? '=') as VersionTerm['op'], version: m[2]!.split('.').map(Number) });
  }
  return terms;
}

/** Does `version` satisfy every term (each at its own precision)? */
export function versionMatches(version: KernelVersion, terms: readonly VersionTerm[]): boolean {
  return terms.every((t) => {
    const c = compareVersions(version.slice(0, t.version.length), t.version);
    switch (t.op) {
      case '<':
        return c < 0;
      case '<=':
        return c <= 0;
      case '>':
        return c > 0;
      case '>=':
        return c >= 0;
      case '=':
        return c === 0;
    }
  });
}

/** Whether a rule applies to this kernel; an unknown kernel version applies every rule (excluding is the safe side). */
export function ruleApplies(rule: ExcludeRule, kernel: KernelVersion | undefined): boolean {
  if (!rule.kernel) return true;
  if (!kernel) return true;
  return versionMatches(kernel, rule.kernel);
}

/**
 * The rules of an fstests -E file: one entry per line, `# comment` stripped (check: sed
 * "s/#.*$//") — kt keeps the comment as the rule's reason.
 */
export function rulesFromExcludeFile(text: string, file: string, layer: ExcludeLayer, extra: Pick<ExcludeRule, 'kernel' | 'kernelText' | 'reason'> = {}): ExcludeRule[] {
  const rules: ExcludeRule[] = [];
  text.split('\n').forEach((raw, i) => {
    const hash = raw.indexOf('#');
    // Leading blanks are trimmed, unlike check: an indented entry should not silently match nothing.
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line === '') return;
    const comment = hash >= 0 ? raw.slice(hash + 1).trim() : '';
    const reason = comment || extra.reason;
    rules.push({
      layer,
      source: `${file}:${i + 1}`,
      line,
      ...(reason ? { reason } : {}),
      ...(extra.kernel ? { kernel: extra.kernel, kernelText: extra.kernelText! } : {}),
    });
  });
  return rules;
}
