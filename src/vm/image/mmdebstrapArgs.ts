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

export function renderMmdebstrapArgs(recipe: ImageRecipe, paths: MmdebstrapPaths): string[] {
  const hook = (name: string, ...extra: string[]) =>
    ['sh', shQuote(path.join(paths.guestDir, 'mmdebstrap', name)), '"$1"', ...extra.map(shQuote)].join(' ');
  return [
    // root mode: real ownership in the tree, so `mke2fs -d` copies it into root.img unchanged.
    '--mode=root',
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
