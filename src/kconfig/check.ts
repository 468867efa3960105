/**
 * The decision of `kt kconfig check`: which requirements (requirements.ts) a kernel config
 * meets, which it meets only as modules, and which it lacks, with the Kconfig dependencies that
 * are off too. Pure.
 */
import { tristateOf, type KernelConfig } from './configText.js';
import { requirementsFor, type KconfigContext, type Requirement } from './requirements.js';

export type RequirementStatus =
  /** Built in (=y), or satisfied by an alternative symbol. */
  | 'ok'
  /** =m and kt stages the modules into the guest. */
  | 'module'
  | 'missing';

/** A dependency of a missing requirement that is not met either. */
export interface MissingDependency {
  symbol: string;
  /** off: "is not set" or =n; absent: not in this config at all (hidden by its own dependencies, or no such symbol in this kernel); module: =m where =y is needed. */
  state: 'off' | 'absent' | 'module';
}

export interface CheckedRequirement extends Requirement {
  /** The value in the config (y, m or n). */
  value: 'y' | 'm' | 'n';
  status: RequirementStatus;
  /** Why a set value still does not do (e.g. =m where kt cannot stage modules). */
  note?: string;
  missingDependencies: MissingDependency[];
}

export interface KconfigCheck {
  context: KconfigContext;
  items: CheckedRequirement[];
  requiredMissing: CheckedRequirement[];
  recommendedMissing: CheckedRequirement[];
  /** Requirements met by modules kt must stage. */
  asModules: CheckedRequirement[];
  /** Nothing required is missing. */
  ok: boolean;
}

function dependencyState(config: KernelConfig, dep: string): MissingDependency | undefined {
  const [symbol, wanted] = dep.split('=') as [string, string | undefined];
  const value = tristateOf(config, symbol);
  if (wanted === 'y') {
    if (value === 'y') return undefined;
    return { symbol, state: value === 'm' ? 'module' : config.has(symbol) ? 'off' : 'absent' };
  }
  if (value !== 'n') return undefined;
  return { symbol, state: config.has(symbol) ? 'off' : 'absent' };
}

/** Why =m does not count for this requirement, or undefined when it does. */
function moduleRefusal(r: Requirement, config: KernelConfig, ctx: KconfigContext): string | undefined {
  if (r.kind !== 'tristate' || r.builtinOnly) return `built as a module (=m), but it must be built in (=y): it is needed before any module can load`;
  if (ctx.backend === 'nixos') return 'built as a module (=m), but a NixOS guest loads only the modules of its own kernel: build it in (=y)';
  if (!ctx.modulesStaged) {
    return 'built as a module (=m), but kt has no modules of this kernel to stage: run kt in the kernel tree (it stages the tree\'s modules), pass --modules DIR, or build it in (=y)';
  }
  if (tristateOf(config, 'MODULES') !== 'y') return 'built as a module (=m), but CONFIG_MODULES is off';
  return undefined;
}

export function checkRequirement(r: Requirement, config: KernelConfig, ctx: KconfigContext): CheckedRequirement {
  const value = tristateOf(config, r.symbol);
  const alternatives = (r.anyOf ?? []).map((s) => tristateOf(config, s));
  const base = { ...r, value, missingDependencies: [] as MissingDependency[] };
  if (r.moduleOnly && value === 'y') {
    return { ...base, status: 'missing', note: `built in (=y), but it must be a module (=m): ${r.moduleOnly}` };
  }
  if (value === 'y' || alternatives.includes('y')) return { ...base, status: 'ok' };
  if (value === 'm' || alternatives.includes('m')) {
    const refusal = moduleRefusal(r, config, ctx);
    if (refusal === undefined) return { ...base, status: 'module', note: 'built as a module (=m): kt stages it into the guest' };
    return { ...base, status: 'missing', note: refusal, missingDependencies: missingDependencies(r, config) };
  }
  return { ...base, status: 'missing', missingDependencies: missingDependencies(r, config) };
}

function missingDependencies(r: Requirement, config: KernelConfig): MissingDependency[] {
  return r.dependsOn.map((d) => dependencyState(config, d)).filter((d): d is MissingDependency => d !== undefined);
}

/** Checks a parsed config against everything kt needs in this context. */
export function checkKernelConfig(config: KernelConfig, ctx: KconfigContext): KconfigCheck {
  const items = requirementsFor(ctx).map((r) => checkRequirement(r, config, ctx));
  const requiredMissing = items.filter((i) => i.level === 'required' && i.status === 'missing');
  return {
    context: ctx,
    items,
    requiredMissing,
    recommendedMissing: items.filter((i) => i.level === 'recommended' && i.status === 'missing'),
    asModules: items.filter((i) => i.status === 'module'),
    ok: requiredMissing.length === 0,
  };
}
