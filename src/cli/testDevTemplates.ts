/**
 * TEST_DEV made once, in kt's cache (src/runner/guestSetup.ts TestDevTemplates; docs/speed.md,
 * "TEST_DEV made once"; what it may carry: docs/vm-trust.md): `<cacheDir>/test-dev/<image hash>-
 * <image build>-<key>.img`, a sparse copy of a TEST disk taken right after a guest's mkfs made
 * its filesystem and before anything mounted it. The key is the SHA-256 of:
 * - the mkfs program and words the section runs (src/runner/guestCommands.ts testDevMkfsWords)
 *   and the disk's size: a section of other options, filesystem or --test-size gets its own file;
 * - the kernel's build (its bzImage's version string, which names the build's number and time,
 *   and its size): the mkfs writes through the page cache, block layer and virtio driver of the
 *   kernel under test, so a template only ever serves the kernel that made it, and a kernel whose
 *   bugs wrote it wrong cannot hand that to another build.
 * The image build names the mkfs program's version (the recipe hash alone does not:
 * src/vm/image/buildTag.ts).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readBzImageVersion } from '../config/kernelFile.js';
import { testDevMkfsWords } from '../runner/guestCommands.js';
import type { GuestSectionConfig, TestDevTemplates } from '../runner/guestSetup.js';
import { imageBuildTag, type ImageBuild } from '../vm/image/buildTag.js';

/** A kernel build: its bzImage's version string and size. */
export interface KernelBuild {
  version: string;
  bytes: number;
}

/** Templates kept at most; the least recently used go first (each is ~0.1–10 MB on disk). */
export const MAX_TEMPLATES = 24;
/** A copy still `.partial` after this long belongs to a kt that died while keeping it. */
const PARTIAL_STALE_MS = 3_600_000;

/**
 * The template file of a section's TEST_DEV, or undefined when it gets none: an fstyp kt cannot
 * make, or an external log or realtime device, which its mkfs writes too and the copy of the TEST
 * disk alone would not hold. Pure.
 */
export function testDevTemplatePath(
  cacheDir: string,
  image: ImageBuild,
  kernel: KernelBuild,
  section: Pick<GuestSectionConfig, 'fstyp' | 'mkfsOptions' | 'devices'>,
  sizeBytes: number,
): string | undefined {
  if (section.devices?.logdevBytes || section.devices?.rtdevBytes) return undefined;
  const words = testDevMkfsWords(section.fstyp, section.mkfsOptions);
  if (!words) return undefined;
  const key = crypto.createHash('sha256').update(JSON.stringify({ mkfs: words, sizeBytes, kernel: kernel.version, kernelBytes: kernel.bytes })).digest('hex').slice(0, 16);
  return path.join(cacheDir, 'test-dev', `${image.hash}-${imageBuildTag(image.sshHostKey)}-${key}.img`);
}

/** The kernel build of a bzImage file, or undefined when it carries no version string. */
export function kernelBuildOf(file: string): KernelBuild | undefined {
  const version = readBzImageVersion(file);
  if (!version) return undefined;
  try {
    return { version, bytes: fs.statSync(file).size };
  } catch {
    return undefined;
  }
}

/**
 * Where each filesystem kt makes keeps its magic number: a template without it is not what a
 * mkfs left (a copy a host crash emptied: keepCopy renames only what it synced, but a disk can
 * lie). fs/xfs/libxfs/xfs_format.h XFS_SB_MAGIC at 0; fs/ext4/ext4.h EXT4_SUPER_MAGIC 0xEF53,
 * little-endian, at 1024 + 0x38; fs/btrfs/ BTRFS_MAGIC "_BHRfS_M" at 64 KiB + 0x40.
 */
const EXT_MAGIC = { offset: 1080, bytes: Buffer.from([0x53, 0xef]) };
const MAGIC: Readonly<Record<string, { offset: number; bytes: Buffer }>> = {
  xfs: { offset: 0, bytes: Buffer.from('XFSB', 'latin1') },
  ext2: EXT_MAGIC,
  ext3: EXT_MAGIC,
  ext4: EXT_MAGIC,
  btrfs: { offset: 65600, bytes: Buffer.from('_BHRfS_M', 'latin1') },
};

/** Whether `file` begins like a filesystem of `fstyp` (a few bytes read). */
export function hasFilesystemMagic(file: string, fstyp: string): boolean {
  const magic = MAGIC[fstyp];
  if (!magic) return false;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const got = Buffer.alloc(magic.bytes.length);
      return fs.readSync(fd, got, 0, got.length, magic.offset) === got.length && got.equals(magic.bytes);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/**
 * The run's templates: each section's file, and whether a good one is there (looked at each time:
 * another kt may have kept it meanwhile). Undefined when the kernel's build cannot be told (no
 * version string in its bzImage): nothing to key a template by. Prunes the cache first.
 */
export function testDevTemplates(cacheDir: string, image: ImageBuild, kernelFile: string, sections: readonly GuestSectionConfig[], sizeBytes: number): TestDevTemplates | undefined {
  const kernel = kernelBuildOf(kernelFile);
  if (!kernel) return undefined;
  pruneTemplates(path.join(cacheDir, 'test-dev'), Date.now());
  const bySection = new Map(sections.map((s) => [s.name, { path: testDevTemplatePath(cacheDir, image, kernel, s, sizeBytes), fstyp: s.fstyp }]));
  return {
    pathFor: (section) => bySection.get(section)?.path,
    usable(section) {
      const t = bySection.get(section);
      if (t?.path === undefined || !fs.existsSync(t.path)) return false;
      if (!hasFilesystemMagic(t.path, t.fstyp)) {
        // Not what a mkfs left: gone, so that the next VM's mkfs keeps a good one.
        removeQuietly(t.path);
        return false;
      }
      // Used now: the last to be pruned (pruneTemplates goes by mtime).
      touch(t.path);
      return true;
    },
  };
}

/**
 * Keeps the cache small: copies left `.partial` by a kt that died while keeping one, and all but
 * the MAX_TEMPLATES most recently used templates (each kernel build of a developer's loop makes
 * its own). Never throws: a cache it cannot tidy is still a cache.
 */
export function pruneTemplates(dir: string, now: number): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const kept: { file: string; mtimeMs: number }[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const mtimeMs = fs.statSync(file).mtimeMs;
      if (name.endsWith('.partial')) {
        if (now - mtimeMs > PARTIAL_STALE_MS) removeQuietly(file);
      } else if (name.endsWith('.img')) {
        kept.push({ file, mtimeMs });
      }
    } catch {
      // Gone meanwhile (another kt pruned it).
    }
  }
  kept.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { file } of kept.slice(MAX_TEMPLATES)) removeQuietly(file);
}

function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // Another user's shared cache, a read-only one: not kt's to tidy.
  }
}

function touch(file: string): void {
  try {
    const now = new Date();
    fs.utimesSync(file, now, now);
  } catch {
    // A read-only cache: it is pruned by when it was made, then.
  }
}
