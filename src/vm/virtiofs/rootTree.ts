/**
 * The image's root tree as a directory, for --rootfs virtiofs (docs/virtiofs.md): unpacked once
 * per image hash from root.img into <cache>/rootfs/<hash>, beside <cache>/images/<hash>, and
 * only read after that (virtiofsd serves it read-only; the guest writes into a tmpfs overlay).
 *
 * debugfs (e2fsprogs, already needed for the image) copies the tree out of the ext4 image with
 * `rdump`, which keeps owners, modes and times — except that it sets the mode before the owner,
 * and chown(2) clears the set-user-ID and set-group-ID bits ("When the owner or group of an
 * executable file is changed by an unprivileged user, the S_ISUID and S_ISGID mode bits are
 * cleared ... since Linux 2.2.13, root is treated like other users"). So kt lists every
 * directory of the image with `ls -p` in one more debugfs call and puts back each mode and owner
 * that differs: /usr/bin/passwd is 4755 root:root again. Hard links become copies.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { HostError } from '../../errors.js';

export interface TreeEntry {
  /** Mode bits with the file type (octal 0100644 …). */
  mode: number;
  uid: number;
  gid: number;
}

/** Where the tree of image `hash` goes. */
export function rootTreeDir(cacheDir: string, hash: string): string {
  return path.join(cacheDir, 'rootfs', hash);
}

/**
 * Parses debugfs' output for `ls -p "<dir>"` commands run from a command file (debugfs -f echoes
 * each command as `debugfs: <command>`; `ls -p` prints `/<inode>/<mode>/<uid>/<gid>/<name>/<size>/`,
 * debugfs/ls.c). Returns absolute paths (without . and ..). Pure.
 */
export function parseDebugfsListing(text: string): Map<string, TreeEntry> {
  const entries = new Map<string, TreeEntry>();
  let dir: string | undefined;
  for (const line of text.split('\n')) {
    const cmd = /^debugfs: ls -p "(.*)"$/.exec(line);
    if (cmd) {
      dir = cmd[1];
      continue;
    }
    const m = /^\/\d+\/([0-7]+)\/(\d+)\/(\d+)\/(.*)\/\d*\/$/.exec(line);
    if (!m || dir === undefined) continue;
    const name = m[4]!;
    if (name === '.' || name === '..') continue;
    entries.set(path.posix.join(dir, name), { mode: parseInt(m[1]!, 8), uid: Number(m[2]), gid: Number(m[3]) });
  }
  return entries;
}

/** Every directory under `root`, as image paths ("/", "/usr", …). */
function directoriesOf(root: string): string[] {
  const out = ['/'];
  for (const rel of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (rel.isDirectory()) out.push('/' + path.relative(root, path.join(rel.parentPath, rel.name)));
  }
  return out;
}

/** Puts back the modes and owners `rdump` lost; returns how many entries it changed. */
function restoreModes(root: string, listing: Map<string, TreeEntry>): number {
  let fixed = 0;
  for (const [p, want] of listing) {
    const file = path.join(root, p);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(file);
    } catch {
      // rdump writes directories, regular files and symlinks; /dev is empty in kt's image
      // (guest/mmdebstrap/finish-tree.sh), so nothing else is expected.
      throw new HostError('E_ROOTFS_UNPACK', `${p} of the image is missing from the unpacked tree ${root}`, 'remove the directory and run kt again');
    }
    if (st.uid !== want.uid || st.gid !== want.gid) {
      fs.lchownSync(file, want.uid, want.gid);
      fixed++;
    }
    // Symlinks have no mode of their own on Linux.
    if (!st.isSymbolicLink() && (st.mode & 0o7777) !== (want.mode & 0o7777)) {
      fs.chmodSync(file, want.mode & 0o7777);
      fixed++;
    }
  }
  return fixed;
}

/**
 * The unpacked tree of the image, made now when missing. As root only: the tree holds files of
 * many owners (the caller decides what to do otherwise, src/vm/virtiofs/decision.ts).
 */
export async function ensureRootTree(opts: { cacheDir: string; hash: string; rootImage: string; debugfs: string; onProgress?: (line: string) => void }): Promise<string> {
  const final = rootTreeDir(opts.cacheDir, opts.hash);
  if (fs.existsSync(final)) return final;
  const parent = path.dirname(final);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.unpack-${opts.hash}-`));
  try {
    opts.onProgress?.(`kt: virtiofs: unpacking ${opts.rootImage} into ${final} (once per image)`);
    // cwd = the new directory, so no path of the user's goes through debugfs' command parser.
    const dump = await execa(opts.debugfs, ['-R', 'rdump / .', opts.rootImage], { cwd: tmp, reject: false, all: true });
    if (dump.exitCode !== 0) throw new HostError('E_ROOTFS_UNPACK', `debugfs -R "rdump / ." ${opts.rootImage} failed: ${String(dump.all).trim()}`, 'check the image with kt image build --rebuild');
    const dirs = directoriesOf(tmp);
    const bad = dirs.find((d) => d.includes('"') || d.includes('\n'));
    if (bad !== undefined) throw new HostError('E_ROOTFS_UNPACK', `the image holds a directory kt cannot list with debugfs: ${JSON.stringify(bad)}`, 'use --rootfs image');
    const cmdFile = path.join(parent, `${path.basename(tmp)}.cmds`);
    fs.writeFileSync(cmdFile, dirs.map((d) => `ls -p "${d}"\n`).join(''));
    let listed;
    try {
      listed = await execa(opts.debugfs, ['-f', cmdFile, opts.rootImage], { reject: false, stdout: 'pipe', stderr: 'pipe' });
    } finally {
      fs.rmSync(cmdFile, { force: true });
    }
    if (listed.exitCode !== 0) throw new HostError('E_ROOTFS_UNPACK', `debugfs could not list ${opts.rootImage}: ${String(listed.stderr).trim()}`, 'check the image with kt image build --rebuild');
    // debugfs echoes each command and prints each listing on stdout, in order.
    const listing = parseDebugfsListing(String(listed.stdout));
    if (listing.size === 0) throw new HostError('E_ROOTFS_UNPACK', `debugfs listed nothing in ${opts.rootImage}`, 'check the image with kt image build --rebuild');
    restoreModes(tmp, listing);
    // The tree's / as in the image (mkdtemp made it 0700).
    fs.chmodSync(tmp, 0o755);
    try {
      fs.renameSync(tmp, final);
    } catch (err) {
      // Another kt unpacked the same image meanwhile: use that one.
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && fs.existsSync(final)) {
        fs.rmSync(tmp, { recursive: true, force: true });
        return final;
      }
      throw err;
    }
    return final;
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
