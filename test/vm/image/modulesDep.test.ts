import { describe, expect, it } from 'vitest';
import { moduleNameOf, parseModulesDep, planModuleLoad } from '../../../src/vm/image/modulesDep.js';

// Lines from modules.dep of linux-image-6.1.0-56-cloud-amd64 (depmod output).
const MODULES_DEP = `kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/md/dm-mod.ko:
`;
const MODULES_BUILTIN = `kernel/fs/ext4/ext4.ko
kernel/crypto/crc32c_generic.ko
`;

describe('planModuleLoad', () => {
  const deps = parseModulesDep(MODULES_DEP);

  it('loads every dependency before the module that needs it, each once', () => {
    const plan = planModuleLoad(deps, MODULES_BUILTIN, ['virtio_pci', 'virtio_blk']);
    expect(plan.load).toEqual([
      'kernel/drivers/virtio/virtio_pci_legacy_dev.ko',
      'kernel/drivers/virtio/virtio_pci_modern_dev.ko',
      'kernel/drivers/virtio/virtio_ring.ko',
      'kernel/drivers/virtio/virtio.ko',
      'kernel/drivers/virtio/virtio_pci.ko',
      'kernel/drivers/block/virtio_blk.ko',
    ]);
  });

  it('treats - and _ alike and skips built-in modules', () => {
    const plan = planModuleLoad(deps, MODULES_BUILTIN, ['dm_mod', 'ext4']);
    expect(plan.load).toEqual(['kernel/drivers/md/dm-mod.ko']);
    expect(plan.builtin).toEqual(['ext4']);
  });

  it('names a module the kernel does not have', () => {
    expect(() => planModuleLoad(deps, MODULES_BUILTIN, ['9pnet_virtio'])).toThrow(
      'kernel module 9pnet_virtio is neither in modules.dep nor in modules.builtin',
    );
  });

  it('derives module names from compressed and dashed file names', () => {
    expect(moduleNameOf('kernel/drivers/md/dm-mod.ko.xz')).toBe('dm_mod');
    expect(moduleNameOf('kernel/fs/xfs/xfs.ko.zst')).toBe('xfs');
  });
});
