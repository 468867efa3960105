/**
 * root.img: the bootstrapped tree copied into a raw ext4 image by `mke2fs -d` (e2fsprogs ≥ 1.43),
 * no loop device and no mount needed. ext4 because it is built into the Debian kernel.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * Tree plus 20 % for metadata, plus 1 GiB free for what the guest writes (results, logs).
 * The file is sparse, so the headroom costs no disk; the host attaches it snapshot=on anyway.
 */
export function rootImageSizeBytes(treeBytes: number): number {
  const raw = treeBytes * 1.2 + GiB;
  return Math.ceil(raw / MiB) * MiB;
}

export function renderMke2fsArgs(treeDir: string, imageFile: string, sizeBytes: number): string[] {
  return [
    '-q',
    '-F',
    '-t', 'ext4',
    '-L', 'kt-root',
    // Every VM throws its writes away (snapshot=on): a journal only costs time.
    '-O', '^has_journal',
    // No blocks reserved for root: root is the only user.
    '-m', '0',
    '-d', treeDir,
    imageFile,
    `${sizeBytes / 1024}k`,
  ];
}

/** Bytes the tree occupies (allocated blocks, like du), without crossing into other mounts. */
export async function treeBytes(dir: string): Promise<number> {
  const rootDev = (await fs.lstat(dir)).dev;
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const entry of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      const st = await fs.lstat(p);
      if (st.dev !== rootDev) continue;
      total += st.blocks * 512;
      if (entry.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return total;
}
