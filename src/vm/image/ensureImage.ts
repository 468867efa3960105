/**
 * ensureImage: the guest image for the current recipe, from the cache or freshly built.
 * This is what `kt image build` and `kt run` call.
 */
import fs from 'node:fs/promises';
import { acquireBuildLock } from './buildLock.js';
import { buildImage } from './buildImage.js';
import { imagePaths, type ImagePaths } from './cacheDir.js';
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
}

export interface EnsureImageOptions {
  cacheDir: string;
  /** Build even if a cached image exists (picks up new package versions). */
  rebuild?: boolean;
  /** Debian archive URL (default http://deb.debian.org/debian). */
  mirror?: string;
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

/** The image in paths.dir if it is complete (manifest present, artifacts present). */
export async function readCachedImage(paths: ImagePaths): Promise<GuestImage | undefined> {
  const manifest = await readManifest(paths.manifest);
  if (!manifest) return undefined;
  const present = await Promise.all(
    [paths.kernel, paths.initramfs, paths.rootImage].map((f) => fs.access(f).then(() => true, () => false)),
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

export async function ensureImage(opts: EnsureImageOptions): Promise<GuestImage> {
  const recipe = imageRecipe(await loadGuestFiles(), { mirror: opts.mirror });
  const hash = hashImageInputs(recipe);
  const paths = imagePaths(opts.cacheDir, hash);

  if (!opts.rebuild) {
    const cached = await readCachedImage(paths);
    if (cached) return cached;
  }

  await fs.mkdir(paths.imagesDir, { recursive: true });
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
    await buildImage(recipe, hash, paths, { onProgress: opts.onProgress, signal: opts.signal });
    const built = await readCachedImage(paths);
    if (!built) throw new Error(`image ${hash} was built but ${paths.dir} is incomplete`);
    return built;
  } finally {
    await lock.release();
  }
}
