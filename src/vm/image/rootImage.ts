/**
 * root.img: the bootstrapped tree copied into a raw ext4 image by `mke2fs -d` (e2fsprogs ≥ 1.43),
 * no loop device and no mount needed. ext4 because it is built into the Debian kernel.
 */

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

/**
 * find(1) arguments that print the allocated 512-byte blocks (st_blocks, %b) of every entry
 * below dir, one number a line, without crossing into other mounts. find runs as the root of
 * the build (toolRunner.ts): in a rootless build only that root can enter every directory.
 */
export function treeBlocksFindArgs(dir: string): string[] {
  return [dir, '-xdev', '-mindepth', '1', '-printf', '%b\\n'];
}

/** Bytes the tree occupies (allocated blocks, like du) from treeBlocksFindArgs' output. Pure. */
export function treeBytesFromFind(output: string): number {
  let blocks = 0;
  for (const line of output.split('\n')) {
    if (line === '') continue;
    if (!/^\d+$/.test(line)) throw new Error(`find printed "${line}" where a block count belongs`);
    blocks += Number(line);
  }
  return blocks * 512;
}
