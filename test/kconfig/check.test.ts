// kt kconfig check's decisions on real configs (fixtures/README.md): a plain tinyconfig lacks
// nearly everything, Debian's cloud config has it all but as modules.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkKernelConfig } from '../../src/kconfig/check.js';
import { parseKernelConfig } from '../../src/kconfig/configText.js';
import { requirementsFor, type KconfigContext, type SectionInfo } from '../../src/kconfig/requirements.js';

const fixture = (name: string) => parseKernelConfig(fs.readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const tiny = fixture('tinyconfig-6.1.192.config');
const cloud = fixture('debian-6.1.192-cloud-amd64.config');
const fixed = fixture('tinyconfig-kt-fix-6.1.192.config');

const xfs: SectionInfo = { name: 'xfs', fstyp: 'xfs', mkfsOptions: '', mountOptions: '', env: {} };

function ctx(over: Partial<KconfigContext> = {}, section: Partial<SectionInfo> = {}): KconfigContext {
  return {
    backend: 'direct',
    rootfs: 'image',
    transport: 'virtio-serial',
    suite: { name: section.name ?? 'xfs', sections: [{ ...xfs, ...section }] },
    modulesStaged: true,
    extraModules: false,
    ...over,
  };
}

const names = (items: { symbol: string }[]) => items.map((i) => i.symbol);

describe('kt kconfig check on make tinyconfig', () => {
  const check = checkKernelConfig(tiny, ctx());

  it('misses what the guest needs to boot and the filesystem under test', () => {
    expect(check.ok).toBe(false);
    expect(names(check.requiredMissing)).toEqual([
      '64BIT', 'BLK_DEV_INITRD', 'RD_GZIP', 'DEVTMPFS', 'BINFMT_ELF', 'BINFMT_SCRIPT', 'PROC_FS', 'PROC_SYSCTL',
      'SYSFS', 'SHMEM', 'TMPFS', 'MULTIUSER', 'FUTEX', 'FILE_LOCKING', 'NET', 'UNIX', 'PRINTK', 'TTY',
      'SERIAL_8250', 'SERIAL_8250_CONSOLE', 'PCI', 'VIRTIO_PCI', 'BLOCK', 'BLK_DEV', 'VIRTIO_BLK',
      'VIRTIO_CONSOLE', 'EXT4_FS', 'XFS_FS',
    ]);
  });

  it('says which dependencies of a missing option are missing too', () => {
    const blk = check.requiredMissing.find((i) => i.symbol === 'VIRTIO_BLK')!;
    expect(blk.missingDependencies).toEqual([
      { symbol: 'BLOCK', state: 'off' },
      { symbol: 'BLK_DEV', state: 'absent' },
      { symbol: 'VIRTIO_PCI', state: 'absent' },
    ]);
    const console = check.requiredMissing.find((i) => i.symbol === 'SERIAL_8250_CONSOLE')!;
    expect(console.missingDependencies).toEqual([{ symbol: 'SERIAL_8250', state: 'absent' }]);
  });

  it('keeps recommended options apart from required ones', () => {
    expect(names(check.recommendedMissing)).toContain('PVPANIC_PCI');
    expect(names(check.recommendedMissing)).toContain('MAGIC_SYSRQ');
    expect(names(check.recommendedMissing)).toContain('DM_FLAKEY');
    expect(names(check.recommendedMissing)).not.toContain('XFS_FS');
    expect(check.recommendedMissing.every((i) => i.level === 'recommended')).toBe(true);
  });
});

describe('kt kconfig check after kt kconfig fix', () => {
  it('finds nothing missing, required or recommended', () => {
    const check = checkKernelConfig(fixed, ctx());
    expect(check.ok).toBe(true);
    expect(names(check.requiredMissing)).toEqual([]);
    expect(names(check.recommendedMissing)).toEqual([]);
    // scsi_debug is the one module: fstests loads it with parameters.
    expect(names(check.asModules)).toEqual(['SCSI_DEBUG']);
  });

  it('wants scsi_debug as a module, not built in', () => {
    const builtIn = checkKernelConfig(new Map([...fixed, ['SCSI_DEBUG', 'y']]), ctx());
    const item = builtIn.recommendedMissing.find((i) => i.symbol === 'SCSI_DEBUG')!;
    expect(item.note).toMatch(/^built in \(=y\), but it must be a module \(=m\): fstests loads it with parameters/);
  });
});

describe('modules (=m)', () => {
  it('count when kt stages the modules, and the check says so', () => {
    const check = checkKernelConfig(cloud, ctx({ modulesStaged: true }));
    expect(check.ok).toBe(true);
    expect(names(check.asModules.filter((i) => i.level === 'required'))).toEqual(['VIRTIO_PCI', 'VIRTIO_BLK', 'VIRTIO_CONSOLE', 'XFS_FS']);
    expect(check.asModules[0]!.note).toBe('built as a module (=m): kt stages it into the guest');
  });

  it('do not count when there is nothing to stage (a bare --config or --kernel)', () => {
    const check = checkKernelConfig(cloud, ctx({ modulesStaged: false }));
    expect(names(check.requiredMissing)).toEqual(['VIRTIO_PCI', 'VIRTIO_BLK', 'VIRTIO_CONSOLE', 'XFS_FS']);
    expect(check.requiredMissing[0]!.note).toContain('kt has no modules of this kernel to stage');
  });

  it('never count for the serial console, which must exist before any module loads', () => {
    const config = new Map([...fixed, ['SERIAL_8250', 'm']]);
    const check = checkKernelConfig(config, ctx());
    const serial = check.requiredMissing.find((i) => i.symbol === 'SERIAL_8250')!;
    expect(serial.note).toContain('must be built in (=y)');
    expect(check.requiredMissing.find((i) => i.symbol === 'SERIAL_8250_CONSOLE')?.missingDependencies).toBeUndefined();
  });

  it('never count for a NixOS guest, which loads its own kernel\'s modules only', () => {
    const check = checkKernelConfig(cloud, ctx({ backend: 'nixos', modulesStaged: true }));
    expect(names(check.requiredMissing)).toEqual(expect.arrayContaining(['VIRTIO_PCI', 'VIRTIO_BLK', 'NET_9P', 'NET_9P_VIRTIO', '9P_FS', 'OVERLAY_FS', 'VIRTIO_NET', 'XFS_FS']));
    expect(names(check.requiredMissing)).not.toContain('RD_GZIP');
    // NixOS compresses its initrd with zstd; Debian's config has it.
    expect(check.items.find((i) => i.symbol === 'RD_ZSTD')?.status).toBe('ok');
  });
});

describe('what the suite asks for', () => {
  it('btrfs needs btrfs', () => {
    const check = checkKernelConfig(fixed, ctx({}, { name: 'btrfs', fstyp: 'btrfs' }));
    expect(names(check.requiredMissing)).toEqual(['BTRFS_FS']);
  });

  it('quota mount options make quota support required', () => {
    const r = requirementsFor(ctx({}, { mountOptions: '-o usrquota,grpquota' }));
    expect(r.find((x) => x.symbol === 'XFS_QUOTA')?.level).toBe('required');
    const plain = requirementsFor(ctx());
    expect(plain.find((x) => x.symbol === 'XFS_QUOTA')?.level).toBe('recommended');
    const ext4 = requirementsFor(ctx({}, { fstyp: 'ext4', mountOptions: '-o prjquota' }));
    expect(ext4.find((x) => x.symbol === 'QUOTA')?.level).toBe('required');
  });

  it('a realtime section needs XFS_RT; other xfs sections recommend it', () => {
    expect(requirementsFor(ctx({}, { env: { SCRATCH_RTDEV: '/dev/vdz' } })).find((x) => x.symbol === 'XFS_RT')?.level).toBe('required');
    expect(requirementsFor(ctx({}, { mkfsOptions: '-r rtdev=/dev/vdz' })).find((x) => x.symbol === 'XFS_RT')?.level).toBe('required');
    expect(requirementsFor(ctx({}, { realtime: true })).find((x) => x.symbol === 'XFS_RT')?.level).toBe('required');
    expect(requirementsFor(ctx()).find((x) => x.symbol === 'XFS_RT')?.level).toBe('recommended');
    expect(requirementsFor(ctx({}, { fstyp: 'ext4' })).find((x) => x.symbol === 'XFS_RT')).toBeUndefined();
  });

  it('every section of a suite counts', () => {
    const c = ctx();
    const two: KconfigContext = { ...c, suite: { name: 'mixed', sections: [xfs, { ...xfs, name: 'mixed/ext2', fstyp: 'ext2' }] } };
    const check = checkKernelConfig(tiny, two);
    expect(names(check.requiredMissing)).toContain('XFS_FS');
    const ext2 = check.requiredMissing.find((i) => i.symbol === 'EXT2_FS')!;
    expect(ext2.anyOf).toEqual(['EXT4_USE_FOR_EXT2']);
    // Debian's cloud config serves ext2 with the ext4 driver.
    expect(checkKernelConfig(cloud, two).items.find((i) => i.symbol === 'EXT2_FS')?.status).toBe('ok');
  });

  it('USE_KMEMLEAK=yes needs kmemleak', () => {
    const check = checkKernelConfig(fixed, ctx({}, { env: { USE_KMEMLEAK: 'yes' } }));
    expect(names(check.requiredMissing)).toEqual(['DEBUG_KMEMLEAK']);
  });
});

describe('backend, root filesystem and transport', () => {
  it('--transport tcp needs a network driver', () => {
    const check = checkKernelConfig(fixed, ctx({ transport: 'tcp' }));
    expect(names(check.requiredMissing)).toEqual(['VIRTIO_NET']);
    expect(check.requiredMissing[0]!.missingDependencies).toEqual([
      { symbol: 'NETDEVICES', state: 'off' },
      { symbol: 'NET_CORE', state: 'absent' },
    ]);
  });

  it('an imageless boot needs virtiofs instead of the ext4 root', () => {
    const r = requirementsFor(ctx({ rootfs: 'virtiofs' }));
    expect(r.find((x) => x.symbol === 'VIRTIO_FS')).toMatchObject({ level: 'required', early: true });
    // guest/init mounts the read-only shares under a tmpfs overlay before switch_root.
    expect(r.find((x) => x.symbol === 'OVERLAY_FS')).toMatchObject({ level: 'required', early: true, module: 'overlay' });
    expect(r.find((x) => x.symbol === 'FUSE_DAX')?.level).toBe('recommended');
    expect(r.find((x) => x.symbol === 'EXT4_FS')).toBeUndefined();
    expect(names(checkKernelConfig(fixed, ctx({ rootfs: 'virtiofs' })).requiredMissing)).toEqual(['FUSE_FS', 'VIRTIO_FS']);
  });

  it('--module needs module support', () => {
    expect(requirementsFor(ctx({ extraModules: true })).find((x) => x.symbol === 'MODULES')?.level).toBe('required');
    expect(requirementsFor(ctx()).find((x) => x.symbol === 'MODULES')?.level).toBe('recommended');
  });

  it('lists each symbol once, required rows first', () => {
    for (const c of [ctx(), ctx({ backend: 'nixos' }), ctx({ rootfs: 'virtiofs' }, { fstyp: 'ext4' })]) {
      const r = requirementsFor(c);
      expect(new Set(r.map((x) => x.symbol)).size).toBe(r.length);
      const firstRecommended = r.findIndex((x) => x.level === 'recommended');
      expect(r.slice(firstRecommended).every((x) => x.level === 'recommended')).toBe(true);
    }
  });
});
