/**
 * kt as an ordinary user: an unprivileged account on this machine builds the guest image into
 * its own cache (mmdebstrap --mode=unshare inside a user namespace of its subordinate ids,
 * docs/image.md) and runs the fixture fstests tree under TCG — no root, no sudo. A second
 * account without subordinate ids gets E_IMAGE_NEEDS_USERNS with the exact fix, and then the
 * shared image root built. The test itself runs as root (CI does) to create the accounts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCacheDir } from '../../src/vm/image/cacheDir.js';
import { ensureImage } from '../../src/vm/image/ensureImage.js';
import { loadGuestFiles } from '../../src/vm/image/guestFiles.js';
import { hashImageInputs } from '../../src/vm/image/imageHash.js';
import { readManifest, type ImageManifest } from '../../src/vm/image/manifest.js';
import { imageRecipe } from '../../src/vm/image/recipe.js';
import { findSubIdRange, MIN_SUBID_COUNT, nextFreeSubIdStart, parseSubIds } from '../../src/vm/image/subIds.js';
import { listExt4Tree, type Ext4Entry } from './ext4Tree.js';
import { finished, fixtureTree, ktTempDirs, outcomes, qemuOf, readableKtCopy, runIdOf, type KtRun } from './harness.js';

const IS_ROOT = process.getuid?.() === 0;
/** The ordinary user: subordinate ids as useradd gives them. */
const USER = 'ktuser';
/** A user whose subordinate ids were taken away: no user namespace for it. */
const NO_SUBIDS_USER = 'ktnosubids';

interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

const readOr = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

async function ensureAccount(name: string): Promise<Account> {
  if ((await execa('id', ['-u', name], { reject: false })).exitCode !== 0) {
    await execa('useradd', ['--create-home', '--shell', '/bin/bash', name]);
  }
  const fields = (await execa('getent', ['passwd', name])).stdout.split(':');
  return { name, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5]! };
}

/** Gives the account a 65536-id range in both files unless it has one (usermod(8) -v/-w). */
async function ensureSubIds(a: Account): Promise<void> {
  for (const [file, flag] of [['/etc/subuid', '--add-subuids'], ['/etc/subgid', '--add-subgids']] as const) {
    if (findSubIdRange(readOr(file), { name: a.name, id: a.uid }).range) continue;
    if (!fs.existsSync(file)) fs.writeFileSync(file, '', { mode: 0o644 });
    const start = nextFreeSubIdStart([readOr('/etc/subuid'), readOr('/etc/subgid')]);
    await execa('usermod', [flag, `${start}-${start + MIN_SUBID_COUNT - 1}`, a.name]);
  }
}

/** Takes every subordinate range of the account away (useradd may have given it some). */
async function removeSubIds(a: Account): Promise<void> {
  for (const [file, flag] of [['/etc/subuid', '--del-subuids'], ['/etc/subgid', '--del-subgids']] as const) {
    for (const e of parseSubIds(readOr(file)).filter((x) => x.owner === a.name || x.owner === String(a.uid))) {
      await execa('usermod', [flag, `${e.start}-${e.start + e.count - 1}`, a.name]);
    }
  }
}

/**
 * Runs a command as the account with the environment a fresh login has (HOME, USER, a PATH
 * without sbin), nothing of ours: no KT_CACHE_DIR, no XDG_CACHE_HOME.
 */
function asUser(a: Account, args: string[], opts: { cwd: string; env?: Record<string, string> }) {
  const env = {
    HOME: a.home,
    USER: a.name,
    LOGNAME: a.name,
    PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    NO_COLOR: '1',
    ...opts.env,
  };
  return execa('runuser', ['-u', a.name, '--', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...args], {
    cwd: opts.cwd,
    reject: false,
    stdin: 'ignore',
  });
}

/** Processes running as uid, or as one of its subordinate ids (a build left running). */
async function processesOf(uid: number, range?: { start: number; count: number }): Promise<string[]> {
  const { stdout } = await execa('ps', ['-e', '-o', 'uid=,pid=,args=']);
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => {
      const id = Number(l.split(/\s+/)[0]);
      return id === uid || (range !== undefined && id >= range.start && id < range.start + range.count);
    });
}

/** /tmp entries owned by uid or its subordinate ids. */
function tmpEntriesOf(uid: number, range: { start: number; count: number }): string[] {
  return fs.readdirSync(os.tmpdir()).filter((name) => {
    const st = fs.lstatSync(path.join(os.tmpdir(), name), { throwIfNoEntry: false });
    return st !== undefined && (st.uid === uid || (st.uid >= range.start && st.uid < range.start + range.count));
  });
}

const entry = (tree: Map<string, Ext4Entry>, p: string) => {
  const e = tree.get(p);
  return e && `${e.mode} ${e.uid}:${e.gid}`;
};

describe.skipIf(!IS_ROOT)('an ordinary user builds the image and runs kt', () => {
  let user: Account;
  let work: string;
  let kt: string;
  let tree: string;
  let expectedHash: string;
  let imageDir: string;
  let build: Awaited<ReturnType<typeof asUser>>;
  let manifest: ImageManifest;
  let range: { start: number; count: number };
  let tmpBefore: string[];

  beforeAll(async () => {
    user = await ensureAccount(USER);
    await ensureSubIds(user);
    range = findSubIdRange(readOr('/etc/subuid'), { name: user.name, id: user.uid }).range!;
    // A build from nothing, every time: an image an earlier run left would prove nothing.
    fs.rmSync(path.join(user.home, '.cache', 'kt'), { recursive: true, force: true });
    // kt and the fixture tree where the user can read them (the checkout may sit in a 0700 home).
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-e2e-rootless-'));
    fs.chmodSync(work, 0o755);
    kt = await readableKtCopy(work);
    tree = path.join(work, 'fstests');
    fs.cpSync(await fixtureTree(), tree, { recursive: true, verbatimSymlinks: true });
    await execa('chmod', ['-R', 'a+rX', work]);
    expectedHash = hashImageInputs(imageRecipe(await loadGuestFiles(path.join(kt, 'guest'))));
    imageDir = path.join(user.home, '.cache', 'kt', 'images', expectedHash);
    tmpBefore = tmpEntriesOf(user.uid, range);

    build = await asUser(user, ['node', path.join(kt, 'bin/kt.js'), 'image', 'build'], { cwd: work });
    const m = await readManifest(path.join(imageDir, 'manifest.json'));
    if (m) {
      manifest = m;
      process.stderr.write(`rootless image build as ${user.name}: ${m.buildSeconds} s (manifest.buildSeconds)\n`);
    }
  }, 1_800_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('builds into the user\'s own cache, in a user namespace, under the same hash as root', () => {
    expect(build.exitCode, `${build.stdout}\n${build.stderr}`).toBe(0);
    expect(build.stderr).toContain(`kt: building as ${user.name} in a user namespace (ids 0-${range.count - 1} → ${range.start}-${range.start + range.count - 1})`);
    expect(build.stderr).toContain('with mmdebstrap --mode=unshare');
    expect(build.stdout).toMatch(new RegExp(`^kt: image ${expectedHash} \\(kernel \\S+\\) ready in ${imageDir} after \\d+\\.\\d s$`));
    expect(manifest.hash).toBe(expectedHash);
    expect(manifest.buildMode).toBe('unshare');
    // Everything kt left in the cache is the user's own: they can delete it like any file.
    for (const name of ['.', 'vmlinuz', 'initramfs.cpio.gz', 'root.img', 'manifest.json']) {
      const st = fs.statSync(path.join(imageDir, name));
      expect([name, st.uid, st.gid]).toEqual([name, user.uid, user.gid]);
    }
    expect(fs.readdirSync(path.dirname(imageDir)).filter((n) => n.startsWith('.build-'))).toEqual([]);
  });

  it('gives root.img root-owned files, setuid programs and the fstests users\' files', async () => {
    const rootless = await listExt4Tree(path.join(imageDir, 'root.img'));
    expect(entry(rootless, '/usr/bin/passwd')).toBe('104755 0:0');
    expect(entry(rootless, '/usr/bin/mount')).toBe('104755 0:0');
    // shadow's group (42 in Debian's base-passwd) and its setgid helpers.
    expect(entry(rootless, '/etc/shadow')).toBe('100640 0:42');
    expect(entry(rootless, '/usr/bin/chage')).toBe('102755 0:42');
    expect(entry(rootless, '/home/fsgqa')).toMatch(/^40\d{3} 1000:1000$/);
    expect(entry(rootless, '/etc/ssh/ssh_host_ed25519_key')).toBe('100600 0:0');
    // No id leaked from the host side of the mapping: not the user's, not a subordinate one.
    const foreign = [...rootless.values()].filter((e) => e.uid >= 65536 || e.gid >= 65536 || e.uid === user.uid);
    expect(foreign).toEqual([]);
    expect([...rootless.keys()].filter((p) => p.startsWith('/dev/'))).toEqual([]);
  });

  it('has the same tree, entry for entry, as the image root builds', async () => {
    const root = await ensureImage({
      cacheDir: resolveCacheDir(process.env),
      sharedCacheDir: null,
      onProgress: (line) => process.stderr.write(`${line}\n`),
    });
    expect(root.hash).toBe(expectedHash);
    const rootManifest = (await readManifest(path.join(root.dir, 'manifest.json')))!;
    process.stderr.write(`root image build: ${rootManifest.buildSeconds} s (manifest.buildSeconds, ${rootManifest.builtAt})\n`);
    const [a, b] = await Promise.all([listExt4Tree(root.rootImage), listExt4Tree(path.join(imageDir, 'root.img'))]);
    const listing = (t: Map<string, Ext4Entry>, keep: (p: string) => boolean, withSize = false) =>
      [...t.values()].filter((e) => keep(e.path)).map((e) => `${e.path} ${e.mode} ${e.uid}:${e.gid}${withSize ? ` ${e.size ?? 'dir'}` : ''}`);
    if (JSON.stringify(rootManifest.installed) === JSON.stringify(manifest.installed)) {
      // Same packages: every path, owner, mode and file size is the same.
      expect(listing(b, () => true, true)).toEqual(listing(a, () => true, true));
    } else {
      // The mirror moved on between the two builds (root's image is older): compare what both have.
      const both = (p: string) => a.has(p) && b.has(p);
      expect(listing(b, both)).toEqual(listing(a, both));
      expect(listing(b, both).length).toBeGreaterThan(0.9 * a.size);
    }
  }, 1_800_000);

  describe('kt run as that user', () => {
    let run: KtRun;
    let results: string;

    beforeAll(async () => {
      results = path.join(work, 'results');
      fs.mkdirSync(results);
      fs.chownSync(results, user.uid, user.gid);
      const r = await asUser(
        user,
        ['node', path.join(kt, 'bin/kt.js'), 'run', '--accel', 'tcg', '--fstests', tree, '-g', 'quick', '--results', results],
        { cwd: work },
      );
      run = finished(r, results);
      process.stderr.write(`kt run as ${user.name}: exit ${r.exitCode}\n${run.stdout}\n`);
    }, 1_800_000);

    it('gets results: passed tests and a junit.xml', () => {
      expect(run.exitCode === 0 || run.exitCode === 1, `exit ${run.exitCode}\n${run.stderr}`).toBe(true);
      expect(run.stderr).not.toContain('E_IMAGE_');
      const got = outcomes(run.runDir);
      expect(Object.values(got).filter((s) => s === 'passed').length, JSON.stringify(got)).toBeGreaterThan(0);
      const junit = fs.readFileSync(path.join(run.runDir, 'junit.xml'), 'utf8');
      expect(junit).toContain('<testcase ');
      expect(fs.statSync(run.runDir).uid).toBe(user.uid);
    });

    it('used the image the user built, and left no qemu, process or temp dir behind', async () => {
      expect(run.stderr).not.toContain('bootstrapping Debian');
      expect(await qemuOf(runIdOf(run.runDir))).toEqual([]);
      // Only the user's own: other kt runs on this host may have theirs in /tmp right now.
      expect(ktTempDirs(os.tmpdir()).filter((d) => fs.statSync(path.join(os.tmpdir(), d), { throwIfNoEntry: false })?.uid === user.uid)).toEqual([]);
      expect(await processesOf(user.uid, range)).toEqual([]);
      expect(tmpEntriesOf(user.uid, range)).toEqual(tmpBefore);
    });
  });
});

describe.skipIf(!IS_ROOT)('a user the host gives no user namespace', () => {
  let user: Account;
  let work: string;
  let kt: string;
  let shared: string;

  beforeAll(async () => {
    user = await ensureAccount(NO_SUBIDS_USER);
    await removeSubIds(user);
    fs.rmSync(path.join(user.home, '.cache', 'kt'), { recursive: true, force: true });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-e2e-nouserns-'));
    fs.chmodSync(work, 0o755);
    kt = await readableKtCopy(work);
    // Stands in for /var/cache/kt, so the test leaves the host's shared cache alone.
    shared = path.join(work, 'shared-cache');
  }, 600_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('stops with E_IMAGE_NEEDS_USERNS naming the exact usermod call and the shared image', async () => {
    const r = await asUser(user, ['node', path.join(kt, 'bin/kt.js'), 'image', 'build'], { cwd: work, env: { KT_SYSTEM_CACHE_DIR: shared } });
    const start = nextFreeSubIdStart([readOr('/etc/subuid'), readOr('/etc/subgid')]);
    const block = `${start}-${start + MIN_SUBID_COUNT - 1}`;
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe(
      `kt: error E_IMAGE_NEEDS_USERNS: building the guest image as ${user.name} (uid ${user.uid}) needs a user namespace holding ${user.name}'s subordinate ids, and this host does not give one: /etc/subuid has no range for ${user.name}; /etc/subgid has no range for ${user.name}\n` +
        `  hint: sudo usermod --add-subuids ${block} --add-subgids ${block} ${user.name}, then run kt again; or have root build a shared image once, which every user's kt then reads: sudo kt image build --system (writes ${shared})`,
    );
    expect(fs.existsSync(path.join(user.home, '.cache', 'kt', 'images'))).toBe(false);
  });

  it('uses the shared image once root has put it in place with kt image build --system', async () => {
    // root's own image, copied in rather than built a third time; --system then finds it complete.
    const root = await ensureImage({ cacheDir: resolveCacheDir(process.env), sharedCacheDir: null });
    fs.mkdirSync(path.join(shared, 'images'), { recursive: true });
    await execa('cp', ['-a', '--sparse=always', root.dir, path.join(shared, 'images', root.hash)]);
    const sys = await execa('node', [path.join(kt, 'bin/kt.js'), 'image', 'build', '--system'], {
      cwd: work,
      reject: false,
      env: { ...process.env, KT_SYSTEM_CACHE_DIR: shared, NO_COLOR: '1' },
    });
    expect(sys.exitCode, sys.stderr).toBe(0);
    expect(sys.stdout).toContain(`ready in ${path.join(shared, 'images', root.hash)} after`);

    const r = await asUser(user, ['node', path.join(kt, 'bin/kt.js'), 'image', 'build'], { cwd: work, env: { KT_SYSTEM_CACHE_DIR: shared } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`kt: using the shared image ${path.join(shared, 'images', root.hash)}`);
    expect(r.stdout).toContain(`ready in ${path.join(shared, 'images', root.hash)} after`);
  }, 600_000);
});
