import { describe, expect, it } from 'vitest';
import { isIndexFile, moduleIndex, planEarlyLoad, resolveModules, selectStagedFiles } from '../../src/modules/plan.js';

// Lines of modules.dep and modules.builtin of the Debian cloud kernel 6.1.0-56-cloud-amd64
// (depmod output, as in test/vm/image/modulesDep.test.ts), plus xfs and its dependency.
const MODULES_DEP = `kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/lib/libcrc32c.ko:
kernel/fs/xfs/xfs.ko: kernel/lib/libcrc32c.ko
kernel/drivers/md/dm-mod.ko:
`;
const MODULES_BUILTIN = `kernel/fs/ext4/ext4.ko
kernel/crypto/crc32c_generic.ko
`;

const index = moduleIndex(MODULES_DEP, MODULES_BUILTIN);

describe('resolveModules', () => {
  it('loads dependencies first, reports built-in and unknown names instead of throwing', () => {
    const r = resolveModules(index, ['virtio_blk', 'ext4', 'xfs', 'btrfs', 'dm-mod']);
    expect(r.load).toEqual([
      'kernel/drivers/virtio/virtio_ring.ko',
      'kernel/drivers/virtio/virtio.ko',
      'kernel/drivers/block/virtio_blk.ko',
      'kernel/lib/libcrc32c.ko',
      'kernel/fs/xfs/xfs.ko',
      'kernel/drivers/md/dm-mod.ko',
    ]);
    expect(r.builtin).toEqual(['ext4']);
    expect(r.missing).toEqual(['btrfs']);
  });
});

describe('planEarlyLoad', () => {
  it('loads what reaches the root disk, and crc32c when it is a module', () => {
    expect(planEarlyLoad(index, ['virtio_pci', 'virtio_blk', 'ext4']).load).toEqual([
      'kernel/drivers/virtio/virtio_pci_legacy_dev.ko',
      'kernel/drivers/virtio/virtio_pci_modern_dev.ko',
      'kernel/drivers/virtio/virtio_ring.ko',
      'kernel/drivers/virtio/virtio.ko',
      'kernel/drivers/virtio/virtio_pci.ko',
      'kernel/drivers/block/virtio_blk.ko',
    ]);
    const withCrc = moduleIndex(`${MODULES_DEP}kernel/crypto/crc32c_generic.ko:\n`, 'kernel/fs/ext4/ext4.ko\n');
    expect(planEarlyLoad(withCrc, ['ext4']).load).toEqual(['kernel/crypto/crc32c_generic.ko']);
  });
});

describe('selectStagedFiles', () => {
  const files = [
    { path: 'modules.dep', size: 100 },
    { path: 'modules.alias', size: 100 },
    { path: 'kernel/drivers/virtio/virtio.ko', size: 1000 },
    { path: 'kernel/drivers/virtio/virtio_ring.ko', size: 1000 },
    { path: 'kernel/drivers/block/virtio_blk.ko', size: 1000 },
    { path: 'kernel/lib/libcrc32c.ko', size: 1000 },
    { path: 'kernel/fs/xfs/xfs.ko', size: 50_000 },
    { path: 'kernel/drivers/md/dm-mod.ko', size: 50_000 },
  ];

  it('stages everything that fits', () => {
    expect(selectStagedFiles(files, index, ['xfs'], 1 << 20)).toEqual({ files: files.map((f) => f.path), all: true, leftOut: 0 });
  });

  it('stages the index files and the closure of what the run uses when the tree is large', () => {
    const s = selectStagedFiles(files, index, ['xfs', 'virtio_blk'], 10_000);
    expect(s.all).toBe(false);
    expect(s.files).toEqual([
      'modules.dep',
      'modules.alias',
      'kernel/drivers/virtio/virtio.ko',
      'kernel/drivers/virtio/virtio_ring.ko',
      'kernel/drivers/block/virtio_blk.ko',
      'kernel/lib/libcrc32c.ko',
      'kernel/fs/xfs/xfs.ko',
    ]);
    expect(s.leftOut).toBe(1);
  });

  it('tells index files from modules', () => {
    expect(isIndexFile('modules.dep.bin')).toBe(true);
    expect(isIndexFile('kernel/modules.ko')).toBe(false);
  });
});
