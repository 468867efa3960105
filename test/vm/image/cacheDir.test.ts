import { describe, expect, it } from 'vitest';
import { imagePaths, resolveCacheDir } from '../../../src/vm/image/cacheDir.js';

describe('resolveCacheDir', () => {
  it('prefers KT_CACHE_DIR, then XDG_CACHE_HOME/kt, then ~/.cache/kt', () => {
    expect(resolveCacheDir({ KT_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/c');
    expect(resolveCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/x/kt');
    expect(resolveCacheDir({ HOME: '/h' })).toBe('/h/.cache/kt');
  });

  it('ignores a relative XDG_CACHE_HOME, as the XDG spec says', () => {
    expect(resolveCacheDir({ XDG_CACHE_HOME: 'rel', HOME: '/h' })).toBe('/h/.cache/kt');
  });

  it('fails with a hint when nothing is set', () => {
    expect(() => resolveCacheDir({})).toThrow(expect.objectContaining({ code: 'E_CACHE_DIR_UNKNOWN' }));
  });
});

describe('imagePaths', () => {
  it('lays out one directory per hash, the lock next to it', () => {
    expect(imagePaths('/c', 'abc')).toEqual({
      imagesDir: '/c/images',
      dir: '/c/images/abc',
      kernel: '/c/images/abc/vmlinuz',
      initramfs: '/c/images/abc/initramfs.cpio.gz',
      rootImage: '/c/images/abc/root.img',
      manifest: '/c/images/abc/manifest.json',
      lock: '/c/images/abc.lock',
    });
  });
});
