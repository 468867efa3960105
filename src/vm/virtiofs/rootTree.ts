/**
 * The image's root tree as a directory, for --rootfs virtiofs (docs/virtiofs.md): unpacked once
 * per image build from root.img into <cache>/rootfs/<hash>-<build>, beside <cache>/images/<hash>,
 * and only read after that (virtiofsd serves it read-only; the guest writes into a tmpfs
 * overlay). The recipe hash alone does not name the tree: `kt image build --rebuild` makes a new
 * image of the same hash with a new ssh host key, and a tree of the old build would serve the old
 * key to a host that pins the new one. So the build is in the name (rootTreeCache.ts), a tree is
 * never replaced in place (a running virtiofsd may serve it), and the unpacked tree must hold the
 * host key of the build it is named for.
 *
 * debugfs (e2fsprogs, already needed for the image) copies the tree out of the ext4 image with
 * `rdump`, which keeps owners, modes and times — except that it sets the mode before the owner,
 * and chown(2) clears the set-user-ID and set-group-ID bits ("When the owner or group of an
 * executable file is changed by an unprivileged user, the S_ISUID and S_ISGID mode bits are
 * cleared ... since Linux 2.2.13, root is treated like other users"). So kt lists every
 * directory of the image with `ls -p` in one more debugfs call and puts back each mode and owner
 * that differs: /usr/bin/passwd is 4755 root:root again. Hard links become copies.
 *
 * Without root, every step that touches the tree runs as root of the user namespace of the
 * user's subordinate ids, so the tree holds the same owners, shifted to those ids.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { HostError } from '../../errors.js';
import { shellQuote } from '../../util/shell.js';
import { IMAGE_FILES } from '../image/cacheDir.js';
import { readManifest } from '../image/manifest.js';
import type { ToolRunner } from '../image/toolRunner.js';
import { markInUse, rootTreeName, tidyRootTrees, unpackPrefix, type ImageBuild } from './rootTreeCache.js';

export interface TreeEntry {
  /** Mode bits with the file type (octal 0100644 …). */
  mode: number;
  uid: number;
  gid: number;
}

/** Where the tree of an image build goes: <cache>/rootfs/<hash>-<build>. Pure. */
export function rootTreeDir(cacheDir: string, image: ImageBuild): string {
  return path.join(cacheDir, 'rootfs', rootTreeName(image));
}

/** The ssh host key recorded in the manifest beside root.img (cacheDir.ts: one image directory), if any. */
export async function manifestHostKey(rootImage: string): Promise<string | undefined> {
  return (await readManifest(path.join(path.dirname(rootImage), IMAGE_FILES.manifest)))?.sshHostKey;
}

/** For --dry-run: the tree a run would use; `<hash>-<build>` as such while the image is not built. */
export async function plannedRootTreeDir(cacheDir: string, hash: string, rootImage: string): Promise<string> {
  const sshHostKey = await manifestHostKey(rootImage);
  return sshHostKey === undefined ? path.join(cacheDir, 'rootfs', `${hash}-<build>`) : rootTreeDir(cacheDir, { hash, sshHostKey });
}

/** Where the build's own host key is in its tree (guest/mmdebstrap/customize-hook.sh makes it). */
const HOST_KEY_FILE = 'etc/ssh/ssh_host_ed25519_key.pub';

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

/** What `find DIR -mindepth 1 -printf '%m %U %G %y %P\0'` (GNU findutils) saw in the unpacked tree. */
export interface FoundEntry {
  /** Permission bits with set-id and sticky bits (%m). */
  perm: number;
  uid: number;
  gid: number;
  /** %y: d, f, l, … */
  type: string;
}

/** Parses that find output into image paths ("/usr/bin/passwd"). Pure. */
export function parseFindOutput(text: string): Map<string, FoundEntry> {
  const out = new Map<string, FoundEntry>();
  for (const rec of text.split('\0')) {
    const m = /^([0-7]+) (\d+) (\d+) (\S) ([\s\S]+)$/.exec(rec);
    if (m) out.set('/' + m[5]!, { perm: parseInt(m[1]!, 8), uid: Number(m[2]), gid: Number(m[3]), type: m[4]! });
  }
  return out;
}

/**
 * The shell commands that make the unpacked tree (found) what the image lists (listed): chown
 * before chmod, since chown(2) clears the set-id bits. Paths are relative to the tree's top,
 * which the script is run in. Pure.
 */
export function fixupScript(listed: Map<string, TreeEntry>, found: Map<string, FoundEntry>): { script: string; changes: number; missing: string[] } {
  const lines: string[] = ['set -e'];
  const missing: string[] = [];
  let changes = 0;
  for (const [p, want] of listed) {
    const have = found.get(p);
    if (!have) {
      missing.push(p);
      continue;
    }
    const rel = shellQuote('.' + p);
    if (have.uid !== want.uid || have.gid !== want.gid) {
      lines.push(`chown -h ${want.uid}:${want.gid} ${rel}`);
      changes++;
    }
    // Symlinks have no mode of their own on Linux; after a chown the set-id bits are gone.
    const chowned = have.uid !== want.uid || have.gid !== want.gid;
    if (have.type !== 'l' && ((have.perm & 0o7777) !== (want.mode & 0o7777) || (chowned && (want.mode & 0o6000) !== 0))) {
      lines.push(`chmod ${(want.mode & 0o7777).toString(8)} ${rel}`);
      changes++;
    }
  }
  return { script: lines.join('\n') + '\n', changes, missing };
}

function unpackError(step: string, err: unknown): HostError {
  return new HostError('E_ROOTFS_UNPACK', `unpacking the image tree for --rootfs virtiofs: ${step} failed: ${err instanceof Error ? err.message : String(err)}`, 'check the image with kt image build --rebuild, or use --rootfs image');
}

/**
 * The unpacked tree of the image build, made now when missing. Everything that touches the tree
 * runs through `runner`: as kt itself when kt is root, else as root of the user namespace of the
 * user's subordinate ids (src/vm/image/toolRunner.ts), like a rootless image build — the tree
 * then belongs to those ids, as the build's tree did (docs/image.md). `sshHostKey` is the key the
 * run pins (GuestImage.sshHostKey); without it, the one in the manifest beside `rootImage`.
 */
export async function ensureRootTree(opts: {
  cacheDir: string;
  hash: string;
  rootImage: string;
  sshHostKey?: string;
  debugfs: string;
  runner: ToolRunner;
  onProgress?: (line: string) => void;
}): Promise<string> {
  const sshHostKey = opts.sshHostKey ?? (await manifestHostKey(opts.rootImage));
  if (sshHostKey === undefined) {
    throw new HostError(
      'E_ROOTFS_UNPACK',
      `no readable ${IMAGE_FILES.manifest} beside ${opts.rootImage}: kt names the unpacked tree for --rootfs virtiofs by the image build it records`,
      'build the image again with kt image build --rebuild, or use --rootfs image',
    );
  }
  const build: ImageBuild = { hash: opts.hash, sshHostKey };
  const final = rootTreeDir(opts.cacheDir, build);
  const parent = path.dirname(final);
  const name = path.basename(final);
  fs.mkdirSync(parent, { recursive: true });
  // Before looking for the tree: a kt tidying meanwhile then sees that this one uses it.
  markInUse(parent, name);
  await tidyRootTrees({ rootfsDir: parent, current: build, runner: opts.runner, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  if (fs.existsSync(final)) return final;
  const tmp = fs.mkdtempSync(path.join(parent, unpackPrefix(name)));
  const scratch = `${tmp}.kt`;
  const run = (step: string, file: string, args: string[]) => opts.runner.output(file, args).catch((err: unknown) => {
    throw unpackError(step, err);
  });
  try {
    opts.onProgress?.(`kt: virtiofs: unpacking ${opts.rootImage} into ${final} (once per image build)`);
    // Run in the new directory, so no path of the user's goes through debugfs' command parser.
    await run('debugfs rdump', 'sh', ['-c', 'cd "$1" && exec "$2" -R "rdump / ." "$3"', 'sh', tmp, opts.debugfs, opts.rootImage]);
    const found = parseFindOutput(await run('find', 'find', [tmp, '-mindepth', '1', '-printf', '%m %U %G %y %P\\0']));
    const dirs = ['/', ...[...found].filter(([, e]) => e.type === 'd').map(([p]) => p)];
    const bad = dirs.find((d) => d.includes('"') || d.includes('\n'));
    if (bad !== undefined) throw new HostError('E_ROOTFS_UNPACK', `the image holds a directory kt cannot list with debugfs: ${JSON.stringify(bad)}`, 'use --rootfs image');
    fs.writeFileSync(`${scratch}.cmds`, dirs.map((d) => `ls -p "${d}"\n`).join(''));
    // The image is the user's (or world-readable in the shared cache): debugfs reads it as kt.
    const listed = await execa(opts.debugfs, ['-f', `${scratch}.cmds`, opts.rootImage], { reject: false, stdout: 'pipe', stderr: 'pipe' });
    if (listed.exitCode !== 0) throw new HostError('E_ROOTFS_UNPACK', `debugfs could not list ${opts.rootImage}: ${String(listed.stderr).trim()}`, 'check the image with kt image build --rebuild');
    // debugfs echoes each command and prints each listing on stdout, in order.
    const listing = parseDebugfsListing(String(listed.stdout));
    if (listing.size === 0) throw new HostError('E_ROOTFS_UNPACK', `debugfs listed nothing in ${opts.rootImage}`, 'check the image with kt image build --rebuild');
    const fix = fixupScript(listing, found);
    // rdump writes directories, regular files and symlinks; /dev is empty in kt's image
    // (guest/mmdebstrap/finish-tree.sh), so nothing else is expected.
    if (fix.missing.length > 0) throw new HostError('E_ROOTFS_UNPACK', `${fix.missing.length} entries of the image are missing from the unpacked tree (${fix.missing.slice(0, 5).join(', ')})`, 'check the image with kt image build --rebuild, or use --rootfs image');
    // The tree's / is the image's: root's, 0755 (mkdtemp made it the user's, 0700).
    fs.writeFileSync(`${scratch}.sh`, `cd ${shellQuote(tmp)}\n${fix.script}chown 0:0 .\nchmod 755 .\n`);
    await run('restoring modes and owners', 'sh', [`${scratch}.sh`]);
    // A tree is only ever named for the build whose key it holds (root.img replaced by a
    // rebuild between the caller's look at the manifest and the unpack would break that).
    let treeKey: string;
    try {
      treeKey = fs.readFileSync(path.join(tmp, HOST_KEY_FILE), 'utf8').trim();
    } catch (err) {
      throw unpackError(`reading /${HOST_KEY_FILE} of the tree`, err);
    }
    if (treeKey !== sshHostKey.trim()) {
      throw new HostError(
        'E_ROOTFS_UNPACK',
        `${opts.rootImage} holds another image build than the one kt boots: its /${HOST_KEY_FILE} is "${treeKey}", the run pins "${sshHostKey.trim()}"`,
        'the image was rebuilt while kt unpacked it: run kt again',
      );
    }
    try {
      fs.renameSync(tmp, final);
    } catch (err) {
      // Another kt unpacked the same build meanwhile: use that one.
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && fs.existsSync(final)) {
        await opts.runner.output('rm', ['-rf', '--', tmp]).catch(() => undefined);
        return final;
      }
      throw err;
    }
    return final;
  } catch (err) {
    await opts.runner.output('rm', ['-rf', '--', tmp]).catch(() => undefined);
    throw err;
  } finally {
    fs.rmSync(`${scratch}.cmds`, { force: true });
    fs.rmSync(`${scratch}.sh`, { force: true });
  }
}
