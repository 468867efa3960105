/**
 * ensureImage: the guest image for the current recipe, from the user's cache, else from the
 * shared cache root may have filled (cacheDir.ts), else freshly built into the user's cache.
 * This is what `kt image build` and `kt run` call.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { HostError } from '../../errors.js';
import { acquireBuildLock } from './buildLock.js';
import { imagePaths, resolveSharedCacheDir, type ImageFiles } from './cacheDir.js';
import { loadGuestFiles } from './guestFiles.js';
import { hashImageInputs } from './imageHash.js';
import { readManifest } from './manifest.js';
import { imageRecipe } from './recipe.js';

/** A complete image in the cache; the paths the qemu side passes to -kernel/-initrd/-drive. */
export interface GuestImage {
  /** <cacheDir>/images/<hash> */
  dir: string;
  /** vmlinuz (bzImage) */
  kernel: string;
  /** initramfs.cpio.gz */
  initramfs: string;
  /** root.img: raw ext4, attach as virtio-blk serial=kt-root, snapshot=on */
  rootImage: string;
  /** `uname -r` of kernel */
  kernelRelease: string;
  hash: string;
  /** The guest sshd's host public key ("ssh-ed25519 AAAA... kt-guest"). */
  sshHostKey: string;
  /**
   * Set when `dir` is a run's pin of the build (src/vm/image/pinImage.ts): the image's own
   * directory, `<cacheDir>/images/<hash>`, the one to name to the user and in the record.
   */
  pinnedFrom?: string;
}

export interface EnsureImageOptions {
  /** Where the image is looked up first and built. */
  cacheDir: string;
  /**
   * Read-only fallback: a complete, readable image of the recipe's hash here is used when
   * cacheDir has none (default resolveSharedCacheDir(process.env); null: none). When it equals
   * cacheDir (`kt image build --system`), the directories are made readable by everyone.
   */
  sharedCacheDir?: string | null;
  /** Build even if a cached image exists (picks up new package versions). */
  rebuild?: boolean;
  /** Debian archive URL (default http://deb.debian.org/debian). */
  mirror?: string;
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

/** The image in paths.dir if it is complete (manifest present, artifacts present). */
export async function readCachedImage(paths: ImageFiles): Promise<GuestImage | undefined> {
  const manifest = await readManifest(paths.manifest);
  if (!manifest) return undefined;
  // Readable, not only present: a shared image another user built may not be.
  const present = await Promise.all(
    [paths.kernel, paths.initramfs, paths.rootImage].map((f) => fs.access(f, fs.constants.R_OK).then(() => true, () => false)),
  );
  if (present.includes(false)) return undefined;
  return {
    dir: paths.dir,
    kernel: paths.kernel,
    initramfs: paths.initramfs,
    rootImage: paths.rootImage,
    kernelRelease: manifest.kernelRelease,
    hash: manifest.hash,
    sshHostKey: manifest.sshHostKey,
  };
}

/** Creates <cache>/images; a shared cache's directories are opened up to every user. */
async function makeImagesDir(cacheDir: string, imagesDir: string, shared: boolean): Promise<void> {
  try {
    await fs.mkdir(imagesDir, { recursive: true });
    if (shared) {
      await fs.chmod(cacheDir, 0o755);
      await fs.chmod(imagesDir, 0o755);
    }
    await fs.access(imagesDir, fs.constants.W_OK);
  } catch (err) {
    throw new HostError(
      'E_IMAGE_CACHE_NOT_WRITABLE',
      `cannot write the image cache ${imagesDir}: ${(err as Error).message}`,
      shared
        ? 'build the shared image as root: sudo kt image build --system'
        : 'make the directory writable, or point KT_CACHE_DIR at a directory you can write',
      { cause: err },
    );
  }
}

export async function ensureImage(opts: EnsureImageOptions): Promise<GuestImage> {
  const recipe = imageRecipe(await loadGuestFiles(), { mirror: opts.mirror });
  const hash = hashImageInputs(recipe);
  const paths = imagePaths(opts.cacheDir, hash);

  const shared = opts.sharedCacheDir === undefined ? resolveSharedCacheDir(process.env) : opts.sharedCacheDir;
  const buildingShared = shared !== null && path.resolve(shared) === path.resolve(opts.cacheDir);

  if (!opts.rebuild) {
    const cached = await readCachedImage(paths);
    if (cached) return cached;
    if (shared !== null && !buildingShared) {
      const fromShared = await readCachedImage(imagePaths(shared, hash));
      if (fromShared) {
        opts.onProgress?.(`kt: using the shared image ${fromShared.dir}`);
        return fromShared;
      }
    }
  }

  // Before anything is created: a user who cannot build gets the error and an untouched cache.
  // The builder (execa, mmdebstrap) loads only now: reading a cached image must stay cheap.
  const { buildImage, chooseBuildMode } = await import('./buildImage.js');
  const mode = chooseBuildMode(shared ?? undefined);
  await makeImagesDir(opts.cacheDir, paths.imagesDir, buildingShared);
  const lock = await acquireBuildLock(paths.lock, {
    signal: opts.signal,
    onWait: (holder) =>
      opts.onProgress?.(`kt: waiting for pid ${holder.pid} on ${holder.host}, which is building image ${hash}`),
  });
  try {
    // Someone else may have finished the build while we waited.
    if (!opts.rebuild) {
      const cached = await readCachedImage(paths);
      if (cached) return cached;
    }
    await buildImage(recipe, hash, paths, {
      onProgress: opts.onProgress,
      signal: opts.signal,
      mode,
      shared: buildingShared,
      ...(shared !== null ? { sharedCacheDir: shared } : {}),
    });
    const built = await readCachedImage(paths);
    if (!built) throw new Error(`image ${hash} was built but ${paths.dir} is incomplete`);
    return built;
  } finally {
    await lock.release();
  }
}
