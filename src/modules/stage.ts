/**
 * Staging the modules of the kernel under test: a built tree's modules are installed with the
 * kernel's own `make modules_install` (which also signs and compresses them as the config
 * says, and runs depmod) into kt's cache, keyed by a hash of what was built, so the next run
 * reuses them; or an installed lib/modules/<release> tree is used as it is (--modules DIR).
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { HostError, UsageError } from '../errors.js';
import { moduleIndex, type ModuleIndex } from './plan.js';

export interface StagedModuleTree {
  release: string;
  /** The lib/modules/<release> directory. */
  dir: string;
  index: ModuleIndex;
  /** Regular files under dir, relative, with sizes (the build/source links are left out). */
  files: { path: string; size: number }[];
  /** Where it came from, for messages. */
  origin: string;
}

/** The tree was built with modules: `make modules` (or plain `make`) wrote modules.order. */
export function treeHasModules(tree: string): boolean {
  return fs.existsSync(path.join(tree, 'modules.order'));
}

/** Module paths of modules.order: "fs/xfs/xfs.ko" (Linux ≤ 6.1) or "fs/xfs/xfs.o" (6.2+). */
export function modulesOrderPaths(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.replace(/\.o$/, '.ko'));
}

/** What the staged copy depends on: the release, the config and every built module's size and mtime. */
export function treeModulesKey(tree: string, release: string): string {
  const h = crypto.createHash('sha256');
  h.update(`release ${release}\n`);
  for (const f of ['.config', 'modules.order', 'modules.builtin']) {
    const p = path.join(tree, f);
    h.update(`${f}\n`);
    if (fs.existsSync(p)) h.update(fs.readFileSync(p));
  }
  const order = fs.existsSync(path.join(tree, 'modules.order')) ? fs.readFileSync(path.join(tree, 'modules.order'), 'utf8') : '';
  for (const rel of modulesOrderPaths(order)) {
    const st = fs.statSync(path.join(tree, rel), { throwIfNoEntry: false });
    h.update(`${rel} ${st ? `${st.size} ${st.mtimeMs}` : 'missing'}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

function listFiles(dir: string): { path: string; size: number }[] {
  const out: { path: string; size: number }[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      // build/ and source/ are links back to the tree (modules_install); nothing the guest needs.
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.push({ path: r, size: fs.statSync(path.join(dir, r)).size });
    }
  };
  walk('');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function readIndex(dir: string): ModuleIndex {
  const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), 'utf8') : '');
  return moduleIndex(read('modules.dep'), read('modules.builtin'));
}

function runMake(args: string[], cwd: string, onLine?: (line: string) => void): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('make', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (c: Buffer) => {
      const text = c.toString();
      output += text;
      if (output.length > 1 << 20) output = output.slice(-(1 << 19));
      if (onLine) for (const l of text.split('\n')) if (l.trim()) onLine(l);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(new HostError('E_MODULES_INSTALL', `cannot run make (${err.code ?? err.message})`, 'install make (scripts/install-host-deps)')),
    );
    child.on('close', (status) => resolve({ status, output }));
  });
}

/**
 * The tree's modules, installed into <cacheDir>/modules/<key>/ unless an earlier run did.
 * INSTALL_MOD_STRIP=1 drops debug info: the guest needs the code, the host keeps vmlinux.
 */
export async function stageTreeModules(tree: string, release: string, cacheDir: string, onLine?: (line: string) => void): Promise<StagedModuleTree> {
  const key = treeModulesKey(tree, release);
  const root = path.join(cacheDir, 'modules', key);
  const dir = path.join(root, 'lib', 'modules', release);
  const complete = path.join(root, 'complete');
  if (!fs.existsSync(complete)) {
    fs.mkdirSync(path.join(cacheDir, 'modules'), { recursive: true });
    const tmp = fs.mkdtempSync(path.join(cacheDir, 'modules', `${key}.tmp-`));
    try {
      const r = await runMake(['-C', tree, 'modules_install', `INSTALL_MOD_PATH=${tmp}`, 'INSTALL_MOD_STRIP=1'], tree, onLine);
      if (r.status !== 0) {
        throw new HostError('E_MODULES_INSTALL', `make modules_install failed (exit ${r.status}) in ${tree}:\n${r.output.trim().split('\n').slice(-12).join('\n')}`, 'build the tree first (make -j$(nproc)), then run kt again');
      }
      const installed = path.join(tmp, 'lib', 'modules');
      const releases = fs.existsSync(installed) ? fs.readdirSync(installed) : [];
      if (!releases.includes(release)) {
        throw new UsageError(
          'E_MODULES_RELEASE',
          `the modules of ${tree} are for ${releases.join(', ') || 'no release'}, but its bzImage is ${release}`,
          'the bzImage and the modules come from different builds: rebuild the tree (make -j$(nproc)) and run kt again',
        );
      }
      if (!fs.existsSync(path.join(installed, release, 'modules.dep'))) {
        throw new HostError('E_MODULES_DEPMOD', `make modules_install wrote no modules.dep for ${release} (is depmod installed?)`, 'install kmod (apt-get install kmod), then run kt again');
      }
      fs.writeFileSync(path.join(tmp, 'complete'), `${new Date().toISOString()}\n`);
      // Another kt may have staged the same build meanwhile: keep its copy, readers may use it.
      if (!fs.existsSync(complete)) {
        fs.rmSync(root, { recursive: true, force: true });
        fs.renameSync(tmp, root);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  return { release, dir, index: readIndex(dir), files: listFiles(dir), origin: `${tree} (make modules_install, cached in ${root})` };
}

/**
 * --modules DIR: an installed module tree, either lib/modules/<release> itself or a directory
 * holding lib/modules/<release> (INSTALL_MOD_PATH of make modules_install).
 */
export function stagedFromDir(given: string, release: string): StagedModuleTree {
  const candidates = [given, path.join(given, 'lib', 'modules', release), path.join(given, release)];
  const dir = candidates.find((c) => fs.existsSync(path.join(c, 'modules.dep')) && path.basename(c) === release);
  if (!dir) {
    const other = candidates.find((c) => fs.existsSync(path.join(c, 'modules.dep')));
    if (other) {
      throw new UsageError('E_MODULES_RELEASE', `--modules ${given} holds modules for ${path.basename(other)}, but the kernel is ${release}`, `give the lib/modules/${release} directory of the same build as the kernel`);
    }
    throw new UsageError(
      'E_MODULES_DIR',
      `--modules ${given} is not an installed module tree for ${release} (no modules.dep in ${given} or ${path.join(given, 'lib', 'modules', release)})`,
      `install the modules with make modules_install INSTALL_MOD_PATH=DIR and pass DIR (or DIR/lib/modules/${release})`,
    );
  }
  return { release, dir, index: readIndex(dir), files: listFiles(dir), origin: dir };
}
