/**
 * `kt kconfig fix`: writes kt's fragment into the tree's build directory (.kt/kt.config),
 * merges it with the kernel's own scripts/kconfig/merge_config.sh -m and `make olddefconfig`
 * (which resolves selects and dependencies), keeps a backup of the previous .config, and
 * reports what changed and what Kconfig refused.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HostError, UsageError } from '../errors.js';
import { checkKernelConfig } from './check.js';
import { diffKernelConfigs, parseKernelConfig } from './configText.js';
import { FRAGMENT_HEADER, fragmentLines, parseFragmentRequests, refusedSymbols, renderFragment, requirementsToFix } from './fragment.js';
import { renderChange, type FixReport } from './fixReport.js';
import { isKernelBuildDir } from './locate.js';
import { freeName } from '../util/freeName.js';
import type { KconfigContext } from './requirements.js';

export interface FixOptions {
  /** The tree or O= build directory holding .config. */
  tree: string;
  context: KconfigContext;
  /** Only the required options, not the recommended ones. */
  requiredOnly: boolean;
  /** Lines of make/merge output, as they come (for a progress display). */
  onOutput?: (line: string) => void;
}

/** The kernel source tree of a build directory: itself, or what its `source` link points to (O= builds). */
export function sourceTreeOf(buildDir: string): string | undefined {
  for (const candidate of [buildDir, path.join(buildDir, 'source')]) {
    if (fs.existsSync(path.join(candidate, 'scripts', 'kconfig', 'merge_config.sh'))) return fs.realpathSync(candidate);
  }
  return undefined;
}

/** .config.kt-old, else .config.kt-old.1, .2, …: an earlier backup may hold the only copy of the user's config. */
export function freeBackupName(dir: string): string {
  return freeName(path.join(dir, '.config.kt-old'));
}

/** Every symbol a Kconfig file of the tree defines ("config X" / "menuconfig X"). */
export function knownSymbols(srcTree: string): Set<string> {
  const known = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (entry.name.startsWith('.') || entry.name === 'Documentation' || entry.name === 'tools') continue;
        walk(path.join(dir, entry.name));
      } else if (entry.name.startsWith('Kconfig')) {
        const text = fs.readFileSync(path.join(dir, entry.name), 'utf8');
        for (const m of text.matchAll(/^[ \t]*(?:menu)?config[ \t]+([A-Za-z0-9_]+)/gm)) known.add(m[1]!);
      }
    }
  };
  walk(srcTree);
  return known;
}

function run(argv: string[], cwd: string, onOutput?: (line: string) => void): { status: number | null; output: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new HostError('E_KCONFIG_TOOL', `cannot run ${argv[0]} (${code ?? r.error.message})`, code === 'ENOENT' ? `install ${argv[0]} (scripts/install-host-deps)` : 'see the error above');
  }
  const output = `${r.stdout}${r.stderr}`;
  if (onOutput) for (const line of output.split('\n')) if (line) onOutput(line);
  return { status: r.status, output };
}

/** Refuses (exit 2) what is in the way of kt's directory .kt/ or its fragment, before anything is written. */
function checkKtDir(file: string): void {
  const dir = path.dirname(file);
  const dirStat = fs.statSync(dir, { throwIfNoEntry: false });
  if (dirStat && !dirStat.isDirectory()) {
    throw new UsageError('E_KCONFIG_KT_DIR', `${dir} is a file, not a directory`, `move it away; kt kconfig fix keeps its fragment and its list of changes in ${path.basename(dir)}/`);
  }
  const fileStat = fs.statSync(file, { throwIfNoEntry: false });
  if (fileStat && !fileStat.isFile()) {
    throw new UsageError('E_KCONFIG_FRAGMENT_EXISTS', `${file} exists and is not a file kt wrote (${fileStat.isDirectory() ? 'a directory' : 'not a regular file'})`, `move it away; kt keeps its fragment there (${path.basename(file)})`);
  }
}

/** Refuses (exit 2) a directory or other non-file where kt keeps its list of changes, before anything is written. */
function checkChangesFile(file: string): void {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (stat && !stat.isFile()) {
    throw new UsageError('E_KCONFIG_CHANGES_EXISTS', `${file} exists and is not a file kt wrote (${stat.isDirectory() ? 'a directory' : 'not a regular file'})`, `move it away; kt keeps its list of changes there (${path.basename(file)})`);
  }
}

/**
 * A file-system step of fix as the typed error the CLI prints (exit 2: the tree is the user's,
 * and the fix is theirs), naming the path, the OS reason and what state .config is in.
 */
export function fixWriteError(doing: string, file: string, err: unknown, state: string, undo?: string): UsageError | HostError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? String(err);
  const dir = path.dirname(file);
  // A full or failing disk is the host's trouble (exit 3), not the user's input.
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO') {
    return new HostError('E_KCONFIG_WRITE', `cannot ${doing} ${file} (${code}); ${state}`, `free space on (or check) the file system holding ${dir}, then run kt kconfig fix again${undo ? `; ${undo}` : ''}`, { cause: err });
  }
  const hint =
    code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? `make ${dir} writable by this user (or run kt kconfig fix as the owner of the tree), then run it again`
      : code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST'
        ? `move ${file} (or what is in its way) aside, then run kt kconfig fix again`
        : `check the file system holding ${dir}, then run kt kconfig fix again`;
  return new UsageError('E_KCONFIG_WRITE', `cannot ${doing} ${file} (${code}); ${state}`, undo ? `${hint}; ${undo}` : hint, { cause: err });
}

/** Runs one file-system step, turning its OS error into fixWriteError. */
function step<T>(doing: string, file: string, state: string, fn: () => T, undo?: string): T {
  try {
    return fn();
  } catch (err) {
    throw fixWriteError(doing, file, err, state, undo);
  }
}

function writeFragment(file: string, text: string): void {
  checkKtDir(file);
  const unchanged = '.config is unchanged';
  if (fs.existsSync(file)) {
    const first = step('read', file, unchanged, () => fs.readFileSync(file, 'utf8')).split('\n', 1)[0];
    if (first !== FRAGMENT_HEADER) {
      throw new UsageError('E_KCONFIG_FRAGMENT_EXISTS', `${file} exists and was not written by kt`, `move it away; kt keeps its fragment there (${path.basename(file)})`);
    }
  }
  step('create', path.dirname(file), unchanged, () => fs.mkdirSync(path.dirname(file), { recursive: true }));
  step('write', file, unchanged, () => fs.writeFileSync(file, text));
}

/** The tree's .config, or a UsageError naming what is in its place. */
function readConfig(configFile: string): string {
  const stat = fs.statSync(configFile);
  if (!stat.isFile()) {
    throw new UsageError('E_KCONFIG_NOT_A_FILE', `${configFile} is ${stat.isDirectory() ? 'a directory' : 'not a regular file'}, not a kernel config`, 'move it away and configure the tree (make defconfig), then run kt kconfig fix again');
  }
  try {
    return fs.readFileSync(configFile, 'utf8');
  } catch (err) {
    throw new UsageError('E_KCONFIG_UNREADABLE', `cannot read ${configFile} (${(err as NodeJS.ErrnoException).code})`, 'check its permissions');
  }
}

export function fixKernelConfig(opts: FixOptions): FixReport {
  const tree = path.resolve(opts.tree);
  const configFile = path.join(tree, '.config');
  if (!fs.existsSync(configFile)) {
    throw new UsageError(
      'E_KCONFIG_NO_CONFIG',
      isKernelBuildDir(tree) ? `${tree} is a kernel tree but has no .config` : `no kernel config found: ${configFile} does not exist`,
      isKernelBuildDir(tree) ? 'configure it first (make defconfig or make tinyconfig), then run kt kconfig fix again' : 'run kt kconfig fix in a configured kernel tree, or give its path: kt kconfig fix ~/linux',
    );
  }
  const srcTree = sourceTreeOf(tree);
  if (!srcTree) {
    throw new UsageError('E_KCONFIG_NOT_A_TREE', `${tree} is not a kernel tree (no scripts/kconfig/merge_config.sh in it or in its source link)`, 'give the kernel source tree, or the O= build directory of one');
  }
  const beforeText = readConfig(configFile);
  const before = parseKernelConfig(beforeText);
  const check = checkKernelConfig(before, opts.context);
  const toFix = requirementsToFix(check, { requiredOnly: opts.requiredOnly });
  if (toFix.length === 0) {
    return { tree, nothingToDo: true, requested: [], changes: [], refused: [], after: check };
  }

  const lines = fragmentLines(toFix, before);
  const fragmentFile = path.join(tree, '.kt', 'kt.config');
  const about = `for ${opts.context.backend}/${opts.context.rootfs}, suite ${opts.context.suite.name}${opts.requiredOnly ? ', required options only' : ''}`;
  const fragmentText = renderFragment(lines, about);
  const changesFile = path.join(tree, '.kt', 'last-fix.changes');
  // Whatever is in the way of kt's files is refused before anything is written.
  checkKtDir(fragmentFile);
  checkChangesFile(changesFile);
  writeFragment(fragmentFile, fragmentText);
  const backup = freeBackupName(tree);
  step('back up .config to', backup, '.config is unchanged', () => fs.copyFileSync(configFile, backup, fs.constants.COPYFILE_EXCL));

  const restore = () => step('restore .config from', backup, `.config may be changed; the previous one is ${backup}`, () => fs.copyFileSync(backup, configFile));
  // merge_config.sh makes its temporary files in the current directory (./.tmp.config.*).
  const merge = run([path.join(srcTree, 'scripts', 'kconfig', 'merge_config.sh'), '-m', '.config', fragmentFile], tree, opts.onOutput);
  if (merge.status !== 0) {
    restore();
    throw new HostError('E_KCONFIG_MERGE', `merge_config.sh failed (exit ${merge.status}) in ${tree}; .config is unchanged:\n${merge.output.trim().split('\n').slice(-10).join('\n')}`, 'see the lines above');
  }
  const olddefconfig = run(['make', '-C', tree, 'olddefconfig'], tree, opts.onOutput);
  if (olddefconfig.status !== 0) {
    restore();
    throw new HostError('E_KCONFIG_OLDDEFCONFIG', `make olddefconfig failed (exit ${olddefconfig.status}) in ${tree}; .config is unchanged:\n${olddefconfig.output.trim().split('\n').slice(-10).join('\n')}`, 'it builds scripts/kconfig/conf: install gcc, make, flex and bison (scripts/install-host-deps)');
  }

  const after = parseKernelConfig(step('read', configFile, `.config was changed by make olddefconfig; the previous one is ${backup}`, () => fs.readFileSync(configFile, 'utf8')));
  const requests = parseFragmentRequests(fragmentText);
  const refusedRaw = refusedSymbols(requests, after);
  const refused = refusedRaw.length > 0 ? refusedSymbols(requests, after, knownSymbols(srcTree)) : [];
  const changes = diffKernelConfigs(before, after);
  // .config is changed by now: the error says so, and where the previous one is.
  step(
    'write',
    changesFile,
    `.config was changed (${changes.length} option${changes.length === 1 ? '' : 's'}; the previous one is ${backup})`,
    () => fs.writeFileSync(changesFile, changes.map((c) => renderChange(c).trim()).join('\n') + '\n'),
    `to undo the change: cp ${backup} ${configFile}`,
  );
  return {
    tree,
    nothingToDo: false,
    fragment: fragmentFile,
    backup,
    changesFile,
    requested: [...requests.keys()],
    changes,
    refused,
    after: checkKernelConfig(after, opts.context),
  };
}
