/**
 * The preflight memo of src/runner/guestSetup.ts in kt's cache: an empty file
 * `<cacheDir>/preflight/<image hash>-<image build>-<fstests tree hash>` once the tree's
 * ltp/fsstress has started in a guest of that image build. The image hash names its recipe
 * (src/vm/image/recipe.ts), not the package versions a build fetched, so the build is named too,
 * by its ssh host key (src/vm/image/buildTag.ts); the tree
 * hash names the tree's files (src/vm/fstestsImage.ts). A rebuilt tree or image is a new key, and
 * its first VM runs the preflight again. The kernel is not in the key: the preflight starts a
 * userspace program, which the kernels kt boots all run alike.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PreflightMemo } from '../runner/guestSetup.js';
import { imageBuildTag, type ImageBuild } from '../vm/image/buildTag.js';

export type { ImageBuild };

/** The memo file of an image build and an fstests image (`<cacheDir>/fstests/<tree hash>.img`). Pure. */
export function preflightMemoPath(cacheDir: string, image: ImageBuild, fstestsImage: string): string {
  return path.join(cacheDir, 'preflight', `${image.hash}-${imageBuildTag(image.sshHostKey)}-${path.basename(fstestsImage, '.img')}`);
}

export function preflightMemo(cacheDir: string, image: ImageBuild, fstestsImage: string): PreflightMemo {
  const file = preflightMemoPath(cacheDir, image, fstestsImage);
  return {
    passed: () => fs.existsSync(file),
    remember: () => {
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, '');
      } catch {
        // A cache that cannot be written only means the next run runs the preflight again.
      }
    },
  };
}
