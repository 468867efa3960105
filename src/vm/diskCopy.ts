/**
 * Copies of sparse disk images, for TEST_DEV made once (docs/speed.md, "TEST_DEV made once"): a
 * 5 GiB image whose filesystem was just made holds a few MB of data, and a copy must cost what
 * the data costs, not what the size does. coreutils' cp does that: `--reflink=auto` clones the
 * file on a host filesystem that can (xfs, btrfs), and otherwise `--sparse=always` copies only
 * what SEEK_DATA finds and leaves holes where the blocks are zero. Node's copyFile has no
 * SEEK_DATA and would write the whole size.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { syncFile } from '../util/syncFile.js';

/** A copy of a few MB; a host so loaded that it takes longer is better off without the template. */
const COPY_TIMEOUT_MS = 60_000;

/**
 * Copies `src` over `dest`, sparse. `dest` is a file of the caller's own, new or made by it
 * (cp truncates it and keeps its mode). Rejects with cp's error.
 */
export function copySparse(src: string, dest: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('cp', ['--reflink=auto', '--sparse=always', '--', src, dest], { timeout: COPY_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`cp ${src} ${dest}: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}

/**
 * Keeps a copy of `src` at `dest`, whole or not at all: copied beside dest under a name of its
 * own, then renamed over it, so a reader (another kt starting a VM) sees the old file or the
 * new one, never half of one. Replacing dest is fine: it is kt's cache file, and any copy of it
 * is as good as another.
 */
export async function keepCopy(src: string, dest: string): Promise<void> {
  const dir = path.dirname(dest);
  await fs.mkdir(dir, { recursive: true });
  const partial = `${dest}.${process.pid}-${crypto.randomBytes(4).toString('hex')}.partial`;
  try {
    await copySparse(src, partial);
    // On the disk before its name is: after a host crash the name holds the whole copy or
    // nothing, not a file of the right size full of holes (a new name gets no flush on rename).
    await syncFile(partial);
    await fs.rename(partial, dest);
    await syncFile(dir);
  } finally {
    await fs.rm(partial, { force: true });
  }
}
