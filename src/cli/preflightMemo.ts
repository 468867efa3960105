/**
 * The preflight memo of src/runner/guestSetup.ts in kt's cache: an empty file
 * `<cacheDir>/preflight/<image hash>-<fstests tree hash>` once the tree's ltp/fsstress has
 * started in a guest of that image. Both hashes name content (the image's recipe:
 * src/vm/image/recipe.ts; the tree's files: src/vm/fstestsImage.ts), so a rebuilt tree or a new
 * image is a new key and its first VM runs the preflight again.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PreflightMemo } from '../runner/guestSetup.js';

/** The memo file of an image and an fstests image (`<cacheDir>/fstests/<tree hash>.img`). Pure. */
export function preflightMemoPath(cacheDir: string, imageHash: string, fstestsImage: string): string {
  return path.join(cacheDir, 'preflight', `${imageHash}-${path.basename(fstestsImage, '.img')}`);
}

export function preflightMemo(cacheDir: string, imageHash: string, fstestsImage: string): PreflightMemo {
  const file = preflightMemoPath(cacheDir, imageHash, fstestsImage);
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
