/**
 * Where kt keeps built artifacts: $KT_CACHE_DIR, else $XDG_CACHE_HOME/kt (XDG Base Directory
 * Specification), else ~/.cache/kt. Pure: the environment and home directory are passed in.
 */
import path from 'node:path';
import { HostError, UsageError } from '../../errors.js';

export function resolveCacheDir(env: Readonly<Record<string, string | undefined>>, homeDir = env.HOME): string {
  if (env.KT_CACHE_DIR) return path.resolve(env.KT_CACHE_DIR);
  // The XDG spec says relative values are invalid and must be ignored.
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, 'kt');
  if (homeDir) return path.join(homeDir, '.cache', 'kt');
  throw new HostError(
    'E_CACHE_DIR_UNKNOWN',
    'cannot choose a cache directory: KT_CACHE_DIR, XDG_CACHE_HOME and HOME are all unset',
    'set KT_CACHE_DIR to a writable directory',
  );
}

/**
 * The shared image cache: images root builds once (`sudo kt image build --system`) for users who
 * cannot build their own (no user namespaces, userns.ts). kt reads it when the user's own cache
 * lacks the image; it never writes there unless asked to with --system. Under /var/cache, where
 * the Filesystem Hierarchy Standard puts application caches that can be regenerated.
 */
export const SYSTEM_CACHE_DIR = '/var/cache/kt';

/** $KT_SYSTEM_CACHE_DIR if set, else SYSTEM_CACHE_DIR. Pure. */
export function resolveSharedCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  const dir = env.KT_SYSTEM_CACHE_DIR;
  if (!dir) return SYSTEM_CACHE_DIR;
  if (!path.isAbsolute(dir)) {
    throw new UsageError(
      'E_SYSTEM_CACHE_DIR_RELATIVE',
      `KT_SYSTEM_CACHE_DIR must be an absolute path, not "${dir}"`,
      `set it to an absolute directory such as ${SYSTEM_CACHE_DIR}, or unset it`,
    );
  }
  return path.normalize(dir);
}

/** The files of one build of the image. */
export type ImageFiles = Pick<ImagePaths, 'dir' | 'kernel' | 'initramfs' | 'rootImage' | 'manifest'>;

/** Paths of one image inside the cache (the contract with the qemu side). */
export interface ImagePaths {
  /** <cacheDir>/images */
  imagesDir: string;
  /** <cacheDir>/images/<hash> */
  dir: string;
  kernel: string;
  initramfs: string;
  rootImage: string;
  manifest: string;
  /** Held while one process builds this hash. */
  lock: string;
}

export const IMAGE_FILES = {
  kernel: 'vmlinuz',
  initramfs: 'initramfs.cpio.gz',
  rootImage: 'root.img',
  manifest: 'manifest.json',
} as const;

export function imagePaths(cacheDir: string, hash: string): ImagePaths {
  const imagesDir = path.join(cacheDir, 'images');
  return { ...imageFilesIn(path.join(imagesDir, hash)), imagesDir, lock: path.join(imagesDir, `${hash}.lock`) };
}

/** The files of a build in `dir`: the image's own directory, or a run's pin of it (pinImage.ts). Pure. */
export function imageFilesIn(dir: string): ImageFiles {
  return {
    dir,
    kernel: path.join(dir, IMAGE_FILES.kernel),
    initramfs: path.join(dir, IMAGE_FILES.initramfs),
    rootImage: path.join(dir, IMAGE_FILES.rootImage),
    manifest: path.join(dir, IMAGE_FILES.manifest),
  };
}
