/**
 * `kt kconfig check` output: a readable report and a JSON document, both from a KconfigCheck.
 * Pure.
 */
import { shellJoin } from '../util/shell.js';
import type { CheckedRequirement, KconfigCheck, MissingDependency } from './check.js';
import type { KconfigContext } from './requirements.js';

/** Where the checked config came from, for the report's first line. */
export interface ConfigSource {
  kind: 'tree' | 'file' | 'ikconfig';
  /** The .config file, or the bzImage the config was extracted from. */
  path: string;
  /** The kernel tree (or build directory) when there is one: `kt kconfig fix` works on it. */
  tree?: string;
  /** Kernel version from the config's header, when it has one. */
  version?: string;
}

function describeDependency(d: MissingDependency): string {
  const state = d.state === 'off' ? 'off' : d.state === 'module' ? '=m, needs =y' : 'not in this config';
  return `CONFIG_${d.symbol} (${state})`;
}

function itemLines(item: CheckedRequirement, width: number): string[] {
  const name = `CONFIG_${item.symbol}`;
  const lines = [`  ${name.padEnd(width)}  ${item.why}`];
  const indent = ' '.repeat(width + 4);
  if (item.anyOf?.length) lines.push(`${indent}or ${item.anyOf.map((s) => `CONFIG_${s}`).join(', ')}`);
  if (item.note) lines.push(`${indent}${item.note}`);
  if (item.missingDependencies.length > 0) {
    lines.push(`${indent}depends on ${item.missingDependencies.map(describeDependency).join(', ')}: missing too`);
  }
  return lines;
}

function contextLine(check: KconfigCheck): string {
  const c = check.context;
  const fstyps = [...new Set(c.suite.sections.map((s) => s.fstyp))].join(', ');
  return `backend ${c.backend}, rootfs ${c.rootfs}, transport ${c.transport}, suite ${c.suite.name} (FSTYP=${fstyps})`;
}

/** The options that reproduce a context on kt kconfig's command line (defaults left out). */
export function contextFlags(ctx: KconfigContext): string {
  const words = [
    ...(ctx.suite.selection ?? []),
    ...(ctx.backend !== 'direct' ? ['--backend', ctx.backend] : []),
    ...(ctx.rootfs !== 'image' ? ['--rootfs', ctx.rootfs] : []),
    ...(ctx.transport !== 'virtio-serial' ? ['--transport', ctx.transport] : []),
  ];
  return words.length > 0 ? ` ${shellJoin(words)}` : '';
}

export function fixCommandFor(source: ConfigSource, ctx: KconfigContext): string {
  if (source.tree) return `kt kconfig fix ${source.tree}${contextFlags(ctx)}`;
  return `kt kconfig fix TREE${contextFlags(ctx)} (in the kernel tree this config was built from)`;
}

/** The readable report; lists every missing requirement with why and what it depends on. */
export function renderCheckText(check: KconfigCheck, source: ConfigSource): string {
  const out: string[] = [];
  const from = source.kind === 'ikconfig' ? `the config inside ${source.path} (IKCONFIG)` : source.path;
  out.push(`kt kconfig: ${from}${source.version ? ` (Linux ${source.version})` : ''}`);
  out.push(`kt kconfig: for ${contextLine(check)}`);
  const width = Math.max(0, ...check.items.map((i) => i.symbol.length + 7));
  const section = (title: string, items: CheckedRequirement[]) => {
    if (items.length === 0) return;
    out.push('', title);
    for (const item of items) out.push(...itemLines(item, width));
  };
  section(`Required, missing (${check.requiredMissing.length}):`, check.requiredMissing);
  section(
    `Satisfied by modules (${check.asModules.length}; kt stages the kernel's modules into the guest):`,
    check.asModules.map((i) => ({ ...i, note: undefined })),
  );
  section(`Recommended, missing (${check.recommendedMissing.length}; some fstests tests are skipped or crash reports are poorer without them):`, check.recommendedMissing);
  out.push('');
  if (check.ok) {
    const ok = check.items.filter((i) => i.level === 'required').length;
    const modules = check.asModules.filter((i) => i.level === 'required').length;
    out.push(`kt kconfig: all ${ok} required options are set${modules ? ` (${modules} as modules)` : ''}`);
    if (check.recommendedMissing.length > 0) out.push(`kt kconfig: to add the recommended ones too: ${fixCommandFor(source, check.context)}`);
  } else {
    out.push(`kt kconfig: ${check.requiredMissing.length} required option${check.requiredMissing.length === 1 ? ' is' : 's are'} missing: ${check.requiredMissing.map((i) => `CONFIG_${i.symbol}`).join(' ')}`);
    out.push(`kt kconfig: fix: ${fixCommandFor(source, check.context)}, then rebuild (make -j$(nproc))`);
  }
  return out.join('\n') + '\n';
}

export interface CheckJson {
  source: ConfigSource;
  context: KconfigCheck['context'];
  ok: boolean;
  required: { missing: string[]; asModules: string[] };
  recommended: { missing: string[] };
  items: {
    symbol: string;
    level: string;
    status: string;
    value: string;
    why: string;
    topic: string;
    note?: string;
    anyOf?: readonly string[];
    module?: string;
    missingDependencies: MissingDependency[];
  }[];
  fix: string;
}

export function renderCheckJson(check: KconfigCheck, source: ConfigSource): CheckJson {
  return {
    source,
    context: check.context,
    ok: check.ok,
    required: {
      missing: check.requiredMissing.map((i) => `CONFIG_${i.symbol}`),
      asModules: check.asModules.filter((i) => i.level === 'required').map((i) => `CONFIG_${i.symbol}`),
    },
    recommended: { missing: check.recommendedMissing.map((i) => `CONFIG_${i.symbol}`) },
    items: check.items.map((i) => ({
      symbol: `CONFIG_${i.symbol}`,
      level: i.level,
      status: i.status,
      value: i.value,
      why: i.why,
      topic: i.topic,
      ...(i.note ? { note: i.note } : {}),
      ...(i.anyOf ? { anyOf: i.anyOf.map((s) => `CONFIG_${s}`) } : {}),
      ...(i.module ? { module: i.module } : {}),
      missingDependencies: i.missingDependencies,
    })),
    fix: fixCommandFor(source, check.context),
  };
}
