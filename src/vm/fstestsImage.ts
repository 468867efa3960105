/**
 * The user's built fstests tree, packed into a read-only ext4 image that every VM attaches
 * (serial `fstests`, snapshot=on so the guest may write into it). A disk works with any
 * kernel that can read its root disk: the Debian cloud kernel has no 9p, and virtiofs needs a
 * daemon per VM. The image is cached by a hash of the tree's file list (path, size, mtime),
 * so a rebuilt tree gets a new image and an unchanged one costs a stat walk.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { HostError } from '../errors.js';
import { findOnPath } from './image/hostTools.js';

/** Directories of an fstests tree that the guest never needs: old results are often huge. */
const SKIP_DIRS = new Set(['results', '.git']);

interface TreeStat {
  hash: string;
  bytes: number;
  files: number;
}

function statTree(root: string): TreeStat {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  let files = 0;
  const walk = (dir: string, rel: string) => {
    const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      if (rel === '' && SKIP_DIRS.has(e.name)) continue;
      const abs = path.join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      const st = fs.lstatSync(abs);
      hash.update(`${r}\0${st.mode}\0${st.size}\0${st.mtimeMs}\n`);
      files++;
      bytes += st.size;
      if (e.isDirectory()) walk(abs, r);
    }
  };
  walk(root, '');
  return { hash: hash.digest('hex').slice(0, 16), bytes, files };
}

/** Returns the path of an ext4 image holding `fstestsDir`, building it when the tree changed. */
export async function ensureFstestsImage(fstestsDir: string, cacheDir: string): Promise<string> {
  const tree = statTree(fstestsDir);
  const dir = path.join(cacheDir, 'fstests');
  const image = path.join(dir, `${tree.hash}.img`);
  if (fs.existsSync(image)) return image;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${image}.${process.pid}.tmp`;
  // Room for ext4 metadata (an inode per file) on top of the data.
  const sizeMiB = Math.ceil((tree.bytes * 1.3 + tree.files * 8192) / 2 ** 20) + 64;
  // mke2fs lives in /sbin, off a normal user's PATH.
  const mke2fs = findOnPath('mke2fs', process.env.PATH) ?? 'mke2fs';
  try {
    await execa(mke2fs, ['-q', '-F', '-t', 'ext4', '-L', 'fstests', '-d', fstestsDir, tmp, `${sizeMiB}M`]);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    const missing = (err as { code?: string }).code === 'ENOENT';
    throw new HostError(
      missing ? 'E_MKE2FS_MISSING' : 'E_FSTESTS_IMAGE',
      missing
        ? 'mke2fs was not found; kt needs it to hand the fstests tree to the guests'
        : `could not pack ${fstestsDir} into an image: ${(err as Error).message}`,
      missing ? 'install e2fsprogs (apt-get install e2fsprogs)' : 'check that every file in the tree is readable',
    );
  }
  fs.renameSync(tmp, image);
  return image;
}
