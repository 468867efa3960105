/**
 * Finding the kernel config to check: a tree's (or O= build directory's) .config, a config
 * file, or the config built into a kernel image (ikconfig.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { parseBzImageHeader } from './bzImage.js';
import { configHeaderVersion, looksLikeKernelConfig } from './configText.js';
import { readIkconfig } from './ikconfig.js';
import type { ConfigSource } from './render.js';

export interface LocatedConfig {
  source: ConfigSource;
  text: string;
}

export interface LocateRequest {
  /** A kernel tree or build directory (positional TREE); a file is taken as a config or an image. */
  tree?: string;
  /** --config FILE */
  config?: string;
  /** --kernel FILE */
  kernel?: string;
  cwd: string;
}

const FIX_HINT = 'run in a configured kernel tree (after make defconfig or similar), or give TREE, --config FILE or --kernel bzImage';

function readConfigFile(file: string, what: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError('E_KCONFIG_NO_CONFIG', `${what} ${file} does not exist`, FIX_HINT);
    throw new UsageError('E_KCONFIG_UNREADABLE', `cannot read ${what} ${file} (${code ?? String(err)})`, `make ${file} readable, or give another config with --config FILE`);
  }
  if (!looksLikeKernelConfig(text)) {
    throw new UsageError('E_KCONFIG_NOT_A_CONFIG', `${file} is not a kernel config (no CONFIG_ lines)`, 'give the .config of a kernel build (make defconfig writes one)');
  }
  return text;
}

/** A kernel tree or an O= build directory: where `make` runs and .config lives. */
export function isKernelBuildDir(dir: string): boolean {
  return (
    (fs.existsSync(path.join(dir, 'Kbuild')) && fs.existsSync(path.join(dir, 'arch'))) ||
    // O= build directories get a Makefile wrapper and a `source` link (top-level Makefile, outputmakefile).
    fs.existsSync(path.join(dir, 'source', 'Kbuild'))
  );
}

function fromTree(dir: string): LocatedConfig {
  const file = path.join(dir, '.config');
  const text = readConfigFile(file, isKernelBuildDir(dir) ? 'the kernel config' : 'kernel config');
  return { source: { kind: 'tree', path: file, tree: dir, ...versionOf(text) }, text };
}

function versionOf(text: string): { version?: string } {
  const version = configHeaderVersion(text);
  return version ? { version } : {};
}

/** The tree a bzImage was built in (…/arch/x86/boot/bzImage), when its .config is still there. */
export function treeOfKernel(kernel: string): string | undefined {
  const abs = path.resolve(kernel);
  const rel = path.join('arch', 'x86', 'boot', 'bzImage');
  if (!abs.endsWith(path.sep + rel)) return undefined;
  const tree = abs.slice(0, -(rel.length + 1));
  return fs.existsSync(path.join(tree, '.config')) ? tree : undefined;
}

/** The config of a kernel image: IKCONFIG, else the .config of the tree it was built in. Undefined when neither exists. */
export async function configOfKernel(kernel: string): Promise<LocatedConfig | undefined> {
  const embedded = await readIkconfig(kernel);
  if (embedded !== undefined) return { source: { kind: 'ikconfig', path: kernel, ...versionOf(embedded), ...treeField(kernel) }, text: embedded };
  const tree = treeOfKernel(kernel);
  return tree ? fromTree(tree) : undefined;
}

function treeField(kernel: string): { tree?: string } {
  const tree = treeOfKernel(kernel);
  return tree ? { tree } : {};
}

function looksLikeImage(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(0x250);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return parseBzImageHeader(head.subarray(0, n)) !== undefined || head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    fs.closeSync(fd);
  }
}

export async function locateConfig(req: LocateRequest): Promise<LocatedConfig> {
  const given = [req.tree, req.config, req.kernel].filter((x) => x !== undefined);
  if (given.length > 1) {
    throw new UsageError('E_KCONFIG_USAGE', 'give one of TREE, --config FILE or --kernel FILE', 'e.g. kt kconfig check ~/linux, or kt kconfig check --kernel arch/x86/boot/bzImage');
  }
  if (req.config !== undefined) {
    const file = path.resolve(req.cwd, req.config);
    const text = readConfigFile(file, 'config file');
    return { source: { kind: 'file', path: file, ...versionOf(text) }, text };
  }
  if (req.kernel !== undefined) {
    const file = path.resolve(req.cwd, req.kernel);
    if (!fs.existsSync(file)) {
      throw new UsageError('E_KCONFIG_NO_CONFIG', `kernel image ${file} does not exist`, 'give a bzImage to --kernel (arch/x86/boot/bzImage after make)');
    }
    const found = await configOfKernel(file);
    if (!found) {
      throw new UsageError(
        'E_KCONFIG_NO_CONFIG',
        `no kernel config found for ${file}: it has no embedded config (CONFIG_IKCONFIG) and no .config of its tree next to it`,
        'pass the .config it was built with (--config FILE), or build it with CONFIG_IKCONFIG=y',
      );
    }
    return found;
  }
  const target = path.resolve(req.cwd, req.tree ?? '.');
  if (!fs.existsSync(target)) throw new UsageError('E_KCONFIG_NO_CONFIG', `${target} does not exist`, FIX_HINT);
  if (fs.statSync(target).isFile()) {
    if (looksLikeImage(target)) return locateConfig({ kernel: target, cwd: req.cwd });
    return locateConfig({ config: target, cwd: req.cwd });
  }
  if (!fs.existsSync(path.join(target, '.config'))) {
    const what = isKernelBuildDir(target) ? `${target} is a kernel tree but has no .config` : `no kernel config found: ${path.join(target, '.config')} does not exist`;
    throw new UsageError('E_KCONFIG_NO_CONFIG', what, isKernelBuildDir(target) ? `configure it first (make defconfig, or copy a config to ${path.join(target, '.config')})` : FIX_HINT);
  }
  return fromTree(target);
}
