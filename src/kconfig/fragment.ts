/**
 * kt's Kconfig fragment: the lines `kt kconfig fix` merges into a tree's .config with the
 * kernel's own scripts/kconfig/merge_config.sh, and the comparison of what was asked with what
 * Kconfig kept. Pure.
 */
import { tristateOf, type KernelConfig } from './configText.js';
import type { CheckedRequirement, KconfigCheck } from './check.js';
import type { Requirement } from './requirements.js';

/** First line of every fragment kt writes; a file without it is the user's and is never overwritten. */
export const FRAGMENT_HEADER = '# kt kconfig fragment: written by `kt kconfig fix` (docs/kernel.md); changes are lost on the next fix';

export interface FragmentLine {
  symbol: string;
  value: 'y' | 'm';
  /** The requirement or the requirement it is a dependency of. */
  comment: string;
}

function depSymbol(dep: string): string {
  return dep.split('=')[0]!;
}

/**
 * The symbols to set so that every given requirement is met: each requirement's dependencies
 * (when they are not already on) before it, each symbol once. Pure.
 */
export function fragmentLines(reqs: readonly Requirement[], config: KernelConfig = new Map()): FragmentLine[] {
  const lines: FragmentLine[] = [];
  const seen = new Set<string>();
  const rowOf = new Map(reqs.map((r) => [r.symbol, r]));
  const add = (r: Requirement) => {
    if (seen.has(r.symbol)) return;
    seen.add(r.symbol);
    for (const dep of r.dependsOn) {
      const symbol = depSymbol(dep);
      const needY = dep.endsWith('=y');
      const value = tristateOf(config, symbol);
      if (value === 'y' || (value === 'm' && !needY)) continue;
      const row = rowOf.get(symbol);
      if (row) {
        add(row);
      } else if (!seen.has(symbol)) {
        seen.add(symbol);
        lines.push({ symbol, value: 'y', comment: `needed by CONFIG_${r.symbol}` });
      }
    }
    lines.push({ symbol: r.symbol, value: r.moduleOnly ? 'm' : 'y', comment: `${r.level}: ${r.why}` });
  };
  for (const r of reqs) add(r);
  return lines;
}

/** The requirements a fix must add: every missing required one, and the recommended ones unless asked not to. */
export function requirementsToFix(check: KconfigCheck, opts: { requiredOnly: boolean }): CheckedRequirement[] {
  return opts.requiredOnly ? check.requiredMissing : [...check.requiredMissing, ...check.recommendedMissing];
}

export function renderFragment(lines: readonly FragmentLine[], about: string): string {
  const out = [FRAGMENT_HEADER, `# ${about}`];
  for (const l of lines) out.push(`# ${l.comment}`, `CONFIG_${l.symbol}=${l.value}`);
  return out.join('\n') + '\n';
}

/** Parses a fragment kt wrote back into symbol → requested value. */
export function parseFragmentRequests(text: string): Map<string, string> {
  const requests = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) requests.set(m[1]!, m[2]!);
  }
  return requests;
}

/** A requested value Kconfig did not keep (merge_config.sh: "Value requested for X not in final .config"). */
export interface RefusedSymbol {
  symbol: string;
  requested: string;
  actual: string;
  /** The symbol is not defined by any Kconfig file of this tree (an older or newer kernel). */
  unknown: boolean;
}

/** Compares what the fragment asked for with the config olddefconfig wrote. Pure. */
export function refusedSymbols(requests: ReadonlyMap<string, string>, final: KernelConfig, known?: ReadonlySet<string>): RefusedSymbol[] {
  const refused: RefusedSymbol[] = [];
  for (const [symbol, requested] of requests) {
    const actual = final.get(symbol) ?? 'n';
    // y asked, m kept: a tristate limited by a dependency that is a module; still refused.
    if (actual !== requested) refused.push({ symbol, requested, actual, unknown: known ? !known.has(symbol) : false });
  }
  return refused;
}
