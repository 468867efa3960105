/**
 * The check `kt run` makes before it boots a kernel of the user's: find its config (the
 * tree's .config, else the config built into the bzImage), decide what it lacks for this run,
 * and turn missing requirements into an error that names them and the fix — instead of a boot
 * that times out minutes later.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { checkKernelConfig, type KconfigCheck } from './check.js';
import { configHeaderVersion, parseKernelConfig } from './configText.js';
import { readIkconfig } from './ikconfig.js';
import { treeOfKernel } from './locate.js';
import { contextFlags, type ConfigSource } from './render.js';
import type { KconfigContext, SuiteInfo } from './requirements.js';

export interface RunKernel {
  /** The kernel to boot; undefined = the image's own (nothing to check). */
  kernel?: string;
  kernelSource: 'flag' | 'tree' | 'image';
  /** The kernel tree kt runs in, when it does. */
  kernelTree?: string;
  backend: 'direct' | 'nixos';
  /** --rootfs (docs/virtiofs.md); image when not given. */
  rootfs?: 'image' | 'virtiofs';
  transport: 'virtio-serial' | 'tcp';
  suite: SuiteInfo;
  /** --modules DIR. */
  modulesDir?: string;
  /** --module was given. */
  extraModules: boolean;
  cwd: string;
}

/** Where the modules of the kernel come from, when kt can stage them. */
export type ModulesFrom = { kind: 'tree'; tree: string } | { kind: 'dir'; dir: string };

export type KernelForRun =
  | { checked: false; note?: string; modulesFrom?: ModulesFrom }
  | {
      checked: true;
      source: ConfigSource;
      check: KconfigCheck;
      /** CONFIG_ names of the missing required options (empty: the kernel can boot). */
      missing: string[];
      modulesFrom?: ModulesFrom;
      /** Lines for the user: modules in use, recommended options missing, a stale config. */
      notes: string[];
    };

/** The tree whose modules kt can stage: the run's tree, or the tree a --kernel was built in. */
function treeOf(k: RunKernel): string | undefined {
  if (k.kernelSource === 'tree') return k.kernelTree ?? (fs.existsSync(path.join(k.cwd, '.config')) ? k.cwd : undefined);
  if (k.kernelSource === 'flag' && k.kernel) return treeOfKernel(k.kernel);
  return undefined;
}

function modulesFromOf(k: RunKernel, tree: string | undefined): ModulesFrom | undefined {
  if (k.modulesDir) return { kind: 'dir', dir: k.modulesDir };
  // make (or make modules) writes modules.order; without it the tree has no modules to stage.
  if (tree && fs.existsSync(path.join(tree, 'modules.order'))) return { kind: 'tree', tree };
  return undefined;
}

function mtime(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0;
}

function list(names: string[], max = 8): string {
  return names.length <= max ? names.join(' ') : `${names.slice(0, max).join(' ')} and ${names.length - max} more`;
}

/** Finds and checks the config of the kernel a run boots. Never throws for a missing config: that is a note. */
export async function checkKernelForRun(k: RunKernel): Promise<KernelForRun> {
  if (k.kernelSource === 'image' || !k.kernel) return { checked: false, ...(k.modulesDir ? { modulesFrom: { kind: 'dir', dir: k.modulesDir } } : {}) };
  const tree = treeOf(k);
  const modulesFrom = modulesFromOf(k, tree);
  const notes: string[] = [];
  let source: ConfigSource | undefined;
  let text: string | undefined;
  const treeConfig = tree ? path.join(tree, '.config') : undefined;
  if (k.kernelSource === 'tree' && treeConfig && fs.existsSync(treeConfig)) {
    text = fs.readFileSync(treeConfig, 'utf8');
    source = { kind: 'tree', path: treeConfig, tree: tree! };
    if (mtime(treeConfig) > mtime(k.kernel)) notes.push(`${treeConfig} is newer than ${k.kernel}: checking the .config; rebuild if you changed it since`);
  } else {
    const embedded = await readIkconfig(k.kernel);
    if (embedded !== undefined) {
      text = embedded;
      source = { kind: 'ikconfig', path: k.kernel, ...(tree ? { tree } : {}) };
    } else if (treeConfig && fs.existsSync(treeConfig)) {
      text = fs.readFileSync(treeConfig, 'utf8');
      source = { kind: 'tree', path: treeConfig, tree: tree! };
    }
  }
  if (!source || text === undefined) {
    return {
      checked: false,
      note: `no config found for ${k.kernel} (no .config of its tree, no CONFIG_IKCONFIG in it): not checked; kt kconfig check --config FILE checks one by hand`,
      ...(modulesFrom ? { modulesFrom } : {}),
    };
  }
  const version = configHeaderVersion(text);
  if (version) source.version = version;
  const ctx: KconfigContext = {
    backend: k.backend,
    rootfs: k.rootfs ?? 'image',
    transport: k.transport,
    suite: k.suite,
    modulesStaged: k.backend === 'direct' && modulesFrom !== undefined,
    extraModules: k.extraModules,
  };
  const check = checkKernelConfig(parseKernelConfig(text), ctx);
  const asModules = check.asModules.filter((i) => i.level === 'required').map((i) => `CONFIG_${i.symbol}=m`);
  if (asModules.length > 0) notes.push(`${asModules.length} required option${asModules.length === 1 ? ' is a module' : 's are modules'} (${list(asModules)}): kt stages the kernel's modules into the guest`);
  if (check.recommendedMissing.length > 0) {
    notes.push(`${check.recommendedMissing.length} recommended option${check.recommendedMissing.length === 1 ? '' : 's'} missing (${list(check.recommendedMissing.map((i) => `CONFIG_${i.symbol}`))}): kt kconfig check${source.tree ? ` ${source.tree}` : ` --kernel ${k.kernel}`} says what each is for`);
  }
  return { checked: true, source, check, missing: check.requiredMissing.map((i) => `CONFIG_${i.symbol}`), ...(modulesFrom ? { modulesFrom } : {}), notes };
}

/** The error kt run stops with when required options are missing; undefined when none is. */
export function kernelConfigError(r: KernelForRun, kernel: string): UsageError | undefined {
  if (!r.checked || r.missing.length === 0) return undefined;
  const from = r.source.kind === 'ikconfig' ? 'its built-in config' : r.source.path;
  const flags = contextFlags(r.check.context);
  const why = r.check.requiredMissing.map((i) => `  CONFIG_${i.symbol}: ${i.why}${i.note ? ` (${i.note})` : ''}`).join('\n');
  const hint = r.source.tree
    ? `kt kconfig fix ${r.source.tree}${flags} && make -C ${r.source.tree} -j$(nproc), then run kt again (kt kconfig check ${r.source.tree}${flags} explains every option)`
    : `enable them in the tree this kernel was built from (kt kconfig fix TREE${flags}) and rebuild; kt kconfig check --kernel ${kernel}${flags} explains every option`;
  return new UsageError('E_KCONFIG_MISSING', `the kernel ${kernel} lacks ${r.missing.length} option${r.missing.length === 1 ? '' : 's'} kt needs (checked ${from}): ${r.missing.join(' ')}\n${why}`, hint);
}
