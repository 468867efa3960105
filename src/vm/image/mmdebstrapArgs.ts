/**
 * The mmdebstrap command line for a recipe. Pure, so it can be read and tested without a build.
 * Options are from mmdebstrap(1) 1.3.5 (Debian bookworm).
 */
import path from 'node:path';
import type { ImageRecipe } from './recipe.js';

export interface MmdebstrapPaths {
  /** Empty or missing directory that becomes the root filesystem tree. */
  rootfsDir: string;
  /** Where the build wrote the recipe's guest files (the hooks run from there). */
  guestDir: string;
}

/** Quotes a word for sh -c, which is how mmdebstrap runs hooks that contain metacharacters. */
function shQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * root: kt is root; mmdebstrap mounts in the host's namespaces and the tree gets real ownership.
 * unshare: kt runs mmdebstrap as root of a user namespace it made (toolRunner.ts); mmdebstrap,
 * already root there, adds only mount, pid, uts and ipc namespaces (mmdebstrap, get_unshare_cmd)
 * and the tree's owners are the user's subordinate ids, which read as 0.. inside. Same tree
 * either way: mmdebstrap's modes differ only in how they get root (mmdebstrap(1), MODES).
 */
export type MmdebstrapMode = 'root' | 'unshare';

export function renderMmdebstrapArgs(recipe: ImageRecipe, paths: MmdebstrapPaths, mode: MmdebstrapMode = 'root'): string[] {
  const hook = (name: string, ...extra: string[]) =>
    ['sh', shQuote(path.join(paths.guestDir, 'mmdebstrap', name)), '"$1"', ...extra.map(shQuote)].join(' ');
  return [
    // Ownership in the tree is what root.img gets: `mke2fs -d` runs as the same root.
    `--mode=${mode}`,
    '--format=directory',
    // Essential:yes plus --include and their hard dependencies: no apt, no systemd in the guest.
    '--variant=essential',
    `--include=${recipe.packages.join(',')}`,
    // mmdebstrap installs no Recommends by default; say so, since the image size depends on it.
    '--aptopt=APT::Install-Recommends "false"',
    '--aptopt=Acquire::Languages "none"',
    ...recipe.dpkgPathExcludes.map((glob) => `--dpkgopt=path-exclude=${glob}`),
    `--essential-hook=${hook('essential-hook.sh')}`,
    `--customize-hook=${hook('customize-hook.sh', paths.guestDir)}`,
    recipe.suite,
    paths.rootfsDir,
    ...recipe.sources,
  ];
}
