/**
 * Which of a kernel's modules go into the guest and which of them kt's initramfs loads before
 * the root filesystem is mounted. Works on depmod's index files (modules.dep, modules.builtin;
 * depmod(8)) of an installed module tree (lib/modules/<release>). Pure.
 */
import { moduleNameOf, parseModulesDep, type ModulesDep } from '../vm/image/modulesDep.js';

export interface ModuleIndex {
  deps: ModulesDep;
  /** Module name (underscores) → path relative to lib/modules/<release>. */
  byName: ReadonlyMap<string, string>;
  /** Names of modules built into the kernel (modules.builtin). */
  builtin: ReadonlySet<string>;
}

export function moduleIndex(depText: string, builtinText: string): ModuleIndex {
  const deps = parseModulesDep(depText);
  const byName = new Map<string, string>();
  for (const p of deps.keys()) byName.set(moduleNameOf(p), p);
  const builtin = new Set(
    builtinText
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map(moduleNameOf),
  );
  return { deps, byName, builtin };
}

export interface ResolvedModules {
  /** Paths to load, every dependency before the module that needs it, each once. */
  load: string[];
  /** Wanted names built into the kernel: nothing to load. */
  builtin: string[];
  /** Wanted names that are neither modules nor built in. */
  missing: string[];
}

/** Like planModuleLoad (src/vm/image/modulesDep.ts), but a name this kernel lacks is reported, not thrown. */
export function resolveModules(index: ModuleIndex, wanted: readonly string[]): ResolvedModules {
  const load: string[] = [];
  const builtin: string[] = [];
  const missing: string[] = [];
  const done = new Set<string>();
  const visit = (modulePath: string, chain: readonly string[]) => {
    if (done.has(modulePath) || chain.includes(modulePath)) return;
    for (const dep of index.deps.get(modulePath) ?? []) visit(dep, [...chain, modulePath]);
    done.add(modulePath);
    load.push(modulePath);
  };
  for (const raw of wanted) {
    const name = raw.replaceAll('-', '_');
    const modulePath = index.byName.get(name);
    if (modulePath !== undefined) visit(modulePath, []);
    else if (index.builtin.has(name)) builtin.push(name);
    else missing.push(name);
  }
  return { load, builtin, missing };
}

/**
 * crc32c has no static dependency on ext4, jbd2 or xfs: they find it through the crypto API
 * (a request_module of "crypto-crc32c" the initramfs cannot serve; ext4 declares it with
 * MODULE_SOFTDEP("pre: crc32c")). Load it with the early modules when it is a module.
 */
export const EARLY_SOFT_DEPENDENCIES = ['crc32c_intel', 'crc32c_generic'] as const;

/** The initramfs' insmod list: the early requirements that are modules, with their dependencies. */
export function planEarlyLoad(index: ModuleIndex, early: readonly string[]): ResolvedModules {
  const soft = EARLY_SOFT_DEPENDENCIES.filter((n) => index.byName.has(n));
  const r = resolveModules(index, [...soft, ...early]);
  return r;
}

/** The modules guest/kt-init modprobes at boot: staged whatever the size of the tree. */
export const KT_INIT_MODULES = ['configfs', 'virtio_console', 'virtio_net', 'virtio_rng', 'pvpanic_pci', 'ext4', 'xfs', 'btrfs', 'overlay', 'loop', 'dm_mod'] as const;

/** Staged trees larger than this carry only the modules a run can use (a distribution config builds thousands). */
export const STAGE_ALL_LIMIT_BYTES = 96 * 1024 * 1024;

/** Files of an installed module tree that are not modules: depmod's indexes and the build's lists. */
export function isIndexFile(relPath: string): boolean {
  return !relPath.includes('/') && relPath.startsWith('modules.');
}

export interface StagedSelection {
  files: string[];
  /** Every module of the tree is staged. */
  all: boolean;
  /** Modules of the tree left out (when not all). */
  leftOut: number;
}

/**
 * The files of the module tree to put into the guest: all of them when they fit under the
 * limit, else the index files and the closure of the wanted modules. Pure.
 */
export function selectStagedFiles(files: readonly { path: string; size: number }[], index: ModuleIndex, wanted: readonly string[], limitBytes = STAGE_ALL_LIMIT_BYTES): StagedSelection {
  const total = files.reduce((n, f) => n + f.size, 0);
  if (total <= limitBytes) return { files: files.map((f) => f.path), all: true, leftOut: 0 };
  const keep = new Set(resolveModules(index, wanted).load);
  const chosen = files.filter((f) => isIndexFile(f.path) || keep.has(f.path)).map((f) => f.path);
  const modules = files.filter((f) => !isIndexFile(f.path)).length;
  return { files: chosen, all: false, leftOut: modules - keep.size };
}
