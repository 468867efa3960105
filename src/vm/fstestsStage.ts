/**
 * The fstests tree as `mke2fs -d` packs it: a staging tree without the top-level entries the
 * image leaves out (old results, .git). mke2fs copies everything under its -d directory and, in
 * e2fsprogs 1.47 (Debian 12), has no option to leave a path out (mke2fs(8), -d).
 *
 * The stage is a tree of hard links, as `cp -al` makes one: directories are made anew with the
 * tree's modes, owners and times, every other entry is a second name for the tree's own inode.
 * Nothing is copied, and mke2fs reads the same inodes it would read in the tree (owner, mode,
 * times, and hard links within the tree stay hard links in the image: e2fsprogs'
 * misc/create_inode.c keeps them). Where link(2) refuses — the stage on another file system
 * than the tree (EXDEV), a file the user may not link under fs.protected_hardlinks (EPERM,
 * proc(5)), an inode at its link limit (EMLINK), a file system without hard links (EOPNOTSUPP,
 * ENOSYS: some FUSE and shared-folder mounts) — that entry is copied instead.
 *
 * One cost: link(2) and the later unlink(2) update the tree's inodes' ctime, which the file hash
 * cache (fileHashCache.ts) keys on, so the two hashings after a pack read the files again.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface StageCounts {
  /** Entries that are hard links to the tree's inodes. */
  linked: number;
  /** Entries copied because link(2) refused. */
  copied: number;
  dirs: number;
}

const COPY_INSTEAD = new Set(['EXDEV', 'EPERM', 'EMLINK', 'EOPNOTSUPP', 'ENOTSUP', 'ENOSYS']);

/** Copies one non-directory entry with its mode, times and (as root) owner. */
function copyEntry(from: string, to: string, st: fs.Stats, isRoot: boolean): void {
  if (st.isFile()) {
    // A reflink where the file system can make one (btrfs, xfs), else a copy.
    fs.copyFileSync(from, to, fs.constants.COPYFILE_FICLONE);
    if (isRoot) fs.chownSync(to, st.uid, st.gid);
    fs.chmodSync(to, st.mode & 0o7777);
    fs.utimesSync(to, st.atime, st.mtime);
  } else if (st.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(from), to);
    if (isRoot) fs.lchownSync(to, st.uid, st.gid);
    fs.lutimesSync(to, st.atime, st.mtime);
  } else {
    // FIFOs, sockets, device nodes (node has no mknod): GNU cp -a recreates them.
    execFileSync('cp', ['-a', '--', from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
}

/**
 * Fills the empty directory `dest` with the tree under `src`, leaving out the entries of its top
 * directory named in `skipTop` (the same rule as hashTree in fstestsImage.ts).
 */
export function stageTree(src: string, dest: string, skipTop: ReadonlySet<string>): StageCounts {
  const isRoot = process.geteuid?.() === 0;
  const counts: StageCounts = { linked: 0, copied: 0, dirs: 0 };
  // Directories get their modes last, children first: a 0555 directory must still be filled.
  const dirs: [string, fs.Stats][] = [];
  const walk = (from: string, to: string, top: boolean) => {
    for (const name of fs.readdirSync(from)) {
      if (top && skipTop.has(name)) continue;
      const a = path.join(from, name);
      const b = path.join(to, name);
      const st = fs.lstatSync(a);
      if (st.isDirectory()) {
        fs.mkdirSync(b, { mode: 0o700 });
        walk(a, b, false);
        dirs.push([b, st]);
        counts.dirs++;
        continue;
      }
      try {
        // link(2) on Linux names the symlink itself, not its target.
        fs.linkSync(a, b);
        counts.linked++;
      } catch (err) {
        if (!COPY_INSTEAD.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
        copyEntry(a, b, st, isRoot);
        counts.copied++;
      }
    }
  };
  walk(src, dest, true);
  for (const [dir, st] of dirs) {
    if (isRoot) fs.chownSync(dir, st.uid, st.gid);
    fs.chmodSync(dir, st.mode & 0o7777);
    fs.utimesSync(dir, st.atime, st.mtime);
  }
  return counts;
}

/**
 * Deletes a stage. Its directories carry the tree's modes, and a user cannot delete the entries
 * of a directory without write permission (0555): they get u+rwx first. The tree's files are
 * untouched: unlinking a hard link removes one name, not the inode's other names.
 */
export function removeStage(dir: string): void {
  if (process.geteuid?.() !== 0) {
    const open = (d: string) => {
      try {
        fs.chmodSync(d, 0o700);
        for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) open(path.join(d, e.name));
      } catch {
        // gone, or not ours: rmSync below says what it cannot delete
      }
    };
    open(dir);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
