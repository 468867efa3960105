/**
 * The user's built fstests tree, packed into a read-only ext4 image that every VM attaches
 * (serial `fstests`, snapshot=on so the guest may write into it). A disk works with any
 * kernel that can read its root disk: the Debian cloud kernel has no 9p, and virtiofs needs a
 * daemon per VM.
 *
 * The image is cached under a hash of the tree's *content*: every path, its type, mode and
 * owner (mke2fs -d copies them), each symlink's target and each regular file's SHA-256. A
 * stat-only key (size, mtime) would reuse a stale image after an edit that keeps both
 * (`touch -r`, a tool that restores mtimes, an edit within one timestamp tick). Hashing is kept
 * cheap by a per-tree cache of file hashes (fileHashCache.ts); docs/vm-trust.md has numbers.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { HostError } from '../errors.js';
import { FileHashCache } from './fileHashCache.js';
import { removeStage, stageTree } from './fstestsStage.js';
import { findOnPath } from './image/hostTools.js';
import { leftBehind, makerTag } from './leftovers.js';

/**
 * Entries at the top of an fstests tree that the guest never needs: old results (`./check`
 * writes them into the tree, often hundreds of MB) and git's data. Left out of the hash, the
 * size and the image alike (fstestsStage.ts).
 */
export const SKIP_DIRS: ReadonlySet<string> = new Set(['results', '.git']);

/** Beside the images in <cache>/fstests: the stage of a pack and the image being written. */
const STAGE_PREFIX = '.stage.';
const TMP_PREFIX = '.packing.';

export interface TreeHash {
  /** Hex SHA-256 prefix naming the image. */
  hash: string;
  bytes: number;
  files: number;
  /** Regular files whose content was read (the rest came from the hash cache). */
  hashedFiles: number;
}

/** Sorts by name as bytes: the order must not depend on the host's locale. */
function byName(a: fs.Dirent, b: fs.Dirent): number {
  return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}

/**
 * The content hash of the tree under `root` (SKIP_DIRS at its top left out). `cache` gives
 * and keeps per-file hashes; it is saved by the caller.
 */
export function hashTree(root: string, cache: FileHashCache): TreeHash {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  let files = 0;
  let hashedFiles = 0;
  const walk = (dir: string, rel: string) => {
    const entries = fs.readdirSync(dir, { withFileTypes: true }).sort(byName);
    for (const e of entries) {
      if (rel === '' && SKIP_DIRS.has(e.name)) continue;
      const abs = path.join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      const st = fs.lstatSync(abs, { bigint: true });
      // One record per entry; NUL never occurs in a path, so records cannot run together.
      const meta = `${r}\0${st.mode}\0${st.uid}\0${st.gid}`;
      files++;
      if (st.isFile()) {
        const { sha256, read } = cache.hashOf(abs, r, st);
        if (read) hashedFiles++;
        bytes += Number(st.size);
        hash.update(`F\0${meta}\0${sha256}\n`);
      } else if (st.isSymbolicLink()) {
        hash.update(`L\0${meta}\0${fs.readlinkSync(abs)}\n`);
      } else if (st.isDirectory()) {
        hash.update(`D\0${meta}\n`);
        walk(abs, r);
      } else {
        // FIFOs, sockets, device nodes: mke2fs -d recreates them from mode and rdev.
        hash.update(`O\0${meta}\0${st.rdev}\n`);
      }
    }
  };
  walk(root, '');
  return { hash: hash.digest('hex').slice(0, 16), bytes, files, hashedFiles };
}

/** Hashes the tree with the tree's hash cache in `cacheDir`, and saves the cache. */
export function hashFstestsTree(fstestsDir: string, cacheDir: string): TreeHash {
  const cache = FileHashCache.load(path.join(cacheDir, 'fstests', 'file-hashes'), fstestsDir);
  const tree = hashTree(fstestsDir, cache);
  cache.save();
  return tree;
}

/** Removes the stages and half-written images that kts gone from this host left in `dir`. */
function removeLeftovers(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const prefix = name.startsWith(STAGE_PREFIX) ? STAGE_PREFIX : name.startsWith(TMP_PREFIX) ? TMP_PREFIX : undefined;
    if (prefix === undefined || !leftBehind(name, prefix)) continue;
    try {
      if (prefix === STAGE_PREFIX) removeStage(path.join(dir, name));
      else fs.rmSync(path.join(dir, name), { force: true });
    } catch {
      // Only space is lost; the next kt tries again.
    }
  }
}

/** mke2fs ran out of blocks in the image, or the host's disk was full. Pure. */
export function isOutOfSpace(message: string): boolean {
  return /Could not allocate block|No space left on device|ENOSPC/i.test(message);
}

/** Returns the path of an ext4 image holding `fstestsDir`, building it when the tree changed. */
export async function ensureFstestsImage(fstestsDir: string, cacheDir: string): Promise<string> {
  const tree = hashFstestsTree(fstestsDir, cacheDir);
  const dir = path.join(cacheDir, 'fstests');
  const image = path.join(dir, `${tree.hash}.img`);
  if (fs.existsSync(image)) return image;
  fs.mkdirSync(dir, { recursive: true });
  removeLeftovers(dir);
  const tmp = path.join(dir, `${TMP_PREFIX}${makerTag()}${tree.hash}.img.tmp`);
  // Room for ext4 metadata (an inode per file) on top of the data.
  const sizeMiB = Math.ceil((tree.bytes * 1.3 + tree.files * 8192) / 2 ** 20) + 64;
  // mke2fs lives in /sbin, off a normal user's PATH.
  const mke2fs = findOnPath('mke2fs', process.env.PATH) ?? 'mke2fs';
  const stage = fs.mkdtempSync(path.join(dir, `${STAGE_PREFIX}${makerTag()}`));
  // process.exit() (a signal before the run starts) skips `finally`; 'exit' handlers still run.
  const onExit = () => {
    try {
      removeStage(stage);
      fs.rmSync(tmp, { force: true });
    } catch {
      // removeLeftovers() of the next kt
    }
  };
  process.once('exit', onExit);
  try {
    try {
      stageTree(fstestsDir, stage, SKIP_DIRS);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new HostError(
        'E_FSTESTS_IMAGE',
        `could not stage ${fstestsDir} for its image in ${stage}: ${message}`,
        isOutOfSpace(message) ? `free disk space in ${dir} (df -h ${dir})` : 'check that every file in the tree is readable',
      );
    }
    try {
      await execa(mke2fs, ['-q', '-F', '-t', 'ext4', '-L', 'fstests', '-d', stage, tmp, `${sizeMiB}M`]);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      const missing = (err as { code?: string }).code === 'ENOENT';
      const message = (err as Error).message;
      throw new HostError(
        missing ? 'E_MKE2FS_MISSING' : 'E_FSTESTS_IMAGE',
        missing ? 'mke2fs was not found; kt needs it to hand the fstests tree to the guests' : `could not pack ${fstestsDir} into an image: ${message}`,
        missing
          ? 'install e2fsprogs (apt-get install e2fsprogs)'
          : isOutOfSpace(message)
            ? `mke2fs ran out of space: the image was sized ${sizeMiB} MiB for ${tree.bytes} bytes in ${tree.files} entries (results/ and .git left out); check the free disk space in ${dir} (df -h ${dir}), and that nothing wrote into the tree while kt packed it`
            : 'check that every file in the tree is readable',
      );
    }
  } finally {
    process.off('exit', onExit);
    try {
      removeStage(stage);
    } catch {
      // Named for this process: removeLeftovers() of a later kt deletes it once this one is gone.
    }
  }
  // The image must hold the content its name says: a tree edited while mke2fs copied it
  // (a `make` still running) would otherwise be cached under the hash of its earlier state.
  const after = hashFstestsTree(fstestsDir, cacheDir);
  if (after.hash !== tree.hash) {
    fs.rmSync(tmp, { force: true });
    throw new HostError(
      'E_FSTESTS_CHANGED',
      `${fstestsDir} changed while kt packed it into an image (tree hash ${tree.hash}, then ${after.hash})`,
      'let the build of the fstests tree finish, then run kt again',
    );
  }
  fs.renameSync(tmp, image);
  return image;
}
