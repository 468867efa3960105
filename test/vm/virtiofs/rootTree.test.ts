import { execa } from 'execa';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { preflightMemoPath } from '../../../src/cli/preflightMemo.js';
import type { ImageManifest } from '../../../src/vm/image/manifest.js';
import { findOnPath } from '../../../src/vm/image/hostTools.js';
import { directRunner } from '../../../src/vm/image/toolRunner.js';
import { makerTag } from '../../../src/vm/leftovers.js';
import { ensureRootTree, fixupScript, parseDebugfsListing, parseFindOutput, plannedRootTreeDir, rootTreeDir } from '../../../src/vm/virtiofs/rootTree.js';
import { imageBuildTag, rootTreeName } from '../../../src/vm/virtiofs/rootTreeCache.js';

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

/** A fresh ed25519 host key in `<root>/etc/ssh`, made as guest/mmdebstrap/customize-hook.sh makes it. */
async function hostKey(root: string): Promise<string> {
  const file = path.join(root, 'etc/ssh/ssh_host_ed25519_key');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.pub`, { force: true });
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kt-guest', '-f', file]);
  return fs.readFileSync(`${file}.pub`, 'utf8').trim();
}

describe('rootTreeName', () => {
  it("names a tree by recipe hash and image build, the build as the preflight memo names it", () => {
    const build = { hash: '0123456789abcdef', sshHostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM2n8h6w2r0hJ1yW4b3mR5lUuGd7l3XyqS0vJm1cJH6w kt-guest' };
    const name = rootTreeName(build);
    expect(name).toMatch(/^0123456789abcdef-[0-9a-f]{8}$/);
    expect(path.basename(preflightMemoPath('/c', build, '/c/fstests/feedfacefeedface.img'))).toBe(`${name}-feedfacefeedface`);
    expect(imageBuildTag(`${build.sshHostKey}x`)).not.toBe(imageBuildTag(build.sshHostKey));
  });
});

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
    fs.mkdirSync(path.join(src, 'etc/ssh'), { recursive: true });
    const key = await hostKey(src);
    const image = path.join(tmp, 'root.img');
    await execa(mke2fs!, ['-q', '-F', '-t', 'ext4', '-d', src, image, '16M']);

    const cache = path.join(tmp, 'cache');
    const lines: string[] = [];
    const build = { hash: '0123456789abcdef', sshHostKey: key };
    const tree = await ensureRootTree({ cacheDir: cache, ...build, rootImage: image, debugfs: debugfs!, runner: directRunner(), onProgress: (l) => lines.push(l) });
    expect(tree).toBe(rootTreeDir(cache, build));
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
    expect(lines).toEqual([`kt: virtiofs: unpacking ${image} into ${tree} (once per image build)`]);
    // Nothing left beside it but the note that this process uses it; a second call reuses it
    // without unpacking.
    expect(fs.readdirSync(path.join(cache, 'rootfs')).sort()).toEqual(['.in-use', path.basename(tree)]);
    expect(fs.readdirSync(path.join(cache, 'rootfs', '.in-use'))).toEqual([`${path.basename(tree)}.${makerTag()}`]);
    const again: string[] = [];
    expect(await ensureRootTree({ cacheDir: cache, ...build, rootImage: image, debugfs: debugfs!, runner: directRunner(), onProgress: (l) => again.push(l) })).toBe(tree);
    expect(again).toEqual([]);
  }, 60_000);

  it('leaves nothing behind when debugfs cannot read the image', async () => {
    const cache = path.join(tmp, 'cache2');
    const bad = path.join(tmp, 'not-ext4.img');
    fs.writeFileSync(bad, Buffer.alloc(1 << 20));
    await expect(ensureRootTree({ cacheDir: cache, hash: 'feedfacefeedface', sshHostKey: 'ssh-ed25519 AAAA kt-guest', rootImage: bad, debugfs: debugfs!, runner: directRunner() })).rejects.toMatchObject({ code: 'E_ROOTFS_UNPACK' });
    expect(fs.readdirSync(path.join(cache, 'rootfs'))).toEqual(['.in-use']);
  }, 60_000);

  /**
   * An image build as buildImage installs one (src/vm/image/buildImage.ts): a root.img made by
   * mke2fs -d from a tree with a fresh host key, and its manifest.json, written into a new
   * directory that replaces images/<hash> (the old one renamed aside first, as installBuild does).
   */
  async function buildImage(cache: string, hash: string, note: string): Promise<{ rootImage: string; sshHostKey: string }> {
    const images = path.join(cache, 'images');
    fs.mkdirSync(images, { recursive: true });
    const work = fs.mkdtempSync(path.join(images, `.build-${hash}-`));
    const src = path.join(work, 'rootfs');
    fs.mkdirSync(path.join(src, 'usr/bin'), { recursive: true });
    fs.writeFileSync(path.join(src, 'usr/bin/passwd'), '#!/bin/sh\n');
    fs.chmodSync(path.join(src, 'usr/bin/passwd'), 0o4755);
    fs.writeFileSync(path.join(src, 'build-note'), `${note}\n`);
    const sshHostKey = await hostKey(src);
    const out = path.join(work, 'out');
    fs.mkdirSync(out);
    await execa(mke2fs!, ['-q', '-F', '-t', 'ext4', '-d', src, path.join(out, 'root.img'), '16M']);
    const manifest: ImageManifest = {
      hash, recipeVersion: 1, kernelRelease: '6.1.0-41-cloud-amd64', suite: 'bookworm', sources: [], packages: [], installed: {}, initramfsModules: [],
      rootFilesystem: 'ext4', sshHostKey, buildMode: 'root', builtAt: new Date().toISOString(), buildSeconds: 1,
      sizes: { kernel: 0, initramfs: 0, rootImage: fs.statSync(path.join(out, 'root.img')).size, rootImageAllocated: 0, rootTree: 0 },
    };
    fs.writeFileSync(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const dir = path.join(images, hash);
    const hadOld = fs.existsSync(dir);
    if (hadOld) fs.renameSync(dir, `${dir}.old`);
    fs.renameSync(out, dir);
    if (hadOld) fs.rmSync(`${dir}.old`, { recursive: true });
    fs.rmSync(work, { recursive: true });
    return { rootImage: path.join(dir, 'root.img'), sshHostKey };
  }

  /** What kt serves of a tree: its build note and its host key. */
  const served = (tree: string) => [fs.readFileSync(path.join(tree, 'build-note'), 'utf8').trim(), fs.readFileSync(path.join(tree, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8').trim()];

  /** The pid of a process that ran and exited (the real `true`). */
  const deadPid = () => spawnSync('true').pid!;

  /** Says, as a kt that has exited would have left it, that a dead process used `tree`. */
  function leaveInUse(cache: string, tree: string, pid: number): void {
    fs.writeFileSync(path.join(cache, 'rootfs', '.in-use', `${tree}.${makerTag(pid)}`), '');
  }

  it('unpacks a rebuilt image (same recipe hash, new build) into a tree of its own, and deletes the old tree once no kt uses it', async () => {
    const cache = path.join(tmp, 'cache-rebuild');
    const hash = '0e3c59f1fcdabede';
    const a = await buildImage(cache, hash, 'build A');
    const treeA = await ensureRootTree({ cacheDir: cache, hash, rootImage: a.rootImage, debugfs: debugfs!, runner: directRunner() });
    expect(treeA).toBe(rootTreeDir(cache, { hash, sshHostKey: a.sshHostKey }));
    expect(served(treeA)).toEqual(['build A', a.sshHostKey]);

    // kt image build --rebuild: same hash, new key, installed over images/<hash>.
    const b = await buildImage(cache, hash, 'build B');
    expect(b.sshHostKey).not.toBe(a.sshHostKey);
    expect(b.rootImage).toBe(a.rootImage);
    const lines: string[] = [];
    const treeB = await ensureRootTree({ cacheDir: cache, hash, rootImage: b.rootImage, sshHostKey: b.sshHostKey, debugfs: debugfs!, runner: directRunner(), onProgress: (l) => lines.push(l) });
    expect(treeB).not.toBe(treeA);
    expect(served(treeB)).toEqual(['build B', b.sshHostKey]);
    // This process said it uses tree A (the first call): tree A stays, untouched, as a run that
    // still serves it needs it.
    expect(served(treeA)).toEqual(['build A', a.sshHostKey]);
    expect(lines).toEqual([`kt: virtiofs: unpacking ${b.rootImage} into ${treeB} (once per image build)`]);

    // That run ended (its .in-use file names a process that is gone): the next kt deletes tree A.
    const inUse = path.join(cache, 'rootfs', '.in-use');
    fs.rmSync(path.join(inUse, `${path.basename(treeA)}.${makerTag()}`));
    leaveInUse(cache, path.basename(treeA), deadPid());
    const later: string[] = [];
    expect(await ensureRootTree({ cacheDir: cache, hash, rootImage: b.rootImage, debugfs: debugfs!, runner: directRunner(), onProgress: (l) => later.push(l) })).toBe(treeB);
    expect(later).toEqual([`kt: virtiofs: removing ${treeA}, the tree of an earlier build of image ${hash}`]);
    expect(fs.readdirSync(path.join(cache, 'rootfs')).sort()).toEqual(['.in-use', path.basename(treeB)]);
    expect(fs.readdirSync(inUse)).toEqual([`${path.basename(treeB)}.${makerTag()}`]);
  }, 60_000);

  it("keeps an earlier build's tree while a live process uses it, and trees of other hashes and of the hash alone", async () => {
    const cache = path.join(tmp, 'cache-live');
    const hash = '1ded48fe395b59b1';
    const a = await buildImage(cache, hash, 'build A');
    const treeA = await ensureRootTree({ cacheDir: cache, hash, rootImage: a.rootImage, debugfs: debugfs!, runner: directRunner() });
    fs.rmSync(path.join(cache, 'rootfs', '.in-use', `${path.basename(treeA)}.${makerTag()}`));
    // A run still serving tree A: a real process, alive until killed.
    const run = spawn('sleep', ['600'], { stdio: 'ignore' });
    let treeB: string;
    const b = await buildImage(cache, hash, 'build B');
    try {
      leaveInUse(cache, path.basename(treeA), run.pid!);
      // Trees kt does not delete: another recipe's, and one unpacked by kt before trees named their build.
      fs.mkdirSync(path.join(cache, 'rootfs', '22b18531f88479ab-0a1b2c3d'));
      fs.mkdirSync(path.join(cache, 'rootfs', hash));
      treeB = await ensureRootTree({ cacheDir: cache, hash, rootImage: b.rootImage, debugfs: debugfs!, runner: directRunner() });
      expect(served(treeA)).toEqual(['build A', a.sshHostKey]);
      expect(served(treeB)).toEqual(['build B', b.sshHostKey]);
    } finally {
      run.kill('SIGKILL');
      await new Promise((resolve) => run.once('exit', resolve));
    }
    // That run is over: tree A goes, the others stay.
    expect(await ensureRootTree({ cacheDir: cache, hash, rootImage: b.rootImage, debugfs: debugfs!, runner: directRunner() })).toBe(treeB);
    expect(fs.readdirSync(path.join(cache, 'rootfs')).sort()).toEqual(['.in-use', hash, '22b18531f88479ab-0a1b2c3d', path.basename(treeB)].sort());
  }, 60_000);

  it('removes unpacks that a kt gone from this host left (Ctrl-C), through the runner, and not one a live kt is writing', async () => {
    const cache = path.join(tmp, 'cache-stale');
    const hash = '265c369f3f4700b2';
    const a = await buildImage(cache, hash, 'build A');
    const rootfs = path.join(cache, 'rootfs');
    const name = rootTreeName({ hash, sshHostKey: a.sshHostKey });
    fs.mkdirSync(rootfs, { recursive: true });
    // What an interrupted unpack leaves: a half tree owned by the image's ids (here root and
    // fsgqa's 1000), a directory without write permission, and debugfs' command file.
    const interrupted = (tag: string, suffix: string) => {
      const dir = path.join(rootfs, `.unpack-${name}.${tag}${suffix}`);
      fs.mkdirSync(path.join(dir, 'home/fsgqa/sub'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'home/fsgqa/sub/f'), 'x');
      fs.chownSync(path.join(dir, 'home/fsgqa'), 1000, 1000);
      fs.chmodSync(path.join(dir, 'home/fsgqa/sub'), 0o555);
      fs.writeFileSync(`${dir}.kt.cmds`, 'ls -p "/"\n');
      return path.basename(dir);
    };
    const dead = interrupted(makerTag(deadPid()), 'Ab12Cd');
    const live = interrupted(makerTag(process.pid), 'Ef34Gh');
    const elsewhere = interrupted(makerTag(deadPid(), 'build-host-2'), 'Ij56Kl');
    // kt before unpacks named their maker: `.unpack-<hash>-XXXXXX`, judged by age.
    const oldUnnamed = path.join(rootfs, `.unpack-${hash}-Mn78Op`);
    const newUnnamed = path.join(rootfs, `.unpack-${hash}-Qr90St`);
    for (const d of [oldUnnamed, newUnnamed]) fs.mkdirSync(path.join(d, 'etc'), { recursive: true });
    const twoHoursAgo = new Date(Date.now() - 7_200_000);
    fs.utimesSync(oldUnnamed, twoHoursAgo, twoHoursAgo);

    const lines: string[] = [];
    const tree = await ensureRootTree({ cacheDir: cache, hash, rootImage: a.rootImage, debugfs: debugfs!, runner: directRunner(), onProgress: (l) => lines.push(l) });
    expect(served(tree)).toEqual(['build A', a.sshHostKey]);
    expect(fs.readdirSync(rootfs).sort()).toEqual(['.in-use', live, `${live}.kt.cmds`, elsewhere, `${elsewhere}.kt.cmds`, path.basename(newUnnamed), name].sort());
    expect(lines.filter((l) => l.includes('interrupted')).sort()).toEqual(
      [dead, `${dead}.kt.cmds`, path.basename(oldUnnamed)].map((n) => `kt: virtiofs: removing an interrupted unpack: ${path.join(rootfs, n)}`).sort(),
    );
  }, 60_000);

  it('refuses a root.img that holds another build than the one the run pins, and leaves no tree', async () => {
    const cache = path.join(tmp, 'cache-mismatch');
    const hash = '2337b0eca6651832';
    const a = await buildImage(cache, hash, 'build A');
    const pinned = a.sshHostKey;
    // Rebuilt after the run read the manifest it pins.
    const b = await buildImage(cache, hash, 'build B');
    const err = await ensureRootTree({ cacheDir: cache, hash, rootImage: b.rootImage, sshHostKey: pinned, debugfs: debugfs!, runner: directRunner() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_ROOTFS_UNPACK', hint: 'the image was rebuilt while kt unpacked it: run kt again' });
    expect((err as Error).message).toBe(`${b.rootImage} holds another image build than the one kt boots: its /etc/ssh/ssh_host_ed25519_key.pub is "${b.sshHostKey}", the run pins "${pinned}"`);
    expect(fs.readdirSync(path.join(cache, 'rootfs'))).toEqual(['.in-use']);
  }, 60_000);

  it('names the tree for --dry-run from the manifest, or says <build> before the image exists', async () => {
    const cache = path.join(tmp, 'cache-dry');
    const hash = '30940a05911b42ce';
    const rootImage = path.join(cache, 'images', hash, 'root.img');
    expect(await plannedRootTreeDir(cache, hash, rootImage)).toBe(path.join(cache, 'rootfs', `${hash}-<build>`));
    const a = await buildImage(cache, hash, 'build A');
    expect(await plannedRootTreeDir(cache, hash, rootImage)).toBe(rootTreeDir(cache, { hash, sshHostKey: a.sshHostKey }));
    expect(fs.existsSync(path.join(cache, 'rootfs'))).toBe(false);
  }, 60_000);
});
