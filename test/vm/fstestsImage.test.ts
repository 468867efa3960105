/**
 * The fstests image is keyed on the tree's content: real trees (a copy of the fixture fstests
 * tree), real mke2fs, real debugfs to read what the image holds, real touch -r to restore mtimes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileHashCache } from '../../src/vm/fileHashCache.js';
import { ensureFstestsImage, hashTree, isOutOfSpace, SKIP_DIRS } from '../../src/vm/fstestsImage.js';
import { stageTree } from '../../src/vm/fstestsStage.js';
import { makerTag } from '../../src/vm/leftovers.js';

const FIXTURE = new URL('../fixtures/fstests/', import.meta.url).pathname;
const TIMEOUT = 60_000;
let tmp: string;
let tree: string;
let cache: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-fstests-image-'));
  tree = path.join(tmp, 'fstests');
  cache = path.join(tmp, 'cache');
  fs.cpSync(FIXTURE, tree, { recursive: true });
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A file of the image, read by debugfs (e2fsprogs) without mounting it. */
function catInImage(image: string, file: string): string {
  return execFileSync('debugfs', ['-R', `cat /${file}`, image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/**
 * Rewrites `file` with `content` of the same length and gives it its old mtime back with
 * `touch -r`, as a careless copy or a tool restoring timestamps would. Writes again until ctime
 * moved: two writes inside one tick of the kernel's coarse clock leave ctime as it was.
 */
function editKeepingSizeAndMtime(file: string, content: string): void {
  const before = fs.statSync(file, { bigint: true });
  const ref = `${file}.ref`;
  fs.copyFileSync(file, ref, fs.constants.COPYFILE_FICLONE);
  execFileSync('touch', ['-r', file, ref]);
  expect(Buffer.byteLength(content)).toBe(Number(before.size));
  for (let i = 0; ; i++) {
    fs.writeFileSync(file, content);
    execFileSync('touch', ['-r', ref, file]);
    if (fs.statSync(file, { bigint: true }).ctimeNs !== before.ctimeNs) break;
    if (i > 1000) throw new Error('ctime never moved');
    execFileSync('sleep', ['0.01']);
  }
  fs.rmSync(ref);
  const after = fs.statSync(file, { bigint: true });
  expect(after.size).toBe(before.size);
  expect(after.mtimeNs).toBe(before.mtimeNs);
}

describe('ensureFstestsImage', () => {
  it('builds a new image after an edit that keeps size and mtime, and keeps the old one', async () => {
    const first = await ensureFstestsImage(tree, cache);
    const file = 'tests/generic/001.out';
    const old = fs.readFileSync(path.join(tree, file), 'utf8');
    expect(catInImage(first, file)).toBe(old);
    const edited = old.replace('QA output created by 001', 'QA output created by 00X');
    expect(edited).not.toBe(old);
    editKeepingSizeAndMtime(path.join(tree, file), edited);

    const second = await ensureFstestsImage(tree, cache);
    expect(second).not.toBe(first);
    expect(catInImage(second, file)).toBe(edited);
    expect(catInImage(first, file)).toBe(old);
    // Unchanged since: the same image again.
    expect(await ensureFstestsImage(tree, cache)).toBe(second);
  }, TIMEOUT);

  it('refuses to cache an image of a tree that changed while mke2fs packed it', async () => {
    // The real mke2fs, started through a wrapper that edits the tree first, as a `make`
    // still running next to kt would.
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    const mke2fs = execFileSync('bash', ['-c', 'PATH=$PATH:/sbin:/usr/sbin command -v mke2fs'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(path.join(bin, 'mke2fs'), `#!/bin/sh\necho built >>'${tree}/tests/generic/001.out'\nexec '${mke2fs}' "$@"\n`, { mode: 0o755 });
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath}`;
    try {
      const err = await ensureFstestsImage(tree, cache).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_FSTESTS_CHANGED' });
      expect((err as Error).message).toMatch(new RegExp(`^${tree} changed while kt packed it into an image \\(tree hash [0-9a-f]{16}, then [0-9a-f]{16}\\)$`));
    } finally {
      process.env.PATH = savedPath;
    }
    expect(fs.readdirSync(path.join(cache, 'fstests')).filter((f) => f.endsWith('.img') || f.endsWith('.tmp'))).toEqual([]);
  }, TIMEOUT);
});

/** The names in a directory of the image, from debugfs' `ls` (e2fsprogs). */
function lsInImage(image: string, dir: string): string[] {
  const out = execFileSync('debugfs', ['-R', `ls ${dir}`, image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  // `ls` without -l prints ` <inode>  (<rec_len>) <name>` entries, several to a line.
  return [...out.matchAll(/\d+\s+\(\d+\)\s+(\S+)/g)].map((m) => m[1]!).sort();
}

/** What is beside the images: nothing but *.img and the hash cache once a pack has ended. */
function cacheEntries(): string[] {
  return fs.readdirSync(path.join(cache, 'fstests')).sort();
}

/** The pid of a process that ran and exited (the real `true`). */
function deadPid(): number {
  const r = spawnSync('true');
  expect(r.status).toBe(0);
  return r.pid!;
}

describe('ensureFstestsImage leaves results/ and .git out of the image', () => {
  it('packs a tree with 120 MB of old results and a .git directory into the image of the tree without them', async () => {
    const clean = await ensureFstestsImage(tree, cache);
    // ./check run in the tree: results/<section>/<test>.full and friends, here 120 MB of data.
    fs.mkdirSync(path.join(tree, 'results', 'xfs'), { recursive: true });
    const big = Buffer.alloc(120 * 2 ** 20);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    fs.writeFileSync(path.join(tree, 'results', 'xfs', 'generic-001.full'), big);
    fs.writeFileSync(path.join(tree, 'results', 'check.log'), 'generic/001 1s\n');
    execFileSync('git', ['init', '-q', tree]);
    execFileSync('git', ['-C', tree, 'add', 'common'], { stdio: 'ignore' });
    fs.rmSync(clean);

    const image = await ensureFstestsImage(tree, cache);
    // Same name as before: neither the hash nor the size counts them, and the image holds neither.
    expect(image).toBe(clean);
    const top = lsInImage(image, '/');
    expect(top).toEqual(expect.arrayContaining(['check', 'common', 'tests']));
    expect(top).not.toContain('results');
    expect(top).not.toContain('.git');
    expect(catInImage(image, 'tests/generic/001.out')).toBe(fs.readFileSync(path.join(tree, 'tests/generic/001.out'), 'utf8'));
    // Sized for the tree alone: far below the 120 MB it would need with the results in it.
    expect(fs.statSync(image).size).toBeLessThan(100 * 2 ** 20);
    // The stage is gone, the tree is as it was.
    expect(cacheEntries().filter((f) => !f.endsWith('.img') && f !== 'file-hashes')).toEqual([]);
    expect(fs.statSync(path.join(tree, 'results', 'xfs', 'generic-001.full')).size).toBe(big.length);
    expect(fs.existsSync(path.join(tree, '.git', 'HEAD'))).toBe(true);
  }, TIMEOUT);

  it('keeps hard links, modes and symlinks of the tree in the image', async () => {
    fs.linkSync(path.join(tree, 'check'), path.join(tree, 'check-link'));
    fs.symlinkSync('tests/generic', path.join(tree, 'generic'));
    fs.mkdirSync(path.join(tree, 'ro'));
    fs.writeFileSync(path.join(tree, 'ro', 'f'), 'x');
    fs.chmodSync(path.join(tree, 'ro'), 0o555);
    const image = await ensureFstestsImage(tree, cache);
    const stat = (p: string) => execFileSync('debugfs', ['-R', `stat ${p}`, image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const inode = (p: string) => /^Inode: (\d+)/m.exec(stat(p))?.[1];
    expect(inode('/check-link')).toBe(inode('/check'));
    expect(stat('/generic')).toMatch(/Type: symlink/);
    expect(stat('/generic')).toMatch(/Fast link dest: "tests\/generic"/);
    expect(stat('/ro')).toMatch(/Mode:\s+0555/);
    expect(cacheEntries().filter((f) => !f.endsWith('.img') && f !== 'file-hashes')).toEqual([]);
  }, TIMEOUT);

  it('says that space ran out when mke2fs could not allocate a block', async () => {
    // The real mke2fs, through a wrapper that puts 100 MB more into the tree it is handed (its -d
    // directory) than kt sized the image for: mke2fs then runs out of blocks, as it did when it
    // copied the results/ that the size left out. Random bytes: mke2fs -d skips zero blocks.
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    const mke2fs = execFileSync('bash', ['-c', 'PATH=$PATH:/sbin:/usr/sbin command -v mke2fs'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(
      path.join(bin, 'mke2fs'),
      `#!/bin/sh\nfor a; do [ "$prev" = -d ] && head -c 100000000 /dev/urandom >"$a/grown"; prev=$a; done\nexec '${mke2fs}' "$@"\n`,
      { mode: 0o755 },
    );
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath}`;
    try {
      const err = await ensureFstestsImage(tree, cache).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_FSTESTS_IMAGE' });
      expect((err as Error).message).toMatch(/Could not allocate block in ext2 filesystem/);
      expect((err as { hint: string }).hint).toMatch(new RegExp(`^mke2fs ran out of space: the image was sized \\d+ MiB for \\d+ bytes in \\d+ entries \\(results/ and \\.git left out\\); check the free disk space in ${path.join(cache, 'fstests')} \\(df -h `));
    } finally {
      process.env.PATH = savedPath;
    }
    expect(cacheEntries().filter((f) => f !== 'file-hashes')).toEqual([]);
    expect(fs.existsSync(path.join(tree, 'grown'))).toBe(false);
  }, TIMEOUT);

  it('removes the stages and half-written images of kts that are gone, not those of a live one', async () => {
    const dir = path.join(cache, 'fstests');
    fs.mkdirSync(dir, { recursive: true });
    const dead = makerTag(deadPid());
    const live = makerTag(process.pid);
    const elsewhere = makerTag(deadPid(), 'another-host');
    fs.mkdirSync(path.join(dir, `.stage.${dead}AbC123`, 'tests'), { recursive: true });
    fs.writeFileSync(path.join(dir, `.stage.${dead}AbC123`, 'tests', 'f'), 'x');
    fs.chmodSync(path.join(dir, `.stage.${dead}AbC123`, 'tests'), 0o555);
    fs.writeFileSync(path.join(dir, `.packing.${dead}0123456789abcdef.img.tmp`), 'half');
    fs.mkdirSync(path.join(dir, `.stage.${live}XyZ789`));
    fs.mkdirSync(path.join(dir, `.stage.${elsewhere}QrS456`));
    const image = await ensureFstestsImage(tree, cache);
    expect(cacheEntries().filter((f) => f !== 'file-hashes')).toEqual([`.stage.${elsewhere}QrS456`, `.stage.${live}XyZ789`, path.basename(image)].sort());
  }, TIMEOUT);

  it('stages a tree on another file system by copying, with the same content', async () => {
    const shm = '/dev/shm';
    if (!fs.existsSync(shm) || fs.statSync(shm).dev === fs.statSync(tmp).dev) return;
    const far = fs.mkdtempSync(path.join(shm, 'kt-fstests-tree-'));
    try {
      fs.cpSync(tree, far, { recursive: true });
      fs.mkdirSync(path.join(far, 'results'));
      fs.writeFileSync(path.join(far, 'results', 'check.log'), 'x');
      const stage = fs.mkdtempSync(path.join(tmp, 'stage-'));
      const counts = stageTree(far, stage, SKIP_DIRS);
      // link(2) across file systems fails with EXDEV: every entry is a copy.
      expect(counts.linked).toBe(0);
      expect(counts.copied).toBeGreaterThan(10);
      expect(fs.existsSync(path.join(stage, 'results'))).toBe(false);
      const load = (root: string) => hashTree(root, FileHashCache.load(path.join(tmp, 'none'), root));
      expect(load(stage).hash).toBe(load(far).hash);
    } finally {
      fs.rmSync(far, { recursive: true, force: true });
    }
  }, TIMEOUT);
});

describe('isOutOfSpace', () => {
  it('knows mke2fs 1.47 running out of blocks and a full disk, nothing else', () => {
    expect(isOutOfSpace('__populate_fs: Could not allocate block in ext2 filesystem while writing file "big"')).toBe(true);
    expect(isOutOfSpace("ENOSPC: no space left on device, copyfile '/a' -> '/b'")).toBe(true);
    expect(isOutOfSpace('__populate_fs: Permission denied while trying to open "x"')).toBe(false);
  });
});

describe('hashTree', () => {
  const hashes = path.join('cache', 'file-hashes');
  /** A cache that treats every file as settled (its clock 60 s ahead), so it remembers them. */
  const settled = () => FileHashCache.load(path.join(tmp, hashes), tree, Date.now() + 60_000);

  it('reads each file once, then answers from the cache until a file changes', () => {
    const first = hashTree(tree, settled());
    expect(first.hashedFiles).toBeGreaterThan(10);
    expect(first.hashedFiles).toBe(first.files - fs.readdirSync(tree, { recursive: true, withFileTypes: true }).filter((e) => !e.isFile()).length);
    // hashTree does not save; the caller does.
    const c1 = settled();
    hashTree(tree, c1);
    c1.save();
    const again = hashTree(tree, settled());
    expect(again).toEqual({ ...first, hashedFiles: 0 });

    const file = path.join(tree, 'tests/selftest/001');
    editKeepingSizeAndMtime(file, fs.readFileSync(file, 'utf8').replace('#', '%'));
    const edited = hashTree(tree, settled());
    expect(edited.hashedFiles).toBe(1);
    expect(edited.hash).not.toBe(first.hash);
  });

  it('does not remember files changed just now (a change in the same clock tick would keep their ctime)', () => {
    const c = FileHashCache.load(path.join(tmp, hashes), tree);
    const first = hashTree(tree, c);
    c.save();
    expect(hashTree(tree, FileHashCache.load(path.join(tmp, hashes), tree)).hashedFiles).toBe(first.hashedFiles);
  });

  it('keys on content, mode and names, not on timestamps', () => {
    const load = () => FileHashCache.load(path.join(tmp, 'none'), tree);
    const base = hashTree(tree, load()).hash;
    execFileSync('touch', [path.join(tree, 'tests/generic/002')]);
    expect(hashTree(tree, load()).hash).toBe(base);
    fs.chmodSync(path.join(tree, 'tests/generic/002'), 0o600);
    const chmodded = hashTree(tree, load()).hash;
    expect(chmodded).not.toBe(base);
    fs.renameSync(path.join(tree, 'tests/generic/002.out'), path.join(tree, 'tests/generic/002.out2'));
    expect(hashTree(tree, load()).hash).not.toBe(chmodded);
    // Old results and .git at the top are not part of the tree the guest gets.
    fs.mkdirSync(path.join(tree, 'results'));
    fs.writeFileSync(path.join(tree, 'results', 'check.log'), 'x');
    const withResults = hashTree(tree, load()).hash;
    fs.writeFileSync(path.join(tree, 'results', 'check.log'), 'y');
    expect(hashTree(tree, load()).hash).toBe(withResults);
  });

  it('treats a broken cache file as empty', () => {
    const c = settled();
    const first = hashTree(tree, c);
    c.save();
    const [file] = fs.readdirSync(path.join(tmp, hashes));
    fs.writeFileSync(path.join(tmp, hashes, file!), '{"version":1,"root":');
    expect(hashTree(tree, settled())).toEqual(first);
  });
});
