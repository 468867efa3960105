/**
 * kt run --rootfs virtiofs on real VMs under TCG (docs/virtiofs.md): no root disk and no fstests
 * image — the image's unpacked tree and the fstests tree are served by the host's real
 * virtiofsd. The fixture quick group passes from the shared tree; a test edited on the host
 * between two runs runs edited (nothing repacked); --share directories are mounted read-only or
 * read-write at /mnt/share/TAG; no qemu, no virtiofsd and no VM directory is left. An ordinary
 * account boots the same way, its daemons and the tree's unpacking in the user namespace of its
 * subordinate ids.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCacheDir } from '../../src/vm/image/cacheDir.js';
import { ensureImage } from '../../src/vm/image/ensureImage.js';
import { findSubIdRange, MIN_SUBID_COUNT, nextFreeSubIdStart } from '../../src/vm/image/subIds.js';
import { findVirtiofsd } from '../../src/vm/virtiofs/daemon.js';
import { e2eTempDir, finished, fixtureTree, KT, ktEnv, lastEnd, outcomes, readableKtCopy, qemuOf, readEvents, runIdOf, runKt, type KtRun } from './harness.js';

const lookup = await findVirtiofsd(process.env);
const canRun = lookup.found !== undefined && process.geteuid?.() === 0;

/** The VM directories (/tmp/kt-XXXXXX/vmN) a run's QEMU command lines name. */
function vmDirsOf(run: KtRun): string[] {
  return readEvents(run.runDir)
    .filter((e) => e.type === 'machine-boot')
    .map((e) => {
      const argv = e.argv as string[];
      const qmp = argv[argv.indexOf('-qmp') + 1]!;
      return path.dirname(qmp.replace(/^unix:/, '').replace(/,server=on.*$/, ''));
    });
}

/** Processes whose command line mentions `text` (pgrep -f), this test's own pgrep aside. */
async function processesNaming(text: string): Promise<string[]> {
  const r = await execa('pgrep', ['-af', text], { reject: false });
  return String(r.stdout).split('\n').filter((l) => l && !l.includes('pgrep'));
}

function fstestsImages(): string[] {
  const dir = path.join(resolveCacheDir(process.env), 'fstests');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

// Needs no virtiofsd: the point is a host without one.
describe('rootfs: virtiofs in kt.yaml on a host without a virtiofsd', () => {
  let run: KtRun;
  let config: string;
  const missing = '/nonexistent/kt-e2e/virtiofsd';

  beforeAll(async () => {
    const tree = await fixtureTree();
    config = path.join(e2eTempDir('virtiofs-fallback'), 'kt.yaml');
    fs.writeFileSync(config, 'rootfs: virtiofs\n');
    const resultsDir = e2eTempDir('results');
    // A standing preference that this host cannot meet: kt warns and boots the image (docs/virtiofs.md).
    const r = await execa('node', [KT, 'run', '--accel', 'tcg', '--results', resultsDir, '--config', config, '--fstests', tree, 'generic/001'], {
      reject: false,
      env: { ...ktEnv(), KT_VIRTIOFSD: missing },
      cwd: os.tmpdir(),
      stdin: 'ignore',
    });
    run = finished(r, resultsDir);
  }, 1_800_000);

  it('warns naming the file and the missing daemon, boots the root image, and the test passes', () => {
    expect(run.exitCode, run.stderr).toBe(0);
    expect(outcomes(run.runDir)).toEqual({ 'generic/001': 'passed' });
    const line = run.stderr.split('\n').find((l) => l.startsWith('kt: warning: ') && l.includes('rootfs virtiofs'));
    expect(line).toMatch(new RegExp(`^kt: warning: ${config}: rootfs virtiofs cannot be used on this host: .*${missing}.*; booting from the root image \\S+/root\\.img instead`));
    const argv = (readEvents(run.runDir).find((e) => e.type === 'machine-boot')!.argv as string[]).join(' ');
    expect(argv).toMatch(/disk-kt-root/);
    expect(argv).not.toMatch(/vhost-user-fs/);
  });

  it('records the warning in the run, as said before it began', () => {
    const warnings = readEvents(run.runDir).filter((e) => e.type === 'warning' && String(e.message).includes('rootfs virtiofs'));
    const said = run.stderr.split('\n').find((l) => l.startsWith('kt: warning: ') && l.includes('rootfs virtiofs'))!.slice('kt: warning: '.length);
    expect(warnings).toEqual([expect.objectContaining({ message: said, beforeRun: true })]);
  });
});

describe.skipIf(!canRun)('kt run --rootfs virtiofs', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-e2e-virtiofs-'));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  describe('the fixture quick group from the shared fstests tree', () => {
    let run: KtRun;
    let imagesBefore: string[];

    beforeAll(async () => {
      const tree = await fixtureTree();
      imagesBefore = fstestsImages();
      run = await runKt(['--rootfs', 'virtiofs', '--fstests', tree, '-g', 'quick']);
    }, 1_800_000);

    it('passes, exactly as from the images', () => {
      expect(run.stderr + run.stdout).not.toMatch(/internal error/);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(outcomes(run.runDir)).toEqual({ 'generic/001': 'passed', 'generic/002': 'passed', 'generic/004': 'notrun', 'xfs/001': 'passed' });
      expect(run.stderr).toMatch(/kt: virtiofs: root \S+\/rootfs\/[0-9a-f]{16}-[0-9a-f]{8}, fstests \S+ \((QEMU's|the Rust) virtiofsd [\d.]+, \S+\)/);
    });

    it('booted with no root and no fstests disk, one vhost-user-fs device per tree, and packed no fstests image', () => {
      const boot = readEvents(run.runDir).find((e) => e.type === 'machine-boot')!;
      const argv = (boot.argv as string[]).join(' ');
      expect(argv).not.toMatch(/disk-kt-root|disk-fstests/);
      expect(argv).toContain('vhost-user-fs-pci,chardev=vfs0,tag=kt-root');
      expect(argv).toContain('vhost-user-fs-pci,chardev=vfs1,tag=kt-fstests');
      expect(argv).toContain('memory-backend-memfd,id=mem,size=2048M,share=on');
      expect(argv).toContain('kt.root=virtiofs:kt-root kt.fstests=virtiofs:kt-fstests');
      expect(fstestsImages()).toEqual(imagesBefore);
    });

    it('leaves no qemu, no virtiofsd and no VM directory behind', async () => {
      expect(await qemuOf(runIdOf(run.runDir))).toEqual([]);
      const dirs = vmDirsOf(run);
      expect(dirs).toHaveLength(1);
      for (const dir of dirs) {
        expect(await processesNaming(dir)).toEqual([]);
        expect(fs.existsSync(path.dirname(dir))).toBe(false);
      }
    });
  });

  describe('a test edited on the host between two runs, and --share directories', () => {
    let first: KtRun;
    let second: KtRun;
    const tree = path.join(work, 'fstests');
    const data = path.join(work, 'data');
    const out = path.join(work, 'out');
    const marker = `marker-${process.pid}-${Date.now()}`;

    beforeAll(async () => {
      // A copy of its own: the edit must not reach the other e2e tests' tree.
      fs.cpSync(await fixtureTree(), tree, { recursive: true });
      fs.mkdirSync(data);
      fs.mkdirSync(out);
      fs.writeFileSync(path.join(data, 'marker'), `${marker}\n`);
      const shares = ['--share', `data:${data}:ro`, '--share', `out:${out}`];
      first = await runKt(['--rootfs', 'virtiofs', '--fstests', tree, ...shares, 'generic/001']);
      // The edit: generic/001 now reports, as its notrun reason, what it finds in the guest.
      const test = path.join(tree, 'tests/generic/001');
      const script = fs.readFileSync(test, 'utf8');
      const edit = [
        '_begin_fstest auto quick rw',
        'echo "written by generic/001 in the guest" > /mnt/share/out/from-guest',
        'touch /mnt/share/data/x 2>/dev/null && data=writable || data=read-only',
        'shares=$(awk \'$3 == "virtiofs" { print $1 }\' /proc/mounts | sort | tr "\\n" " ")',
        '_notrun "edited on the host; share data says $(cat /mnt/share/data/marker) and is $data; virtiofs mounts: $shares; root is $(stat -f -c %T /)"',
      ].join('\n');
      fs.writeFileSync(test, script.replace('_begin_fstest auto quick rw', edit));
      second = await runKt(['--rootfs', 'virtiofs', '--fstests', tree, ...shares, 'generic/001']);
    }, 1_800_000);

    it('runs the test as it was, then as edited, without repacking anything', () => {
      expect(first.exitCode, first.stderr).toBe(0);
      expect(outcomes(first.runDir)).toEqual({ 'generic/001': 'passed' });
      expect(second.exitCode, second.stderr).toBe(0);
      expect(lastEnd(second.runDir, 'generic/001').outcome).toMatchObject({
        status: 'notrun',
        reason: `edited on the host; share data says ${marker} and is read-only; virtiofs mounts: data out ; root is overlayfs`,
      });
    });

    it('mounts a read-write share the host sees written, and keeps a read-only one unwritten', () => {
      expect(fs.readFileSync(path.join(out, 'from-guest'), 'utf8')).toBe('written by generic/001 in the guest\n');
      expect(fs.readdirSync(data)).toEqual(['marker']);
    });

    it('leaves no qemu, no virtiofsd and no VM directory behind', async () => {
      for (const run of [first, second]) {
        expect(await qemuOf(runIdOf(run.runDir))).toEqual([]);
        for (const dir of vmDirsOf(run)) {
          expect(await processesNaming(dir)).toEqual([]);
          expect(fs.existsSync(path.dirname(dir))).toBe(false);
        }
      }
    });
  });

  describe('as an ordinary user (daemons in the user namespace of its subordinate ids)', () => {
    const USER = 'ktvfsuser';
    let account: { uid: number; gid: number; home: string };
    let run: KtRun;
    let subuidStart: number;
    const shared = path.join(work, 'shared-cache');
    const cache = path.join(work, 'user-cache');
    const userTree = path.join(work, 'user-fstests');
    const results = path.join(work, 'user-results');
    const readOr = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

    function asUser(args: string[], env: Record<string, string> = {}) {
      const vars = { HOME: account.home, USER, LOGNAME: USER, PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`, NO_COLOR: '1', ...env };
      return execa('runuser', ['-u', USER, '--', 'env', '-i', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), ...args], { cwd: work, reject: false, stdin: 'ignore' });
    }

    beforeAll(async () => {
      if ((await execa('id', ['-u', USER], { reject: false })).exitCode !== 0) await execa('useradd', ['--create-home', '--shell', '/bin/bash', USER]);
      const fields = (await execa('getent', ['passwd', USER])).stdout.split(':');
      account = { uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5]! };
      for (const [file, flag] of [['/etc/subuid', '--add-subuids'], ['/etc/subgid', '--add-subgids']] as const) {
        if (findSubIdRange(readOr(file), { name: USER, id: account.uid }).range) continue;
        const start = nextFreeSubIdStart([readOr('/etc/subuid'), readOr('/etc/subgid')]);
        await execa('usermod', [flag, `${start}-${start + MIN_SUBID_COUNT - 1}`, USER]);
      }
      subuidStart = findSubIdRange(readOr('/etc/subuid'), { name: USER, id: account.uid }).range!.start;
      // The image root built, handed over as a shared cache (docs/image.md, "The shared cache"):
      // the account reads it and unpacks its own tree.
      const image = await ensureImage({ cacheDir: resolveCacheDir(process.env) });
      const dest = path.join(shared, 'images', image.hash);
      fs.mkdirSync(dest, { recursive: true });
      await execa('cp', ['--sparse=always', ...fs.readdirSync(image.dir).map((f) => path.join(image.dir, f)), dest]);
      fs.cpSync(await fixtureTree(), userTree, { recursive: true });
      for (const dir of [cache, results]) fs.mkdirSync(dir);
      await execa('chown', ['-R', `${account.uid}:${account.gid}`, cache, results, userTree]);
      await execa('chmod', ['-R', 'a+rX', work]);
      // kt where the account can read it (the checkout may sit under a 0700 directory).
      const kt = path.join(await readableKtCopy(work), 'bin/kt.js');
      const r = await asUser(['node', kt, 'run', '--accel', 'tcg', '--rootfs', 'virtiofs', '--fstests', userTree, '--results', results, '-g', 'quick'], { KT_CACHE_DIR: cache, KT_SYSTEM_CACHE_DIR: shared });
      run = finished(r, results);
    }, 1_800_000);

    afterAll(async () => {
      // The tree belongs to the account's subordinate ids: removed the way docs/virtiofs.md says.
      if (account) await asUser(['unshare', '--map-auto', '--map-root-user', 'rm', '-rf', path.join(cache, 'rootfs')]);
    });

    it('passes the quick group, its daemons running as root of its user namespace', () => {
      expect(run.exitCode, run.stderr).toBe(0);
      expect(outcomes(run.runDir)).toEqual({ 'generic/001': 'passed', 'generic/002': 'passed', 'generic/004': 'notrun', 'xfs/001': 'passed' });
      expect(run.stderr).toContain(`, as root of ${USER}'s user namespace)`);
    });

    it("unpacked the tree with the image's owners shifted to its subordinate ids, set-id bits kept", () => {
      const tree = fs.readdirSync(path.join(cache, 'rootfs')).filter((n) => !n.startsWith('.')).map((h) => path.join(cache, 'rootfs', h));
      expect(tree).toHaveLength(1);
      const st = (p: string) => {
        const s = fs.lstatSync(path.join(tree[0]!, p));
        return [(s.mode & 0o7777).toString(8), s.uid - subuidStart, s.gid - subuidStart];
      };
      expect(st('usr/bin/passwd')).toEqual(['4755', 0, 0]);
      expect(st('etc/shadow')).toEqual(['640', 0, 42]);
      expect(st('home/fsgqa')).toEqual(['755', 1000, 1000]);
    });

    it('leaves no qemu, no virtiofsd, no namespace holder and no VM directory behind', async () => {
      expect(await qemuOf(runIdOf(run.runDir))).toEqual([]);
      const left = await execa('pgrep', ['-u', USER, '-a'], { reject: false });
      expect(String(left.stdout)).toBe('');
      for (const dir of vmDirsOf(run)) expect(fs.existsSync(path.dirname(dir))).toBe(false);
    });
  });
});
