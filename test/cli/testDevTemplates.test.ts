/**
 * Where TEST_DEV made once is kept (src/cli/testDevTemplates.ts): a file per image build, kernel
 * build and mkfs a section runs; none for a section whose mkfs writes more than the TEST disk;
 * a file without its filesystem's magic is no template; the cache stays small.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasFilesystemMagic, kernelBuildOf, MAX_TEMPLATES, pruneTemplates, testDevTemplatePath, testDevTemplates } from '../../src/cli/testDevTemplates.js';

// Two builds of one recipe: the same hash, another host key (guest/mmdebstrap/customize-hook.sh).
const build1 = { hash: '3f3685bb46fb1fc7', sshHostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne kt-guest' };
const build2 = { hash: '3f3685bb46fb1fc7', sshHostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwo kt-guest' };
// Two builds of one tree: the build number and time differ (init/version.c linux_banner).
const kernel1 = { version: '6.1.192 (root@host) #3 SMP PREEMPT_DYNAMIC Thu Dec  4 11:38:02 UTC 2026', bytes: 3_118_080 };
const kernel2 = { version: '6.1.192 (root@host) #4 SMP PREEMPT_DYNAMIC Thu Dec  4 14:02:51 UTC 2026', bytes: 3_118_080 };
const G = 2 ** 30;
const xfs = { fstyp: 'xfs', mkfsOptions: '-b size=4096' };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-tdt-'));
  dirs.push(d);
  return d;
};

/** A header-only bzImage whose boot header points to `version` (Documentation/arch/x86/boot.rst). */
function bzImage(file: string, version: string): void {
  const img = Buffer.alloc(4096);
  img.write('HdrS', 0x202, 'latin1');
  img.writeUInt16LE(0x020f, 0x206);
  img.writeUInt16LE(0x400, 0x20e);
  img.write(`${version}\0`, 0x600, 'latin1');
  fs.writeFileSync(file, img);
}

/** A sparse file of `size` with `bytes` at `offset`. */
function withBytes(file: string, size: number, offset: number, bytes: Buffer): void {
  const fd = fs.openSync(file, 'w');
  fs.ftruncateSync(fd, size);
  fs.writeSync(fd, bytes, 0, bytes.length, offset);
  fs.closeSync(fd);
}

describe('testDevTemplatePath', () => {
  it('names the image recipe and build, under <cache>/test-dev', () => {
    expect(testDevTemplatePath('/c', build1, kernel1, xfs, 5 * G)).toMatch(/^\/c\/test-dev\/3f3685bb46fb1fc7-[0-9a-f]{8}-[0-9a-f]{16}\.img$/);
    expect(testDevTemplatePath('/c', build1, kernel1, xfs, 5 * G)).not.toBe(testDevTemplatePath('/c', build2, kernel1, xfs, 5 * G));
  });

  it('is one file for one kernel build, mkfs and size, and another for any other', () => {
    const p = testDevTemplatePath('/c', build1, kernel1, xfs, 5 * G);
    // MKFS_OPTIONS split into the words mkfs gets: blanks do not make another filesystem.
    expect(testDevTemplatePath('/c', build1, kernel1, { fstyp: 'xfs', mkfsOptions: ' -b  size=4096\n' }, 5 * G)).toBe(p);
    const others = [
      testDevTemplatePath('/c', build1, kernel2, xfs, 5 * G),
      testDevTemplatePath('/c', build1, { ...kernel1, bytes: kernel1.bytes + 1 }, xfs, 5 * G),
      testDevTemplatePath('/c', build1, kernel1, { fstyp: 'xfs', mkfsOptions: '-b size=1024' }, 5 * G),
      testDevTemplatePath('/c', build1, kernel1, { fstyp: 'xfs', mkfsOptions: '' }, 5 * G),
      testDevTemplatePath('/c', build1, kernel1, { fstyp: 'ext4', mkfsOptions: '-b size=4096' }, 5 * G),
      testDevTemplatePath('/c', build1, kernel1, xfs, 10 * G),
    ];
    expect(new Set([p, ...others]).size).toBe(7);
  });

  it('gives none to a section with an external log or realtime device, or an fstyp kt cannot make', () => {
    expect(testDevTemplatePath('/c', build1, kernel1, { ...xfs, devices: { logdevBytes: G } }, 5 * G)).toBeUndefined();
    expect(testDevTemplatePath('/c', build1, kernel1, { ...xfs, devices: { rtdevBytes: G } }, 5 * G)).toBeUndefined();
    expect(testDevTemplatePath('/c', build1, kernel1, { ...xfs, devices: { scratchPool: 3 } }, 5 * G)).toBeDefined();
    expect(testDevTemplatePath('/c', build1, kernel1, { fstyp: 'nfs', mkfsOptions: '' }, 5 * G)).toBeUndefined();
  });
});

describe('kernelBuildOf', () => {
  it("reads a bzImage's whole version string and its size; none from a file without one", () => {
    const dir = tmp();
    bzImage(path.join(dir, 'bzImage'), kernel1.version);
    expect(kernelBuildOf(path.join(dir, 'bzImage'))).toEqual({ version: kernel1.version, bytes: 4096 });
    fs.writeFileSync(path.join(dir, 'not-a-kernel'), 'x'.repeat(4096));
    expect(kernelBuildOf(path.join(dir, 'not-a-kernel'))).toBeUndefined();
    expect(kernelBuildOf(path.join(dir, 'missing'))).toBeUndefined();
  });
});

describe('hasFilesystemMagic', () => {
  it("finds each filesystem's magic where its superblock keeps it, and nothing in a file of holes", () => {
    const dir = tmp();
    const cases: [string, number, Buffer][] = [
      ['xfs', 0, Buffer.from('XFSB')],
      ['ext4', 1080, Buffer.from([0x53, 0xef])],
      ['ext2', 1080, Buffer.from([0x53, 0xef])],
      ['btrfs', 65600, Buffer.from('_BHRfS_M')],
    ];
    for (const [fstyp, offset, bytes] of cases) {
      const file = path.join(dir, `${fstyp}.img`);
      withBytes(file, 2 ** 20, offset, bytes);
      expect(hasFilesystemMagic(file, fstyp), fstyp).toBe(true);
      expect(hasFilesystemMagic(file, fstyp === 'xfs' ? 'btrfs' : 'xfs'), fstyp).toBe(false);
    }
    withBytes(path.join(dir, 'holes.img'), 2 ** 20, 0, Buffer.alloc(0));
    for (const fstyp of ['xfs', 'ext4', 'btrfs']) expect(hasFilesystemMagic(path.join(dir, 'holes.img'), fstyp)).toBe(false);
    expect(hasFilesystemMagic(path.join(dir, 'missing.img'), 'xfs')).toBe(false);
  });
});

describe('testDevTemplates', () => {
  const sections = [
    { name: 'xfs/4k', ...xfs, mountOptions: '', env: {} },
    { name: 'xfs/logdev', ...xfs, mountOptions: '', env: {}, devices: { logdevBytes: G } },
  ];

  /** The templates of a fresh cache for kernel1's build, and the xfs/4k file's path (its directory made). */
  const fresh = () => {
    const cache = tmp();
    const kernel = path.join(cache, 'bzImage');
    bzImage(kernel, kernel1.version);
    const t = testDevTemplates(cache, build1, kernel, sections, 5 * G)!;
    const file = t.pathFor('xfs/4k')!;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    return { cache, t, file };
  };

  it("says where each section's file is and whether a good one is there, looking again each time", () => {
    const { cache, t, file } = fresh();
    expect(file).toBe(testDevTemplatePath(cache, build1, { version: kernel1.version, bytes: 4096 }, xfs, 5 * G));
    expect(t.usable('xfs/4k')).toBe(false);
    withBytes(file, 5 * G, 0, Buffer.from('XFSB'));
    // Made a minute ago; using it makes it the most recently used (pruneTemplates).
    fs.utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect(t.usable('xfs/4k')).toBe(true);
    expect(Date.now() - fs.statSync(file).mtimeMs).toBeLessThan(30_000);
    for (const s of ['xfs/logdev', 'no/such']) {
      expect(t.pathFor(s)).toBeUndefined();
      expect(t.usable(s)).toBe(false);
    }
  });

  it('removes a template that holds no filesystem (a copy a host crash emptied), so the next mkfs keeps a good one', () => {
    const { t, file } = fresh();
    withBytes(file, 5 * G, 0, Buffer.alloc(0));
    expect(t.usable('xfs/4k')).toBe(false);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('keeps none for a kernel whose build it cannot tell', () => {
    const cache = tmp();
    fs.writeFileSync(path.join(cache, 'vmlinux'), '\x7fELF');
    expect(testDevTemplates(cache, build1, path.join(cache, 'vmlinux'), sections, 5 * G)).toBeUndefined();
  });
});

describe('pruneTemplates', () => {
  it('keeps the most recently used templates, and removes copies a dead kt left half-made', () => {
    const dir = tmp();
    const now = Date.now();
    const img = (i: number) => path.join(dir, `t${i}.img`);
    for (let i = 0; i < MAX_TEMPLATES + 3; i++) {
      fs.writeFileSync(img(i), '');
      // t0 the most recently used, t26 the least.
      fs.utimesSync(img(i), new Date(now - i * 60_000), new Date(now - i * 60_000));
    }
    fs.writeFileSync(path.join(dir, 'old.img.123-ab.partial'), '');
    fs.utimesSync(path.join(dir, 'old.img.123-ab.partial'), new Date(now - 2 * 3_600_000), new Date(now - 2 * 3_600_000));
    // A copy another kt is making right now.
    fs.writeFileSync(path.join(dir, 'new.img.456-cd.partial'), '');
    pruneTemplates(dir, now);
    const left = fs.readdirSync(dir);
    expect(left.filter((f) => f.endsWith('.img')).sort()).toEqual(Array.from({ length: MAX_TEMPLATES }, (_, i) => `t${i}.img`).sort());
    expect(left.filter((f) => f.endsWith('.partial'))).toEqual(['new.img.456-cd.partial']);
    // No directory yet: nothing to do, no error.
    expect(() => pruneTemplates(path.join(dir, 'none'), now)).not.toThrow();
  });
});
