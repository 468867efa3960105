/**
 * The initramfs file of a run: kt's initramfs followed by the extra archive (extraArchive.ts)
 * in one file, because QEMU's -initrd takes one file and the kernel unpacks concatenated
 * archives in order (Documentation/driver-api/early-userspace/buffer-format.rst). Cached by
 * content under <cacheDir>/initramfs/. Also reads and checks the --module files.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { UsageError } from '../errors.js';
import { writeCpio } from '../vm/image/cpio.js';
import { extraArchiveEntries, uniqueFileNames, type ExtraArchiveInputs, type ExtraModule, type StagedTree } from './extraArchive.js';
import { parseModInfo, releaseOfVermagic } from './modinfo.js';
import { planEarlyLoad, selectStagedFiles } from './plan.js';
import type { StagedModuleTree } from './stage.js';

/** gzip'd newc archive of the extra files (kt's initramfs is gzip too: CONFIG_RD_GZIP). */
export function extraArchiveGz(inputs: ExtraArchiveInputs): Buffer {
  // Level 1: modules compress well enough, and this runs at the start of every run that stages.
  return zlib.gzipSync(writeCpio(extraArchiveEntries(inputs)), { level: 1 });
}

/** Writes (or reuses) base + extra as one file and returns its path. */
export function writeRunInitramfs(baseInitramfs: string, extraGz: Buffer, cacheDir: string): string {
  const base = fs.readFileSync(baseInitramfs);
  const hash = crypto.createHash('sha256').update(base).update(extraGz).digest('hex').slice(0, 16);
  const dir = path.join(cacheDir, 'initramfs');
  const file = path.join(dir, `${hash}.cpio.gz`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, Buffer.concat([base, extraGz]));
  fs.renameSync(tmp, file);
  return file;
}

/** An out-of-tree module file read and checked against the kernel it is for. */
export function readExtraModules(files: readonly string[], release: string): ExtraModule[] {
  const names = uniqueFileNames(files);
  return files.map((file, i) => {
    const data = fs.readFileSync(file);
    const info = file.endsWith('.ko') ? parseModInfo(data) : undefined;
    if (file.endsWith('.ko') && !info) {
      throw new UsageError('E_MODULE_NOT_A_MODULE', `--module ${file} is not a kernel module (no .modinfo section)`, 'give the .ko that make -C <tree> M=<dir> modules built');
    }
    const built = info?.vermagic ? releaseOfVermagic(info.vermagic) : undefined;
    if (built !== undefined && built !== release) {
      throw new UsageError('E_MODULE_WRONG_KERNEL', `--module ${file} was built for ${built}, but the kernel is ${release}`, 'rebuild the module against the kernel kt boots: make -C <tree> M=<dir> modules');
    }
    const name = info?.name ?? path.basename(file).replace(/\.ko(\.(xz|zst|gz))?$/, '').replaceAll('-', '_');
    return { name, file: names[i]!, data };
  });
}

export interface ComposeInputs {
  /** kt's initramfs (the image's). */
  baseInitramfs: string;
  cacheDir: string;
  /** The staged module tree of the kernel, if any. */
  staged?: StagedModuleTree;
  /** Module names guest/init must load before mounting root, when they are modules. */
  early: readonly string[];
  /** Module names the run may use (kept when a large tree is cut down to what a run needs). */
  wanted: readonly string[];
  extraModules: readonly ExtraModule[];
}

export interface ComposedInitramfs {
  file: string;
  /** Module files staged / in the tree; equal when the whole tree is staged. */
  stagedModules: number;
  treeModules: number;
  /** Paths guest/init insmods before mounting root. */
  early: string[];
}

const isModule = (p: string) => /\.ko(\.(xz|zst|gz))?$/.test(p);

/** Reads what is staged, packs the extra archive and writes base + extra (cached). */
export function composeRunInitramfs(inputs: ComposeInputs): ComposedInitramfs {
  let staged: StagedTree | undefined;
  let early: string[] = [];
  let stagedModules = 0;
  let treeModules = 0;
  if (inputs.staged) {
    const tree = inputs.staged;
    early = planEarlyLoad(tree.index, inputs.early).load;
    const extraDeps = inputs.extraModules.flatMap((m) => (m.file.endsWith('.ko') ? (parseModInfo(m.data)?.depends ?? []) : []));
    const selection = selectStagedFiles(tree.files, tree.index, [...inputs.early, ...inputs.wanted, ...extraDeps]);
    staged = { release: tree.release, files: selection.files.map((p) => ({ path: p, data: fs.readFileSync(path.join(tree.dir, p)) })), early };
    treeModules = tree.files.filter((f) => isModule(f.path)).length;
    stagedModules = selection.files.filter(isModule).length;
  }
  const gz = extraArchiveGz({ ...(staged ? { staged } : {}), extraModules: [...inputs.extraModules] });
  return { file: writeRunInitramfs(inputs.baseInitramfs, gz, inputs.cacheDir), stagedModules, treeModules, early };
}
