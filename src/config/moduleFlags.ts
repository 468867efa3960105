/**
 * `kt run --modules DIR` (the installed modules of the kernel under test) and `--module
 * FILE.ko` (out-of-tree modules loaded into every VM before its first test): checked before
 * anything boots. docs/kernel.md describes both.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError, printable } from '../errors.js';
import { single } from './input.js';

export interface ModuleFlags {
  /** --modules: an installed module tree (lib/modules/<release>, or an INSTALL_MOD_PATH). */
  modulesDir?: string;
  /** --module: absolute paths, in the order given (the load order). */
  extraModules: string[];
}

/** File names insmod (kmod) takes: plain or compressed modules (kmod's libkmod-file.c). */
const MODULE_FILE = /\.ko(\.(xz|zst|gz))?$/;

function checkModuleFile(file: string, shown: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new UsageError('E_MODULE_MISSING', `--module ${printable(shown)} does not exist`, 'give a kernel module built against the kernel kt boots (make -C <tree> M=<dir> modules writes <name>.ko)');
  }
  if (!stat.isFile()) throw new UsageError('E_MODULE_NOT_A_MODULE', `--module ${printable(shown)} is not a regular file`, 'give a .ko file');
  if (!MODULE_FILE.test(file)) throw new UsageError('E_MODULE_NOT_A_MODULE', `--module ${printable(shown)} is not a kernel module (no .ko name)`, 'give a .ko file (make -C <tree> M=<dir> modules)');
  if (file.endsWith('.ko')) {
    const fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(4);
    try {
      fs.readSync(fd, head, 0, 4, 0);
    } finally {
      fs.closeSync(fd);
    }
    if (!head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) {
      throw new UsageError('E_MODULE_NOT_A_MODULE', `--module ${printable(shown)} is not a kernel module (not an ELF file)`, 'give the .ko that make -C <tree> M=<dir> modules built');
    }
  }
}

export function resolveModuleFlags(args: { modules?: string | string[]; module?: string[] }, cwd: string, backend: 'direct' | 'nixos'): ModuleFlags {
  const dir = single('--modules', args.modules);
  const files = args.module ?? [];
  if (backend === 'nixos' && (dir !== undefined || files.length > 0)) {
    throw new UsageError(
      'E_MODULES_NIXOS',
      `${dir !== undefined ? '--modules' : '--module'} works with kt's own image (--backend direct) only`,
      'a NixOS guest loads modules from its system: add them with boot.extraModulePackages and boot.kernelModules (nix/README.md)',
    );
  }
  let modulesDir: string | undefined;
  if (dir !== undefined) {
    if (dir.trim() === '') throw new UsageError('E_EMPTY_VALUE', '--modules was given without a directory', 'give the lib/modules/<release> directory of the kernel');
    modulesDir = path.resolve(cwd, dir);
    if (!fs.existsSync(modulesDir) || !fs.statSync(modulesDir).isDirectory()) {
      throw new UsageError('E_MODULES_DIR', `--modules ${printable(dir)} is not a directory`, 'give the lib/modules/<release> directory of the kernel (make modules_install INSTALL_MOD_PATH=DIR)');
    }
  }
  const extraModules: string[] = [];
  const names = new Map<string, string>();
  for (const f of files) {
    if (f.trim() === '') throw new UsageError('E_EMPTY_VALUE', '--module was given without a file', 'give a .ko file, e.g. --module ./mymod.ko');
    const abs = path.resolve(cwd, f);
    checkModuleFile(abs, f);
    const name = path.basename(abs).replace(MODULE_FILE, '').replaceAll('-', '_');
    const seen = names.get(name);
    if (seen !== undefined) throw new UsageError('E_MODULE_TWICE', `--module ${printable(f)} and --module ${printable(seen)} are the same module (${name})`, 'give each module once');
    names.set(name, f);
    extraModules.push(abs);
  }
  return { ...(modulesDir !== undefined ? { modulesDir } : {}), extraModules };
}
