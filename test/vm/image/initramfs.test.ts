import { describe, expect, it } from 'vitest';
import { initramfsEntries } from '../../../src/vm/image/initramfs.js';

describe('initramfsEntries', () => {
  const entries = initramfsEntries({
    initScript: '#!/bin/sh\n',
    busybox: Buffer.from('ELF'),
    kernelRelease: '6.1.0-56-cloud-amd64',
    modules: [
      { path: 'kernel/drivers/virtio/virtio_ring.ko', data: Buffer.from('a') },
      { path: 'kernel/drivers/block/virtio_blk.ko', data: Buffer.from('b') },
    ],
  });
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const text = (p: string) => {
    const e = byPath.get(p);
    return e?.kind === 'file' ? Buffer.from(e.data).toString() : undefined;
  };

  it('has /init, busybox as /bin/sh and a console before anything is mounted', () => {
    expect(byPath.get('init')).toMatchObject({ kind: 'file', mode: 0o755 });
    expect(byPath.get('bin/sh')).toEqual({ kind: 'symlink', path: 'bin/sh', target: 'busybox' });
    expect(byPath.get('dev/console')).toMatchObject({ kind: 'chardev', major: 5, minor: 1 });
  });

  it('tells /init the kernel release and the module load order', () => {
    expect(text('etc/kt-initramfs.conf')).toBe('KT_KERNEL_RELEASE=6.1.0-56-cloud-amd64\n');
    expect(text('etc/kt-modules')).toBe('kernel/drivers/virtio/virtio_ring.ko\nkernel/drivers/block/virtio_blk.ko\n');
    expect(text('lib/modules/6.1.0-56-cloud-amd64/kernel/drivers/block/virtio_blk.ko')).toBe('b');
  });

  it('lists every directory before its contents', () => {
    const seen = new Set<string>();
    for (const e of entries) {
      const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
      if (parent) expect(seen.has(parent), `${e.path} before ${parent}`).toBe(true);
      seen.add(e.path);
    }
  });
});
