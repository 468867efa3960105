/**
 * What `kt kconfig fix` did, as data and as text. Pure.
 */
import type { ConfigChange } from './configText.js';
import type { KconfigCheck } from './check.js';
import type { RefusedSymbol } from './fragment.js';

export interface FixReport {
  tree: string;
  /** Nothing was missing: no file was written or changed. */
  nothingToDo: boolean;
  fragment?: string;
  backup?: string;
  /** Every change, one "CONFIG_X: old → new" per line (kt's own file in the build directory). */
  changesFile?: string;
  /** Symbols the fragment asked for. */
  requested: string[];
  changes: ConfigChange[];
  refused: RefusedSymbol[];
  after: KconfigCheck;
}

/** Consequences listed before the report points to the changes file instead. */
const IMPLIED_SHOWN = 15;

export function renderChange(c: ConfigChange): string {
  const v = (x: string) => (x === 'n' ? 'n (not set)' : x);
  return `  CONFIG_${c.symbol}: ${v(c.from)} → ${v(c.to)}`;
}

export function renderFixReport(r: FixReport): string {
  const out: string[] = [];
  if (r.nothingToDo) {
    out.push(`kt kconfig fix: ${r.tree}/.config already has everything kt needs and recommends; nothing changed`);
    return out.join('\n') + '\n';
  }
  out.push(`kt kconfig fix: wrote kt's fragment ${r.fragment} and merged it into ${r.tree}/.config`);
  out.push(`kt kconfig fix: the previous .config is saved as ${r.backup}`);
  const requested = new Set(r.requested);
  const asked = r.changes.filter((c) => requested.has(c.symbol));
  const implied = r.changes.filter((c) => !requested.has(c.symbol));
  if (asked.length > 0) {
    out.push('', `Changed as asked (${asked.length}):`);
    for (const c of asked) out.push(renderChange(c));
  }
  if (implied.length > 0) {
    out.push('', `Changed by Kconfig as a consequence (selects and defaults, ${implied.length}):`);
    for (const c of implied.slice(0, IMPLIED_SHOWN)) out.push(renderChange(c));
    if (implied.length > IMPLIED_SHOWN) out.push(`  … and ${implied.length - IMPLIED_SHOWN} more: every change is in ${r.changesFile ?? 'the changes file'}`);
  }
  if (r.refused.length > 0) {
    out.push('', `Refused by Kconfig (${r.refused.length}; merge_config.sh would say "Value requested for CONFIG_X not in final .config"):`);
    const items = new Map(r.after.items.map((i) => [i.symbol, i]));
    for (const s of r.refused) {
      const why = s.unknown
        ? 'no such symbol in this kernel'
        : (() => {
            const deps = items.get(s.symbol)?.missingDependencies ?? [];
            return deps.length > 0 ? `its dependencies are off: ${deps.map((d) => `CONFIG_${d.symbol}`).join(', ')}` : 'a dependency or choice of this kernel rules it out';
          })();
      out.push(`  CONFIG_${s.symbol}: requested ${s.requested}, got ${s.actual === 'n' ? 'n (not set)' : s.actual} (${why})`);
    }
  }
  out.push('');
  if (r.after.ok) {
    out.push(`kt kconfig fix: all required options are set now; rebuild: make -j$(nproc)`);
  } else {
    out.push(`kt kconfig fix: still missing (required): ${r.after.requiredMissing.map((i) => `CONFIG_${i.symbol}`).join(' ')}`);
    out.push(`kt kconfig fix: enable them by hand (make menuconfig) and check again: kt kconfig check ${r.tree}`);
  }
  return out.join('\n') + '\n';
}
