import { describe, expect, it } from 'vitest';
import { imagePaths, resolveCacheDir, resolveSharedCacheDir } from '../../../src/vm/image/cacheDir.js';

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

describe('resolveSharedCacheDir', () => {
  it('is /var/cache/kt unless KT_SYSTEM_CACHE_DIR says otherwise', () => {
    expect(resolveSharedCacheDir({ HOME: '/h', KT_CACHE_DIR: '/c' })).toBe('/var/cache/kt');
    expect(resolveSharedCacheDir({ KT_SYSTEM_CACHE_DIR: '/srv/kt/' })).toBe('/srv/kt/');
  });

  it('rejects a relative KT_SYSTEM_CACHE_DIR with the value in the message', () => {
    expect(() => resolveSharedCacheDir({ KT_SYSTEM_CACHE_DIR: 'kt-cache' })).toThrow(
      expect.objectContaining({
        code: 'E_SYSTEM_CACHE_DIR_RELATIVE',
        message: 'KT_SYSTEM_CACHE_DIR must be an absolute path, not "kt-cache"',
        hint: 'set it to an absolute directory such as /var/cache/kt, or unset it',
        exitCode: 2,
      }),
    );
  });
});
