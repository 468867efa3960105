import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostError } from '../../../src/errors.js';
import { readCachedImage, type GuestImage } from '../../../src/vm/image/ensureImage.js';
import { imageFilesIn, imagePaths } from '../../../src/vm/image/cacheDir.js';
import { leftoverPins, pinImage, PIN_PREFIX } from '../../../src/vm/image/pinImage.js';

let cache: string;
beforeEach(() => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-pin-'));
});
afterEach(() => {
  fs.rmSync(cache, { recursive: true, force: true });
});

const HASH = '0e3c59f1fcdabede';
/** The fields src/vm/image/manifest.ts requires, as a built image has them. */
const manifest = (sshHostKey: string) => ({
  hash: HASH, recipeVersion: 1, kernelRelease: '6.1.0-57-cloud-amd64', suite: 'bookworm',
  sources: [], packages: [], installed: {}, initramfsModules: [], rootFilesystem: 'ext4', sshHostKey,
  builtAt: '2026-01-01T00:00:00Z', buildSeconds: 45,
  sizes: { kernel: 1, initramfs: 1, rootImage: 1, rootImageAllocated: 1, rootTree: 1 },
});

/** Writes a finished build of HASH into `dir`, as buildImage.ts does (the manifest last). */
function writeBuild(dir: string, tag: string, opts: { vmlinux?: boolean } = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['vmlinuz', 'initramfs.cpio.gz', 'root.img', ...(opts.vmlinux === false ? [] : ['vmlinux'])]) fs.writeFileSync(path.join(dir, f), `${f} of build ${tag}`);
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest(`ssh-ed25519 AAAA${tag} kt-guest`)));
}

/** What `kt image build --rebuild` does to the image directory (buildImage.ts installBuild). */
function rebuild(tag: string): void {
  const final = imagePaths(cache, HASH).dir;
  const work = path.join(cache, 'images', `.build-${HASH}-x`);
  writeBuild(work, tag);
  fs.renameSync(final, `${work}.old`);
  fs.renameSync(work, final);
  fs.rmSync(`${work}.old`, { recursive: true, force: true });
}

async function load(): Promise<GuestImage> {
  const image = await readCachedImage(imagePaths(cache, HASH));
  if (!image) throw new Error('no image in the test cache');
  return image;
}

const pinsDir = () => path.join(cache, 'images');

describe('pinImage', () => {
  it('keeps the build a run started with through a rebuild, and removes only its links at the end', async () => {
    writeBuild(imagePaths(cache, HASH).dir, 'one');
    const pin = await pinImage(load, pinsDir());
    expect(pin.note).toBeUndefined();
    expect(path.dirname(pin.dir!)).toBe(pinsDir());
    expect(path.basename(pin.dir!).startsWith(`${PIN_PREFIX}${process.pid}@`)).toBe(true);
    expect(pin.image).toMatchObject({
      dir: pin.dir,
      kernel: path.join(pin.dir!, 'vmlinuz'),
      initramfs: path.join(pin.dir!, 'initramfs.cpio.gz'),
      rootImage: path.join(pin.dir!, 'root.img'),
      hash: HASH,
      sshHostKey: 'ssh-ed25519 AAAAone kt-guest',
      pinnedFrom: imagePaths(cache, HASH).dir,
    });

    rebuild('two');
    // Every file a later VM opens, the host key it checks included, is still build one's.
    for (const f of ['vmlinuz', 'vmlinux', 'initramfs.cpio.gz', 'root.img']) expect(fs.readFileSync(path.join(pin.dir!, f), 'utf8')).toBe(`${f} of build one`);
    expect((await readCachedImage(imageFilesIn(pin.dir!)))?.sshHostKey).toBe('ssh-ed25519 AAAAone kt-guest');
    expect((await load()).sshHostKey).toBe('ssh-ed25519 AAAAtwo kt-guest');

    pin.release();
    pin.release();
    expect(fs.existsSync(pin.dir!)).toBe(false);
    expect(fs.readFileSync(path.join(imagePaths(cache, HASH).dir, 'root.img'), 'utf8')).toBe('root.img of build two');
  });

  it('links the files themselves, and a build without vmlinux pins without it', async () => {
    writeBuild(imagePaths(cache, HASH).dir, 'one', { vmlinux: false });
    const pin = await pinImage(load, pinsDir());
    expect(fs.readdirSync(pin.dir!).sort()).toEqual(['initramfs.cpio.gz', 'manifest.json', 'root.img', 'vmlinuz']);
    const own = fs.statSync(path.join(imagePaths(cache, HASH).dir, 'root.img'));
    const pinned = fs.statSync(pin.image.rootImage);
    expect([pinned.ino, pinned.nlink]).toEqual([own.ino, 2]);
    pin.release();
  });

  it('looks the image up again when its build is removed before every file is linked', async () => {
    const final = imagePaths(cache, HASH).dir;
    writeBuild(final, 'one');
    let loads = 0;
    const pin = await pinImage(async () => {
      loads++;
      // The first answer names a build that is gone before kt links it: a rebuild between its
      // two renames (buildImage.ts installBuild). The second finds the new build in place.
      if (loads === 2) writeBuild(final, 'two');
      const image = await load();
      if (loads === 1) fs.rmSync(final, { recursive: true });
      return image;
    }, pinsDir());
    expect(loads).toBe(2);
    expect(pin.image.sshHostKey).toBe('ssh-ed25519 AAAAtwo kt-guest');
    expect(fs.readFileSync(pin.image.rootImage, 'utf8')).toBe('root.img of build two');
    // The failed attempt left no directory behind.
    expect(fs.readdirSync(pinsDir()).filter((n) => n.startsWith(PIN_PREFIX))).toEqual([path.basename(pin.dir!)]);
    pin.release();
  });

  it('gives up with E_IMAGE_REPLACED when the image keeps disappearing', async () => {
    const final = imagePaths(cache, HASH).dir;
    let n = 0;
    const err = await pinImage(async () => {
      writeBuild(final, `r${++n}`);
      const image = await load();
      fs.rmSync(final, { recursive: true });
      return image;
    }, pinsDir()).catch((e: unknown) => e);
    expect(n).toBe(3);
    expect(err).toBeInstanceOf(HostError);
    expect(err).toMatchObject({
      code: 'E_IMAGE_REPLACED',
      message: `the image ${final} was replaced or removed 3 times while kt linked its files for this run`,
    });
    expect(fs.readdirSync(pinsDir()).filter((n) => n.startsWith(PIN_PREFIX))).toEqual([]);
  });

  it('pins whatever build stands at the image path when a rebuild finished after the look-up', async () => {
    writeBuild(imagePaths(cache, HASH).dir, 'one');
    const pin = await pinImage(async () => {
      const image = await load();
      rebuild('two');
      return image;
    }, pinsDir());
    // Everything the run derives from the image comes from the pinned manifest: build two.
    expect(pin.image.sshHostKey).toBe('ssh-ed25519 AAAAtwo kt-guest');
    expect(fs.readFileSync(pin.image.kernel, 'utf8')).toBe('vmlinuz of build two');
    pin.release();
  });

  it('links every file from one build when a rebuild renames another into place mid-way', async () => {
    writeBuild(imagePaths(cache, HASH).dir, 'one');
    let loads = 0;
    let rebuilt = false;
    const pin = await pinImage(async () => (loads++, load()), pinsDir(), undefined, {
      // After the first link of the first attempt: what a path-based link would then mix.
      onLinked: () => {
        if (!rebuilt) {
          rebuilt = true;
          rebuild('two');
        }
      },
    });
    expect(loads).toBe(2);
    for (const f of ['vmlinuz', 'vmlinux', 'initramfs.cpio.gz', 'root.img']) expect(fs.readFileSync(path.join(pin.dir!, f), 'utf8')).toBe(`${f} of build two`);
    expect(pin.image.sshHostKey).toBe('ssh-ed25519 AAAAtwo kt-guest');
    expect(fs.readdirSync(pinsDir()).filter((n) => n.startsWith(PIN_PREFIX))).toEqual([path.basename(pin.dir!)]);
    pin.release();
  });

  it('runs unpinned when a file of a build still in place cannot be linked (as without /proc)', async () => {
    const final = imagePaths(cache, HASH).dir;
    writeBuild(final, 'one');
    const pin = await pinImage(async () => {
      const image = await load();
      fs.rmSync(path.join(final, 'initramfs.cpio.gz'));
      return image;
    }, pinsDir());
    expect(pin.dir).toBeUndefined();
    expect(pin.note).toBe(`the image ${final} is not pinned for this run: kt cannot link its files into ${pinsDir()} (ENOENT); a rebuild of it during the run changes what later VMs boot`);
    expect(fs.readdirSync(pinsDir()).filter((n) => n.startsWith(PIN_PREFIX))).toEqual([]);
  });

  it('tells its tracker of the pin directory from its making to its removal', async () => {
    writeBuild(imagePaths(cache, HASH).dir, 'one');
    const tracked = new Set<string>();
    const pin = await pinImage(load, pinsDir(), tracked);
    expect([...tracked]).toEqual([pin.dir]);
    pin.release();
    expect([...tracked]).toEqual([]);
  });

  it('runs unpinned, and says why, when the image is on another file system', async () => {
    const elsewhere = fs.mkdtempSync(path.join('/dev/shm', 'kt-pin-'));
    try {
      // The test needs two file systems: the temp dir and /dev/shm.
      expect(fs.statSync(elsewhere).dev).not.toBe(fs.statSync(cache).dev);
      const shared = path.join(elsewhere, 'images', HASH);
      writeBuild(shared, 'one');
      const image = (await readCachedImage(imagePaths(elsewhere, HASH)))!;
      const pin = await pinImage(async () => image, pinsDir());
      expect(pin.dir).toBeUndefined();
      expect(pin.image).toEqual(image);
      expect(pin.note).toBe(`the image ${shared} is not pinned for this run: kt cannot link its files into ${pinsDir()} (EXDEV); a rebuild of it during the run changes what later VMs boot`);
      expect(fs.readdirSync(pinsDir()).filter((n) => n.startsWith(PIN_PREFIX))).toEqual([]);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('runs unpinned when it cannot make its directory', async () => {
    writeBuild(imagePaths(cache, HASH).dir, 'one');
    const notADir = path.join(cache, 'file');
    fs.writeFileSync(notADir, '');
    const pin = await pinImage(load, notADir);
    expect(pin.dir).toBeUndefined();
    expect(pin.note).toBe(`the image ${imagePaths(cache, HASH).dir} is not pinned for this run: kt cannot make a directory in ${notADir} (EEXIST); a rebuild of it during the run changes what later VMs boot`);
    expect(pin.image.rootImage).toBe(imagePaths(cache, HASH).rootImage);
  });

  it('removes the pins of a kt that died on this host, and no other', async () => {
    writeBuild(imagePaths(cache, HASH).dir, 'one');
    // A pid that existed and is gone now.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '_');
    const names = [`${PIN_PREFIX}${dead.stdout}@${host}@aaaaaa`, `${PIN_PREFIX}${process.pid}@${host}@bbbbbb`, `${PIN_PREFIX}${dead.stdout}@other-host@cccccc`, `.build-${HASH}-dddddd`];
    for (const n of names) fs.mkdirSync(path.join(pinsDir(), n));
    const pin = await pinImage(load, pinsDir());
    const left = fs.readdirSync(pinsDir()).filter((n) => n !== path.basename(pin.dir!));
    expect(left.sort()).toEqual([HASH, ...names.slice(1)].sort());
    pin.release();
  });
  it('goes on when a dead kt\'s pin cannot be removed', async () => {
    writeBuild(imagePaths(cache, HASH).dir, 'one');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '_');
    const stuck = path.join(pinsDir(), `${PIN_PREFIX}${dead.stdout}@${host}@eeeeee`);
    fs.mkdirSync(stuck);
    fs.writeFileSync(path.join(stuck, 'root.img'), '');
    // An immutable file: not even root may delete it (chattr(1); the test's temp dir must be on ext4 or xfs).
    expect(spawnSync('chattr', ['+i', path.join(stuck, 'root.img')]).status).toBe(0);
    try {
      const pin = await pinImage(load, pinsDir());
      expect(pin.dir).toBeDefined();
      expect(fs.existsSync(stuck)).toBe(true);
      pin.release();
    } finally {
      spawnSync('chattr', ['-i', path.join(stuck, 'root.img')]);
    }
  });
});

describe('leftoverPins', () => {
  it('names pins whose maker on this host is gone, nothing else', () => {
    const alive = (pid: number) => pid === 7;
    expect(leftoverPins(['.pin-7@h@x', '.pin-8@h@y', '.pin-8@g@z', '.pin-junk', '.build-8@h@w', '0e3c59f1fcdabede'], alive, 'h')).toEqual(['.pin-8@h@y']);
  });
});
