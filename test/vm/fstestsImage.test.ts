/**
 * The fstests image is keyed on the tree's content: real trees (a copy of the fixture fstests
 * tree), real mke2fs, real debugfs to read what the image holds, real touch -r to restore mtimes.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileHashCache } from '../../src/vm/fileHashCache.js';
import { ensureFstestsImage, hashTree } from '../../src/vm/fstestsImage.js';

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
