/**
 * The second initramfs archive of a run: the modules of the kernel under test and the
 * out-of-tree modules given with --module. The kernel unpacks concatenated cpio archives one
 * after the other into the same rootfs (Documentation/driver-api/early-userspace/
 * buffer-format.rst), so this one is simply appended to kt's initramfs. guest/init reads the
 * files named here. Pure.
 */
import path from 'node:path';
import { directoryAdder, type CpioEntry } from '../vm/image/cpio.js';
import { moduleNameOf } from '../vm/image/modulesDep.js';

/** `KT_STAGED_RELEASE=<release>`: guest/init uses the staged modules only when `uname -r` matches. */
export const STAGED_CONF = 'etc/kt-staged.conf';
/** "<name> <path>" per line, in load order: what guest/init insmods before mounting root. */
export const STAGED_EARLY = 'etc/kt-staged-early';
/** Out-of-tree modules (--module), copied by guest/init to GUEST_EXTRA_MODULES_DIR (load.ts). */
export const EXTRA_MODULES_DIR = 'kt-modules';
/** "<name> <file>" per line, in the order given on the command line. */
export const EXTRA_MODULES_LIST = 'etc/kt-extra-modules';

export interface StagedTree {
  release: string;
  /** Files relative to lib/modules/<release>, with contents. */
  files: { path: string; data: Uint8Array }[];
  /** Paths (relative) guest/init insmods before mounting root, in order. */
  early: string[];
}

export interface ExtraModule {
  /** The module's name (modinfo name=, else the file name without .ko). */
  name: string;
  /** File name inside the archive (unique). */
  file: string;
  data: Uint8Array;
}

export interface ExtraArchiveInputs {
  staged?: StagedTree;
  extraModules: ExtraModule[];
}

/** The archive's members, parents first. */
export function extraArchiveEntries(inputs: ExtraArchiveInputs): CpioEntry[] {
  const entries: CpioEntry[] = [];
  const addDir = directoryAdder(entries);
  addDir('etc');
  const { staged } = inputs;
  if (staged) {
    entries.push({ kind: 'file', path: STAGED_CONF, data: Buffer.from(`KT_STAGED_RELEASE=${staged.release}\n`) });
    entries.push({ kind: 'file', path: STAGED_EARLY, data: Buffer.from(staged.early.map((p) => `${moduleNameOf(p)} ${p}\n`).join('')) });
    const root = `lib/modules/${staged.release}`;
    addDir(root);
    for (const f of [...staged.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
      const target = `${root}/${f.path}`;
      addDir(path.posix.dirname(target));
      entries.push({ kind: 'file', path: target, data: f.data });
    }
  }
  if (inputs.extraModules.length > 0) {
    addDir(EXTRA_MODULES_DIR);
    for (const m of inputs.extraModules) entries.push({ kind: 'file', path: `${EXTRA_MODULES_DIR}/${m.file}`, data: m.data });
    entries.push({ kind: 'file', path: EXTRA_MODULES_LIST, data: Buffer.from(inputs.extraModules.map((m) => `${m.name} ${m.file}\n`).join('')) });
  }
  return entries;
}

/** Unique archive file names for the given module paths (two different dirs may hold a.ko). */
export function uniqueFileNames(paths: readonly string[]): string[] {
  const used = new Set<string>();
  return paths.map((p) => {
    const base = path.basename(p);
    let name = base;
    for (let i = 2; used.has(name); i++) name = base.replace(/\.ko$/, `-${i}.ko`);
    used.add(name);
    return name;
  });
}
