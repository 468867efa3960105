/**
 * `kt kconfig check|fix|fragment`: is this kernel config good for kt, and make it so.
 * Exit codes: 0 nothing required is missing, 1 something required is missing, 2 usage error
 * (no config, bad flag), 3 host error (make or merge_config.sh failed).
 */
import fs from 'node:fs';
import path from 'node:path';
import { resolveKernelNeeds } from '../config/runConfig.js';
import type { RunSection } from '../config/suites.js';
import { ExitCode, UsageError } from '../errors.js';
import { checkKernelConfig } from '../kconfig/check.js';
import { parseKernelConfig } from '../kconfig/configText.js';
import { kconfigContext } from '../kconfig/context.js';
import { fixKernelConfig } from '../kconfig/fix.js';
import { renderFixReport } from '../kconfig/fixReport.js';
import { fragmentLines, renderFragment, requirementsToFix } from '../kconfig/fragment.js';
import { locateConfig, type LocatedConfig } from '../kconfig/locate.js';
import { renderCheckJson, renderCheckText } from '../kconfig/render.js';
import type { KconfigContext, SectionInfo } from '../kconfig/requirements.js';
import { sectionSelection } from './kconfigSelection.js';

/** Flags as yargs hands them over: a flag given twice arrives as an array. */
type Flag = string | string[] | undefined;

export interface KconfigRawArgs {
  action: string;
  tree?: Flag;
  config?: Flag;
  kernel?: Flag;
  suite?: Flag;
  section?: Flag;
  backend?: Flag;
  rootfs?: Flag;
  transport?: Flag;
  modules?: Flag;
  json?: boolean | boolean[];
  requiredOnly?: boolean | boolean[];
  all?: boolean | boolean[];
}

export interface KconfigArgs {
  action: string;
  tree?: string;
  config?: string;
  kernel?: string;
  suite?: string;
  /** -c: SUITE/SECTION, comma lists, SUITE/all. */
  sections: string[];
  backend?: string;
  rootfs?: string;
  transport?: string;
  modules?: string;
  json: boolean;
  requiredOnly: boolean;
  all: boolean;
}

function one(name: string, value: Flag): string | undefined {
  if (Array.isArray(value)) {
    throw new UsageError('E_FLAG_REPEATED', `${name} was given ${value.length} times (${value.join(', ')})`, `give ${name} once`);
  }
  if (value !== undefined && value.trim() === '') throw new UsageError('E_EMPTY_VALUE', `${name} was given without a value`, `give ${name} a value, or leave it out`);
  return value;
}

function bool(value: boolean | boolean[] | undefined): boolean {
  return Array.isArray(value) ? (value[value.length - 1] ?? false) : (value ?? false);
}

function normalize(raw: KconfigRawArgs): KconfigArgs {
  const opt = (name: string, v: Flag) => {
    const x = one(name, v);
    return x === undefined ? {} : { [name.replace(/^--/, '')]: x };
  };
  return {
    action: raw.action,
    ...opt('tree', raw.tree),
    ...opt('--config', raw.config),
    ...opt('--kernel', raw.kernel),
    ...opt('--suite', raw.suite),
    sections: (Array.isArray(raw.section) ? raw.section : raw.section === undefined ? [] : [raw.section]).flatMap((s) => s.split(',')),
    ...opt('--backend', raw.backend),
    ...opt('--rootfs', raw.rootfs),
    ...opt('--transport', raw.transport),
    ...opt('--modules', raw.modules),
    json: bool(raw.json),
    requiredOnly: bool(raw.requiredOnly),
    all: bool(raw.all),
  };
}

export function sectionInfo(s: RunSection): SectionInfo {
  return { name: s.name, fstyp: s.fstyp, mkfsOptions: s.mkfsOptions, mountOptions: s.mountOptions, env: s.env, ...(s.devices.rtdevBytes !== undefined ? { realtime: true } : {}) };
}

export function contextFor(args: KconfigArgs, located: { source: LocatedConfig['source'] } | undefined, cwd: string): KconfigContext {
  // What kt run in this directory would boot and test: -c, --suite, --backend, --rootfs and
  // --transport, else kt.yaml's sections:, suite:, backend:, rootfs: and transport: (its paths
  // relative to it), read by the same code as kt run's (src/config/runConfig.ts).
  const needs = resolveKernelNeeds(
    {
      ...(args.sections.length > 0 ? { section: args.sections } : {}),
      ...(args.suite !== undefined ? { suite: args.suite } : {}),
      ...(args.backend !== undefined ? { backend: args.backend } : {}),
      ...(args.rootfs !== undefined ? { rootfs: args.rootfs } : {}),
      ...(args.transport !== undefined ? { transport: args.transport } : {}),
    },
    process.env,
    cwd,
  );
  const sections = needs.sections;
  const suiteName = args.suite ?? (args.sections.length > 0 ? args.sections.join(',') : sections.map((s) => s.name).join(','));
  if (args.modules !== undefined && !fs.existsSync(path.resolve(cwd, args.modules))) {
    throw new UsageError('E_MODULES_DIR', `--modules ${args.modules} does not exist`, 'give the lib/modules/<release> directory of the kernel (make modules_install INSTALL_MOD_PATH=DIR)');
  }
  // A tree's modules are staged by kt run in that tree; otherwise only --modules DIR gives modules.
  const modulesStaged = args.modules !== undefined || located?.source.tree !== undefined;
  return kconfigContext({
    backend: needs.backend,
    rootfs: needs.rootfs.kind,
    transport: needs.transport,
    suite: {
      name: suiteName,
      sections: sections.map(sectionInfo),
      // From the sections as resolved, kt.yaml's too, as kt run's hint (src/cli/kconfigSelection.ts).
      selection: sectionSelection(sections, cwd),
    },
    modulesStaged,
  });
}

async function check(args: KconfigArgs, cwd: string): Promise<number> {
  const located = await locateConfig({ tree: args.tree, config: args.config, kernel: args.kernel, cwd });
  const ctx = contextFor(args, located, cwd);
  const result = checkKernelConfig(parseKernelConfig(located.text), ctx);
  if (args.json) process.stdout.write(JSON.stringify(renderCheckJson(result, located.source), null, 2) + '\n');
  else process.stdout.write(renderCheckText(result, located.source));
  return result.ok ? ExitCode.ok : ExitCode.testFailures;
}

async function fragment(args: KconfigArgs, cwd: string): Promise<number> {
  const located = args.all ? undefined : await locateConfig({ tree: args.tree, config: args.config, kernel: args.kernel, cwd });
  const ctx = contextFor(args, located, cwd);
  const config = located ? parseKernelConfig(located.text) : new Map<string, string>();
  const result = checkKernelConfig(config, ctx);
  const reqs = requirementsToFix(result, { requiredOnly: args.requiredOnly });
  const about = located ? `what ${located.source.path} lacks` : 'everything kt needs and recommends';
  process.stdout.write(renderFragment(fragmentLines(reqs, config), `${about}, for ${ctx.backend}/${ctx.rootfs}, suite ${ctx.suite.name}`));
  return ExitCode.ok;
}

function fix(args: KconfigArgs, cwd: string): number {
  if (args.config !== undefined || args.kernel !== undefined) {
    throw new UsageError('E_KCONFIG_USAGE', 'kt kconfig fix works on a kernel tree, not on --config or --kernel', 'run it in the tree (or give its path): kt kconfig fix ~/linux');
  }
  const tree = path.resolve(cwd, args.tree ?? '.');
  const ctx = contextFor(args, { source: { kind: 'tree', path: path.join(tree, '.config'), tree } }, cwd);
  const report = fixKernelConfig({ tree, context: ctx, requiredOnly: args.requiredOnly });
  process.stdout.write(renderFixReport(report));
  return report.after.ok ? ExitCode.ok : ExitCode.testFailures;
}

export async function kconfigCommandCli(raw: KconfigRawArgs): Promise<number> {
  const cwd = process.cwd();
  const args = normalize(raw);
  switch (args.action) {
    case 'check':
      return check(args, cwd);
    case 'fix':
      return fix(args, cwd);
    case 'fragment':
      return fragment(args, cwd);
    default:
      throw new UsageError('E_KCONFIG_USAGE', `unknown action "${args.action}"`, 'use kt kconfig check, kt kconfig fix or kt kconfig fragment');
  }
}
