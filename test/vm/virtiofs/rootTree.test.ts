import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findOnPath } from '../../../src/vm/image/hostTools.js';
import { directRunner } from '../../../src/vm/image/toolRunner.js';
import { ensureRootTree, fixupScript, parseDebugfsListing, parseFindOutput, rootTreeDir } from '../../../src/vm/virtiofs/rootTree.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-roottree-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('parseDebugfsListing', () => {
  it('reads `ls -p` of debugfs 1.47 per listed directory, without . and ..', () => {
    // debugfs 1.47.0 -f on kt's root.img (the first lines of two listings).
    const out = [
      'debugfs: ls -p "/usr/bin"',
      '/321/040755/0/0/.//',
      '/320/040755/0/0/..//',
      '/450/104755/0/0/gpasswd/88496/',
      '/545/100755/0/0/mountpoint/18744/',
      'debugfs: ls -p "/home"',
      '/12/040755/0/0/.//',
      '/13/040755/1000/1000/fsgqa//',
    ].join('\n');
    expect([...parseDebugfsListing(out)]).toEqual([
      ['/usr/bin/gpasswd', { mode: 0o104755, uid: 0, gid: 0 }],
      ['/usr/bin/mountpoint', { mode: 0o100755, uid: 0, gid: 0 }],
      ['/home/fsgqa', { mode: 0o40755, uid: 1000, gid: 1000 }],
    ]);
  });
});

describe('fixupScript', () => {
  it('chowns before it chmods, puts back set-id bits a chown cleared, leaves symlink modes, and names what is missing', () => {
    // find's view after rdump: passwd lost its set-uid bit, a symlink and a file kept everything.
    const found = parseFindOutput(['755 0 0 f usr/bin/passwd', '777 0 0 l bin', '644 0 0 f etc/sh adow', '755 0 0 d home/fsgqa', ''].join('\0'));
    expect(found.get('/etc/sh adow')).toEqual({ perm: 0o644, uid: 0, gid: 0, type: 'f' });
    const listed = new Map([
      ['/usr/bin/passwd', { mode: 0o104755, uid: 0, gid: 0 }],
      ['/bin', { mode: 0o120777, uid: 0, gid: 0 }],
      ['/etc/sh adow', { mode: 0o100640, uid: 0, gid: 42 }],
      ['/home/fsgqa', { mode: 0o40755, uid: 1000, gid: 1000 }],
      ['/usr/bin/gone', { mode: 0o100755, uid: 0, gid: 0 }],
    ]);
    expect(fixupScript(listed, found)).toEqual({
      script: ['set -e', 'chmod 4755 ./usr/bin/passwd', 'chown -h 0:42 \'./etc/sh adow\'', 'chmod 640 \'./etc/sh adow\'', 'chown -h 1000:1000 ./home/fsgqa', ''].join('\n'),
      changes: 4,
      missing: ['/usr/bin/gone'],
    });
  });
});

const mke2fs = findOnPath('mke2fs', process.env.PATH);
const debugfs = findOnPath('debugfs', process.env.PATH);
const isRoot = process.geteuid?.() === 0;

describe.skipIf(!mke2fs || !debugfs || !isRoot)('ensureRootTree (real mke2fs and debugfs, as root)', () => {
  it('unpacks an ext4 image with owners, set-id bits and symlinks as they were, once', async () => {
    const src = path.join(tmp, 'src');
    fs.mkdirSync(path.join(src, 'usr/bin'), { recursive: true });
    fs.mkdirSync(path.join(src, 'home/fsgqa'), { recursive: true });
    fs.mkdirSync(path.join(src, 'var/mail'), { recursive: true });
    fs.writeFileSync(path.join(src, 'usr/bin/passwd'), '#!/bin/sh\n');
    fs.writeFileSync(path.join(src, 'usr/bin/chage'), '#!/bin/sh\n');
    fs.writeFileSync(path.join(src, 'etc-shadow'), 'x\n');
    fs.symlinkSync('usr/bin', path.join(src, 'bin'));
    fs.chmodSync(path.join(src, 'usr/bin/passwd'), 0o4755);
    fs.chownSync(path.join(src, 'usr/bin/chage'), 0, 42);
    fs.chmodSync(path.join(src, 'usr/bin/chage'), 0o2755);
    fs.chownSync(path.join(src, 'etc-shadow'), 0, 42);
    fs.chmodSync(path.join(src, 'etc-shadow'), 0o640);
    fs.chownSync(path.join(src, 'home/fsgqa'), 1000, 1000);
    fs.chownSync(path.join(src, 'var/mail'), 0, 8);
    fs.chmodSync(path.join(src, 'var/mail'), 0o2775);
    const image = path.join(tmp, 'root.img');
    await execa(mke2fs!, ['-q', '-F', '-t', 'ext4', '-d', src, image, '16M']);

    const cache = path.join(tmp, 'cache');
    const lines: string[] = [];
    const tree = await ensureRootTree({ cacheDir: cache, hash: '0123456789abcdef', rootImage: image, debugfs: debugfs!, runner: directRunner(), onProgress: (l) => lines.push(l) });
    expect(tree).toBe(rootTreeDir(cache, '0123456789abcdef'));
    const mode = (p: string) => {
      const st = fs.lstatSync(path.join(tree, p));
      return [(st.mode & 0o7777).toString(8), st.uid, st.gid];
    };
    expect(mode('usr/bin/passwd')).toEqual(['4755', 0, 0]);
    expect(mode('usr/bin/chage')).toEqual(['2755', 0, 42]);
    expect(mode('etc-shadow')).toEqual(['640', 0, 42]);
    expect(mode('home/fsgqa')).toEqual(['755', 1000, 1000]);
    expect(mode('var/mail')).toEqual(['2775', 0, 8]);
    expect(fs.readlinkSync(path.join(tree, 'bin'))).toBe('usr/bin');
    expect(fs.readFileSync(path.join(tree, 'usr/bin/passwd'), 'utf8')).toBe('#!/bin/sh\n');
    expect(lines).toEqual([`kt: virtiofs: unpacking ${image} into ${tree} (once per image)`]);
    // Nothing left beside it; a second call reuses it without unpacking.
    expect(fs.readdirSync(path.join(cache, 'rootfs'))).toEqual(['0123456789abcdef']);
    const again: string[] = [];
    expect(await ensureRootTree({ cacheDir: cache, hash: '0123456789abcdef', rootImage: image, debugfs: debugfs!, runner: directRunner(), onProgress: (l) => again.push(l) })).toBe(tree);
    expect(again).toEqual([]);
  }, 60_000);

  it('leaves nothing behind when debugfs cannot read the image', async () => {
    const cache = path.join(tmp, 'cache2');
    const bad = path.join(tmp, 'not-ext4.img');
    fs.writeFileSync(bad, Buffer.alloc(1 << 20));
    await expect(ensureRootTree({ cacheDir: cache, hash: 'feedfacefeedface', rootImage: bad, debugfs: debugfs!, runner: directRunner() })).rejects.toMatchObject({ code: 'E_ROOTFS_UNPACK' });
    expect(fs.readdirSync(path.join(cache, 'rootfs'))).toEqual([]);
  }, 60_000);
});
