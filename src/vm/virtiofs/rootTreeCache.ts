/**
 * What lives in <cache>/rootfs beside the unpacked trees (rootTree.ts, docs/virtiofs.md), and
 * how kt tidies it without pulling a tree from under a run that serves it:
 *
 * - `<hash>-<build>/`: a tree, one per image build. A rebuilt image (`kt image build
 *   --rebuild`, same recipe hash, a new ssh host key) gets a tree of its own; the trees of the
 *   hash's earlier builds are deleted once no kt uses them.
 * - `.in-use/<hash>-<build>.<pid>@<host>@`: an empty file per kt process that chose that tree,
 *   written before it looks whether the tree exists. A kt serves its tree until it exits (its
 *   virtiofsd processes are killed with it: src/vm/parentDeath.ts), so "no live maker of such
 *   a file" is "nobody serves the tree". The files of processes gone are deleted.
 * - `.unpack-<hash>-<build>.<pid>@<host>@XXXXXX/` (and its `.kt.cmds`, `.kt.sh`): an unpack in
 *   progress. One whose kt is gone (a Ctrl-C ends kt before its cleanup can run: the holder of
 *   its user namespace dies with kt's process group) is deleted by the next kt, through the
 *   runner, since a rootless tree belongs to the user's subordinate ids.
 * - `.old-<hash>-<build>.XXXXXX/`: a tree being deleted; kept while the tree has users.
 *
 * The rule for "gone" is the build lock's (src/vm/leftovers.ts): the maker ran on this host and
 * its pid no longer exists. Trees of other recipe hashes, and trees named by the hash alone
 * (unpacked by kt before trees were named by their build), are never deleted here: a kt of an
 * older version may be serving one, and it writes no `.in-use` file.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { removeBuildDir } from '../image/removeBuildDir.js';
import type { ToolRunner } from '../image/toolRunner.js';
import { isProcessAlive } from '../image/buildLock.js';
import { leftBehind, makerOf, makerTag } from '../leftovers.js';
import { imageBuildTag, type ImageBuild } from '../image/buildTag.js';

export { imageBuildTag, type ImageBuild };

/** `<hash>-<build>`: the directory name of a build's tree under <cache>/rootfs. Pure. */
export function rootTreeName(image: ImageBuild): string {
  return `${image.hash}-${imageBuildTag(image.sshHostKey)}`;
}

export const IN_USE_DIR = '.in-use';
export const UNPACK_PREFIX = '.unpack-';
const OLD_PREFIX = '.old-';

/** The prefix of an unpack of `tree` in progress, before mkdtemp's six characters. */
export function unpackPrefix(tree: string, tag: string = makerTag()): string {
  return `${UNPACK_PREFIX}${tree}.${tag}`;
}

/**
 * Unpack directories of kt before they named their maker: `.unpack-<hash>-XXXXXX`. Deleted when
 * untouched for an hour (an unpack takes seconds to a minute), since nothing says whose they are.
 */
const UNNAMED_UNPACK = /^\.unpack-[0-9a-f]+-[A-Za-z0-9]{6}(\.kt\.(cmds|sh))?$/;
const UNNAMED_UNPACK_AGE_MS = 3_600_000;

/** Says that this process uses `tree` (before it looks whether `tree` exists). */
export function markInUse(rootfsDir: string, tree: string): void {
  const dir = path.join(rootfsDir, IN_USE_DIR);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${tree}.${makerTag()}`), '');
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The `.in-use` files of live processes that said they use `tree`. */
export function treeUsers(rootfsDir: string, tree: string, isAlive: (pid: number) => boolean = isProcessAlive): string[] {
  const prefix = `${tree}.`;
  return listDir(path.join(rootfsDir, IN_USE_DIR)).filter((n) => makerOf(n, prefix) !== undefined && !leftBehind(n, prefix, isAlive));
}

/** What one tidying did, for progress lines and tests. */
export interface Tidied {
  /** Unpacks (and their scratch files) of kts that are gone. */
  unpacks: string[];
  /** Trees of earlier builds of the hash, and asides of trees being deleted. */
  trees: string[];
  /** Trees of earlier builds kept because a live kt uses them. */
  kept: string[];
}

/** The tree an aside (`.old-<tree>.XXXXXX`) was. Pure. */
function asideOf(name: string): string | undefined {
  const m = /^\.old-([0-9a-f]+-[0-9a-f]{8})\.[A-Za-z0-9]{6}$/.exec(name);
  return m?.[1];
}

function isOlderThan(file: string, ms: number, now: number): boolean {
  try {
    return now - fs.lstatSync(file).mtimeMs > ms;
  } catch {
    return false;
  }
}

/**
 * Tidies <cache>/rootfs for a kt about to use `current` (its own `.in-use` file already
 * written): deletes unpacks whose kt is gone, `.in-use` files of processes gone, and the trees of
 * the hash's other builds that no live kt uses. Deleting goes through `runner` (a rootless tree
 * belongs to subordinate ids) and refuses anything with a mount below it (removeBuildDir).
 */
export async function tidyRootTrees(opts: {
  rootfsDir: string;
  current: ImageBuild;
  runner: Pick<ToolRunner, 'mode' | 'output'>;
  isAlive?: (pid: number) => boolean;
  onProgress?: (line: string) => void;
}): Promise<Tidied> {
  const isAlive = opts.isAlive ?? isProcessAlive;
  const { rootfsDir } = opts;
  const tidied: Tidied = { unpacks: [], trees: [], kept: [] };
  const now = Date.now();
  // Tidying is no reason to fail a run: what cannot be deleted now is tried again next time.
  const remove = async (name: string): Promise<boolean> => {
    try {
      await removeBuildDir(path.join(rootfsDir, name), opts.runner);
      return true;
    } catch (err) {
      opts.onProgress?.(`kt: virtiofs: could not remove ${path.join(rootfsDir, name)}: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  };

  for (const name of listDir(path.join(rootfsDir, IN_USE_DIR))) {
    const tree = /^([^.]+)\./.exec(name)?.[1];
    if (tree !== undefined && leftBehind(name, `${tree}.`, isAlive)) fs.rmSync(path.join(rootfsDir, IN_USE_DIR, name), { force: true });
  }

  const currentTree = rootTreeName(opts.current);
  const sameHash = new RegExp(`^${opts.current.hash.replace(/[^0-9a-f]/g, '')}-[0-9a-f]{8}$`);
  for (const name of listDir(rootfsDir)) {
    if (name.startsWith(UNPACK_PREFIX)) {
      const tree = /^\.unpack-([^.]+)\./.exec(name)?.[1];
      const stale = tree !== undefined && makerOf(name, `${UNPACK_PREFIX}${tree}.`) !== undefined
        ? leftBehind(name, `${UNPACK_PREFIX}${tree}.`, isAlive)
        : UNNAMED_UNPACK.test(name) && isOlderThan(path.join(rootfsDir, name), UNNAMED_UNPACK_AGE_MS, now);
      if (!stale) continue;
      opts.onProgress?.(`kt: virtiofs: removing an interrupted unpack: ${path.join(rootfsDir, name)}`);
      if (await remove(name)) tidied.unpacks.push(name);
      continue;
    }
    const asideTree = asideOf(name);
    if (asideTree !== undefined) {
      if (treeUsers(rootfsDir, asideTree, isAlive).length > 0) continue;
      if (await remove(name)) tidied.trees.push(name);
      continue;
    }
    if (name === currentTree || !sameHash.test(name)) continue;
    if (treeUsers(rootfsDir, name, isAlive).length > 0) {
      tidied.kept.push(name);
      continue;
    }
    // Out of sight first: a kt that writes its `.in-use` file from now on finds no tree and
    // unpacks its own. One that wrote it just before the rename may have seen the tree: then
    // it goes back, or, if a new unpack took the name meanwhile, stays aside until unused.
    // rename(2) within one directory: no write permission on the (rootless) tree itself needed.
    const aside = path.join(rootfsDir, `${OLD_PREFIX}${name}.${crypto.randomBytes(3).toString('hex')}`);
    try {
      fs.renameSync(path.join(rootfsDir, name), aside);
    } catch {
      continue;
    }
    if (treeUsers(rootfsDir, name, isAlive).length > 0) {
      try {
        fs.renameSync(aside, path.join(rootfsDir, name));
      } catch {
        // stays aside; a later tidying deletes it once its users are gone
      }
      tidied.kept.push(name);
      continue;
    }
    opts.onProgress?.(`kt: virtiofs: removing ${path.join(rootfsDir, name)}, the tree of an earlier build of image ${opts.current.hash}`);
    if (await remove(path.basename(aside))) tidied.trees.push(name);
  }
  return tidied;
}
