/**
 * What a kernel needs to run kt's guests, as data: one row per Kconfig symbol, with why,
 * whether it is required (the guest does not boot or kt cannot drive it) or recommended (some
 * fstests tests are skipped or crash reports are poorer), whether a module (=m) can do, and the
 * symbols it depends on in Kconfig (so a refusal can be explained). docs/kernel.md explains
 * every row. Dependencies are those of Linux 6.1 (the `depends on` lines and enclosing `if`
 * blocks of the Kconfig file named in `source`); newer kernels keep them.
 */

export type Level = 'required' | 'recommended';

/** The part of kt a requirement serves, for grouping in reports. */
export type Topic = 'boot' | 'console' | 'userspace' | 'devices' | 'root' | 'fs' | 'fstests' | 'diagnostics' | 'modules' | 'nixos' | 'virtiofs';

export interface Requirement {
  symbol: string;
  /** Other symbols that satisfy the requirement as well (e.g. EXT4_USE_FOR_EXT2 for EXT2_FS). */
  anyOf?: readonly string[];
  level: Level;
  /** tristate symbols can be modules; bool ones cannot. */
  kind: 'bool' | 'tristate';
  /** A module cannot do even when modules are staged (e.g. the serial console must exist at boot). */
  builtinOnly?: boolean;
  /** Built in (=y) it is of no use: it must be a module (fstests loads it with parameters). */
  moduleOnly?: string;
  /** The module name when built as =m (for staging: "xfs", "virtio_blk"). */
  module?: string;
  /** Needed by kt's initramfs before the root filesystem is mounted (guest/init insmods it). */
  early?: boolean;
  why: string;
  /** Symbols that must be enabled for Kconfig to offer this one ("SERIAL_8250=y" when =m will not do). */
  dependsOn: readonly string[];
  topic: Topic;
  /** Where the dependency and the need come from (a kernel Kconfig file, a kt file). */
  source: string;
}

/** One filesystem configuration of a suite (a section of fstests' config). */
export interface SectionInfo {
  /** `SUITE/SECTION`, or the suite's name for a suite without sections. */
  name: string;
  fstyp: string;
  mkfsOptions: string;
  mountOptions: string;
  env: Readonly<Record<string, string>>;
  /** The section gives the VMs realtime devices (TEST_RTDEV/SCRATCH_RTDEV). */
  realtime?: boolean;
}

export interface SuiteInfo {
  name: string;
  sections: readonly SectionInfo[];
  /** The command-line words that choose these sections (-c …, --suite …), none for the default. */
  selection?: readonly string[];
}

export interface KconfigContext {
  backend: 'direct' | 'nixos';
  rootfs: 'image' | 'virtiofs';
  transport: 'virtio-serial' | 'tcp';
  suite: SuiteInfo;
  /** kt can copy this kernel's modules into the guest (a built tree, or --modules DIR). */
  modulesStaged: boolean;
  /** --module FILE.ko was given: the kernel must load modules. */
  extraModules: boolean;
}

type Row = Omit<Requirement, 'dependsOn' | 'kind'> & { dependsOn?: readonly string[]; kind?: Requirement['kind'] };

function row(r: Row): Requirement {
  return { kind: 'bool', dependsOn: [], ...r };
}

function req(symbol: string, topic: Topic, why: string, extra: Partial<Row> & { source: string }): Requirement {
  return row({ symbol, topic, why, level: 'required', ...extra });
}

function rec(symbol: string, topic: Topic, why: string, extra: Partial<Row> & { source: string }): Requirement {
  return row({ symbol, topic, why, level: 'recommended', ...extra });
}

/** Mount options that turn quota accounting on (xfs(5), ext4(5)). */
const QUOTA_MOUNT_OPTIONS = /(^|,)(usr|grp|prj)?quota(,|$)|(^|,)[ugp]q(noenforce)?(,|$)|(^|,)[ugp]quota(,|$)|(^|,)(usr|grp|prj)jquota=|(^|,)qnoenforce(,|$)/;

function mountOptionList(options: string): string {
  // "-o noatime,usrquota" or "-o usrquota -o dax": one comma list.
  return options
    .split(/\s+/)
    .filter((w) => w !== '' && w !== '-o')
    .join(',');
}

/** The suite asks for a realtime device (fstests: SCRATCH_RTDEV/TEST_RTDEV; mkfs.xfs -r rtdev=). */
function usesRealtime(suite: SectionInfo): boolean {
  return suite.realtime === true || Boolean(suite.env.SCRATCH_RTDEV || suite.env.TEST_RTDEV) || /(^|\s)-r\s+\S*rtdev=/.test(suite.mkfsOptions);
}

/** Everything the guest userspace and kt's own guest scripts need, for either backend. */
function baseRequirements(ctx: KconfigContext): Requirement[] {
  const nixos = ctx.backend === 'nixos';
  const systemd = 'systemd README, "REQUIREMENTS" (NixOS guests run systemd)';
  return [
    req('64BIT', 'boot', nixos ? 'the NixOS guest is x86_64-linux: a 32-bit kernel cannot run it' : "kt's root image is Debian bookworm amd64: a 32-bit kernel cannot run it", { source: 'arch/x86/Kconfig' }),
    req('BLK_DEV_INITRD', 'boot', nixos ? 'NixOS boots through its stage-1 initrd' : "kt boots through its initramfs (QEMU -initrd), which finds the root disk by its serial", { source: 'init/Kconfig; src/vm/image/initramfs.ts' }),
    nixos
      ? req('RD_ZSTD', 'boot', 'NixOS compresses its initrd with zstd (boot.initrd.compressor)', { dependsOn: ['BLK_DEV_INITRD'], source: 'usr/Kconfig; nixos/modules/system/boot/stage-1.nix' })
      : req('RD_GZIP', 'boot', "kt's initramfs is a gzip-compressed cpio archive", { dependsOn: ['BLK_DEV_INITRD'], source: 'usr/Kconfig; src/vm/image/initramfs.ts' }),
    req('DEVTMPFS', 'boot', nixos ? 'systemd and the NixOS initrd mount devtmpfs on /dev' : 'guest/init mounts devtmpfs on /dev (no udev during the boot)', { source: 'drivers/base/Kconfig; guest/init' }),
    req('BINFMT_ELF', 'boot', 'every guest program is an ELF binary', { source: 'fs/Kconfig.binfmt' }),
    req('BINFMT_SCRIPT', 'boot', nixos ? 'NixOS stage 1 and the service scripts are #! scripts' : "kt's /init and /sbin/kt-init are #! scripts", { source: 'fs/Kconfig.binfmt; guest/init' }),
    req('PROC_FS', 'boot', 'the guest scripts read /proc/cmdline and fstests reads /proc/mounts', { source: 'fs/proc/Kconfig' }),
    req('PROC_SYSCTL', 'userspace', 'kt-init sets kernel.sysrq and the hung-task timeout; fstests writes /proc/sys/vm/drop_caches', { dependsOn: ['PROC_FS'], source: 'fs/proc/Kconfig; guest/kt-init' }),
    req('SYSFS', 'boot', 'the guest finds its disks by /sys/block/*/serial and its ssh port by /sys/class/virtio-ports', { source: 'fs/sysfs/Kconfig; guest/init' }),
    req('SHMEM', 'userspace', 'tmpfs needs it', { source: 'init/Kconfig' }),
    req('TMPFS', 'userspace', 'the guest mounts tmpfs on /run, /tmp and /dev/shm (the root image stays read-only)', { dependsOn: ['SHMEM'], source: 'fs/Kconfig; guest/init' }),
    req('MULTIUSER', 'userspace', 'sshd and fstests switch users (setuid/setgid system calls; fsgqa tests)', { source: 'init/Kconfig' }),
    req('FUTEX', 'userspace', "glibc's locks and threads", { source: 'init/Kconfig' }),
    req('FILE_LOCKING', 'userspace', "util-linux mount locks its utab with flock(2); fstests tests flock and fcntl locks", { source: 'fs/Kconfig' }),
    req('NET', 'userspace', 'sockets (sshd)', { source: 'net/Kconfig' }),
    req('UNIX', 'userspace', "sshd's privilege separation talks over AF_UNIX socket pairs", { dependsOn: ['NET'], source: 'net/unix/Kconfig' }),
    ctx.transport === 'tcp' || nixos
      ? req('INET', 'userspace', ctx.transport === 'tcp' ? '--transport tcp: sshd listens on 10.0.2.15:22' : 'the NixOS VM has a network interface (qemu-vm.nix requiredKernelConfig)', { dependsOn: ['NET'], source: 'net/Kconfig' })
      : rec('INET', 'userspace', 'the loopback interface, and --transport tcp', { dependsOn: ['NET'], source: 'net/Kconfig' }),
    ...(['EPOLL', 'SIGNALFD', 'TIMERFD', 'EVENTFD'] as const).map((s) =>
      nixos
        ? req(s, 'userspace', `systemd needs ${s.toLowerCase()}`, { source: `init/Kconfig; ${systemd}` })
        : rec(s, 'userspace', `fstests' helpers and the aio/io_uring tests use ${s.toLowerCase()}`, { source: 'init/Kconfig' }),
    ),
    rec('POSIX_TIMERS', 'userspace', 'timeout(1) and timer tests use timer_create(2)', { source: 'init/Kconfig' }),
    req('PRINTK', 'console', 'kt reads kernel messages on the serial console to detect panics, oopses and hangs', { source: 'init/Kconfig' }),
    req('TTY', 'console', 'the serial console and the virtio console are ttys', { source: 'drivers/tty/Kconfig' }),
    req('SERIAL_8250', 'console', 'console=ttyS0: kt reads the kernel console and waits for "kt-init: ready" on it', {
      kind: 'tristate',
      builtinOnly: true,
      dependsOn: ['TTY'],
      source: 'drivers/tty/serial/8250/Kconfig; src/vm/qemuArgs.ts',
    }),
    req('SERIAL_8250_CONSOLE', 'console', 'the kernel console on ttyS0 (console=ttyS0,115200)', { dependsOn: ['SERIAL_8250=y'], source: 'drivers/tty/serial/8250/Kconfig' }),
    rec('UNIX98_PTYS', 'console', 'interactive ssh sessions with a terminal, script(1)', { dependsOn: ['TTY'], source: 'drivers/tty/Kconfig' }),
    req('PCI', 'devices', 'the virtio devices sit on the PCI Express bus of the q35 machine', { source: 'drivers/pci/Kconfig; src/vm/spec.ts' }),
    req('VIRTIO_PCI', 'devices', 'virtio devices on PCI (disks, ssh channel, rng)', {
      kind: 'tristate',
      module: 'virtio_pci',
      early: true,
      dependsOn: ['PCI', 'VIRTIO_MENU'],
      source: 'drivers/virtio/Kconfig',
    }),
    req('BLOCK', 'devices', 'block devices', { source: 'block/Kconfig' }),
    req('BLK_DEV', 'devices', 'block device drivers', { dependsOn: ['BLOCK'], source: 'drivers/block/Kconfig' }),
    req('VIRTIO_BLK', 'devices', nixos ? 'the NixOS root disk and the TEST/SCRATCH disks are virtio-blk' : 'the root image and the TEST/SCRATCH disks are virtio-blk disks', {
      kind: 'tristate',
      module: 'virtio_blk',
      early: true,
      dependsOn: ['BLOCK', 'BLK_DEV', 'VIRTIO_PCI'],
      source: 'drivers/block/Kconfig',
    }),
    ctx.transport === 'virtio-serial'
      ? req('VIRTIO_CONSOLE', 'devices', "kt's ssh channel is the virtio-serial port kt.ssh", {
          kind: 'tristate',
          module: 'virtio_console',
          // guest/init starts sshd on the port before switch_root (guest/kt-sshd).
          early: true,
          dependsOn: ['TTY', 'VIRTIO_PCI'],
          source: 'drivers/char/Kconfig; guest/kt-sshd',
        })
      : rec('VIRTIO_CONSOLE', 'devices', 'the default ssh channel (virtio-serial port kt.ssh)', { kind: 'tristate', module: 'virtio_console', dependsOn: ['TTY', 'VIRTIO_PCI'], source: 'drivers/char/Kconfig' }),
    ctx.transport === 'tcp' || nixos
      ? req('VIRTIO_NET', 'devices', ctx.transport === 'tcp' ? '--transport tcp: ssh over a virtio-net NIC' : 'the NixOS VM has a virtio-net NIC (qemu-vm.nix requiredKernelConfig)', {
          kind: 'tristate',
          module: 'virtio_net',
          dependsOn: ['NET', 'NETDEVICES', 'NET_CORE', 'VIRTIO_PCI'],
          source: 'drivers/net/Kconfig',
        })
      : undefined,
    rec('ACPI', 'devices', 'a clean power-off ends QEMU; interrupt routing of the q35 machine', { source: 'drivers/acpi/Kconfig' }),
    rec('PCI_MSI', 'devices', 'virtio-pci interrupts (MSI-X); without them it falls back to shared legacy interrupts', { dependsOn: ['PCI'], source: 'drivers/pci/Kconfig' }),
    rec('SMP', 'devices', '--cpus N gives each VM N vCPUs (default 2); a uniprocessor kernel uses one', { source: 'arch/x86/Kconfig' }),
    rec('HW_RANDOM_VIRTIO', 'devices', "virtio-rng feeds the guest's entropy pool (sshd, fstests' random data)", {
      kind: 'tristate',
      module: 'virtio_rng',
      dependsOn: ['HW_RANDOM', 'VIRTIO_PCI'],
      source: 'drivers/char/hw_random/Kconfig',
    }),
    // The NixOS VM's own run script boots the bzImage; kt's backend boots what it chooses.
    nixos
      ? undefined
      : rec('PVH', 'boot', 'kt boots the uncompressed kernel (arch/x86/boot/compressed/vmlinux.bin) by its PVH entry: no decompression, no real-mode set-up, a faster boot (docs/speed.md)', {
          dependsOn: ['HYPERVISOR_GUEST'],
          source: 'arch/x86/Kconfig; src/vm/pvh/pvhKernel.ts',
        }),
  ].filter((r): r is Requirement => r !== undefined);
}

function rootRequirements(ctx: KconfigContext): Requirement[] {
  if (ctx.backend === 'nixos') {
    const qemuVm = 'nixos/modules/virtualisation/qemu-vm.nix requiredKernelConfig';
    return [
      req('EXT4_FS', 'root', 'the NixOS root disk is ext4', { kind: 'tristate', module: 'ext4', dependsOn: ['BLOCK'], source: `fs/ext4/Kconfig; ${qemuVm}` }),
      req('NETWORK_FILESYSTEMS', 'nixos', 'the Nix store is shared with the host over 9p', { source: `fs/Kconfig; ${qemuVm}` }),
      req('NET_9P', 'nixos', 'the Nix store is shared with the host over 9p', { kind: 'tristate', module: '9pnet', dependsOn: ['NET'], source: `net/9p/Kconfig; ${qemuVm}` }),
      req('NET_9P_VIRTIO', 'nixos', '9p over virtio (the Nix store)', { kind: 'tristate', module: '9pnet_virtio', dependsOn: ['NET_9P', 'VIRTIO_PCI'], source: `net/9p/Kconfig; ${qemuVm}` }),
      req('9P_FS', 'nixos', 'the Nix store is mounted from the host with 9p', { kind: 'tristate', module: '9p', dependsOn: ['NETWORK_FILESYSTEMS', 'INET', 'NET_9P'], source: `fs/9p/Kconfig; ${qemuVm}` }),
      req('OVERLAY_FS', 'nixos', 'the writable Nix store is an overlay over the shared one', { kind: 'tristate', module: 'overlay', source: `fs/overlayfs/Kconfig; ${qemuVm}` }),
      req('CGROUPS', 'nixos', 'systemd needs cgroups', { source: 'init/Kconfig; systemd README' }),
      req('INOTIFY_USER', 'nixos', 'systemd needs inotify', { source: 'fs/notify/inotify/Kconfig; systemd README' }),
      req('FHANDLE', 'nixos', 'systemd needs name_to_handle_at(2)', { source: 'init/Kconfig; systemd README' }),
      rec('AUTOFS_FS', 'nixos', 'systemd automount units', { kind: 'tristate', module: 'autofs4', source: 'fs/autofs/Kconfig; systemd README' }),
    ];
  }
  if (ctx.rootfs === 'virtiofs') {
    return [
      req('FUSE_FS', 'virtiofs', 'virtiofs is a FUSE transport', { kind: 'tristate', module: 'fuse', early: true, source: 'fs/fuse/Kconfig' }),
      req('VIRTIO_FS', 'virtiofs', 'imageless boot: the root filesystem is the host directory shared with virtiofs', {
        kind: 'tristate',
        module: 'virtiofs',
        early: true,
        dependsOn: ['FUSE_FS', 'VIRTIO_PCI'],
        source: 'fs/fuse/Kconfig',
      }),
      req('OVERLAY_FS', 'virtiofs', 'the read-only virtiofs root and fstests tree get a tmpfs overlay for their writes (guest/init)', {
        kind: 'tristate',
        module: 'overlay',
        early: true,
        source: 'fs/overlayfs/Kconfig; Documentation/filesystems/overlayfs.rst',
      }),
      rec('FUSE_DAX', 'virtiofs', "virtiofs DAX: file pages map the host's page cache instead of being copied", {
        dependsOn: ['VIRTIO_FS', 'FS_DAX', 'DAX', 'ZONE_DEVICE', 'MEMORY_HOTPLUG', 'MEMORY_HOTREMOVE', 'SPARSEMEM_VMEMMAP'],
        source: 'fs/fuse/Kconfig; fs/Kconfig (FS_DAX depends on ZONE_DEVICE); mm/Kconfig',
      }),
    ];
  }
  return [
    req('EXT4_FS', 'root', "kt's root image (root.img) is ext4", { kind: 'tristate', module: 'ext4', early: true, dependsOn: ['BLOCK'], source: 'fs/ext4/Kconfig; src/vm/image/rootImage.ts' }),
  ];
}

/** The filesystem under test and the options one section of the suite uses. */
function sectionRequirements(suite: SectionInfo): Requirement[] {
  const why = `the filesystem under test: FSTYP=${suite.fstyp} in ${suite.name}`;
  const mountOptions = mountOptionList(suite.mountOptions);
  const quotaMount = QUOTA_MOUNT_OPTIONS.test(mountOptions);
  const out: Requirement[] = [];
  const quotaWhy = (fs: string) => `${fs} quota: the suite mounts with quota options (${mountOptions})`;
  switch (suite.fstyp) {
    case 'xfs':
      out.push(
        req('XFS_FS', 'fs', why, { kind: 'tristate', module: 'xfs', dependsOn: ['BLOCK'], source: 'fs/xfs/Kconfig' }),
        quotaMount
          ? req('XFS_QUOTA', 'fs', quotaWhy('XFS'), { dependsOn: ['XFS_FS'], source: 'fs/xfs/Kconfig' })
          : rec('XFS_QUOTA', 'fs', "fstests' xfs and generic quota tests (_require_quota)", { dependsOn: ['XFS_FS'], source: 'fs/xfs/Kconfig' }),
        rec('XFS_POSIX_ACL', 'fs', "fstests' ACL tests (_require_acls)", { dependsOn: ['XFS_FS'], source: 'fs/xfs/Kconfig' }),
        rec('XFS_ONLINE_SCRUB', 'fs', "fstests' online scrub tests and xfs_scrub after each test", { dependsOn: ['XFS_FS'], source: 'fs/xfs/Kconfig' }),
      );
      out.push(
        usesRealtime(suite)
          ? req('XFS_RT', 'fs', `${suite.name} uses a realtime device (TEST_RTDEV/SCRATCH_RTDEV)`, { dependsOn: ['XFS_FS'], source: 'fs/xfs/Kconfig' })
          : rec('XFS_RT', 'fs', 'realtime sections (xfs/realtime, -c xfs/all) and the realtime tests', { dependsOn: ['XFS_FS'], source: 'fs/xfs/Kconfig; suites/xfs.yaml' }),
      );
      break;
    case 'ext4':
    case 'ext3':
      // ext3 is served by the ext4 driver since Linux 4.3 (fs/ext4/super.c register_as_ext3).
      out.push(
        req('EXT4_FS', 'fs', why, { kind: 'tristate', module: 'ext4', dependsOn: ['BLOCK'], source: 'fs/ext4/Kconfig' }),
        rec('EXT4_FS_POSIX_ACL', 'fs', "fstests' ACL tests (_require_acls)", { dependsOn: ['EXT4_FS'], source: 'fs/ext4/Kconfig' }),
        rec('EXT4_FS_SECURITY', 'fs', 'security.* extended attributes (fstests attr tests)', { dependsOn: ['EXT4_FS'], source: 'fs/ext4/Kconfig' }),
      );
      if (quotaMount || /(^|[\s,])quota([\s,]|$)/.test(suite.mkfsOptions)) {
        out.push(req('QUOTA', 'fs', quotaMount ? quotaWhy('ext4') : 'the suite makes ext4 with the quota feature (mkfs -O quota)', { source: 'fs/quota/Kconfig' }));
      }
      break;
    case 'ext2':
      out.push(
        req('EXT2_FS', 'fs', `${why} (the ext2 driver, or ext4 with EXT4_USE_FOR_EXT2)`, {
          anyOf: ['EXT4_USE_FOR_EXT2'],
          kind: 'tristate',
          module: 'ext2',
          dependsOn: ['BLOCK'],
          source: 'fs/ext2/Kconfig; fs/ext4/Kconfig',
        }),
      );
      break;
    case 'btrfs':
      out.push(
        req('BTRFS_FS', 'fs', why, { kind: 'tristate', module: 'btrfs', dependsOn: ['BLOCK'], source: 'fs/btrfs/Kconfig' }),
        rec('BTRFS_FS_POSIX_ACL', 'fs', "fstests' ACL tests (_require_acls)", { dependsOn: ['BTRFS_FS'], source: 'fs/btrfs/Kconfig' }),
      );
      break;
  }
  if (/(^|,)dax(=|,|$)/.test(mountOptions)) {
    out.push(req('FS_DAX', 'fs', `the suite mounts with dax (${mountOptions})`, { dependsOn: ['ZONE_DEVICE', 'MEMORY_HOTPLUG', 'MEMORY_HOTREMOVE', 'SPARSEMEM_VMEMMAP'], source: 'fs/Kconfig; mm/Kconfig' }));
  }
  if (/(^|[\s,])encrypt([\s,]|$)/.test(suite.mkfsOptions)) out.push(req('FS_ENCRYPTION', 'fs', 'the suite makes filesystems with the encrypt feature', { source: 'fs/crypto/Kconfig' }));
  if (/(^|[\s,])verity([\s,]|$)/.test(suite.mkfsOptions)) out.push(req('FS_VERITY', 'fs', 'the suite makes filesystems with the verity feature', { source: 'fs/verity/Kconfig' }));
  if (/(^|[\s,])casefold([\s,]|$)/.test(suite.mkfsOptions)) out.push(req('UNICODE', 'fs', 'the suite makes filesystems with the casefold feature', { source: 'fs/unicode/Kconfig' }));
  if (suite.env.USE_KMEMLEAK === 'yes') {
    out.push(req('DEBUG_KMEMLEAK', 'diagnostics', `the suite sets USE_KMEMLEAK=yes (fstests scans for leaks after each test)`, { dependsOn: ['DEBUG_KERNEL'], source: 'mm/Kconfig.debug; fstests common/rc _init_kmemleak' }));
  }
  return out;
}

/** What fstests itself uses beyond the filesystem under test: tests are "notrun" without it. */
function fstestsRequirements(): Requirement[] {
  const dm = (symbol: string, target: string, module: string) =>
    rec(symbol, 'fstests', `_require_dm_target ${target} (dm-${target} tests)`, { kind: 'tristate', module, dependsOn: ['BLK_DEV_DM'], source: 'drivers/md/Kconfig; fstests common/rc' });
  return [
    rec('QUOTA', 'fstests', 'quota tests (_require_quota)', { source: 'fs/quota/Kconfig; fstests common/quota' }),
    rec('QFMT_V2', 'fstests', 'quota tests with vfsv0/vfsv1 quota files', { kind: 'tristate', module: 'quota_v2', dependsOn: ['QUOTA'], source: 'fs/quota/Kconfig' }),
    rec('BLK_DEV_LOOP', 'fstests', 'loop devices (_require_loop)', { kind: 'tristate', module: 'loop', dependsOn: ['BLOCK', 'BLK_DEV'], source: 'drivers/block/Kconfig; fstests common/rc' }),
    rec('MD', 'fstests', 'device mapper lives in the multiple-devices menu', { dependsOn: ['BLOCK'], source: 'drivers/md/Kconfig' }),
    rec('BLK_DEV_DM', 'fstests', 'device-mapper tests (_require_dm_target)', { kind: 'tristate', module: 'dm_mod', dependsOn: ['BLOCK', 'MD'], source: 'drivers/md/Kconfig; fstests common/rc' }),
    // libdevmapper's udev synchronisation takes a System V semaphore per dm operation; without
    // SYSVIPC dmsetup says "Kernel not configured for semaphores" and returns before udev has
    // made the /dev/mapper link (lvm2 libdm/libdm-common.c).
    rec('SYSVIPC', 'fstests', "device-mapper commands wait for udev through System V semaphores (libdevmapper's udev synchronisation); without them dmsetup returns before udev has made the /dev/mapper link", {
      source: 'init/Kconfig; lvm2 libdm/libdm-common.c',
    }),
    // kt-init checks for inotify and epoll before it starts udevd (systemd 252 src/udev/udevd.c).
    rec('INOTIFY_USER', 'fstests', "udevd, which kt-init starts for the device-mapper tests (fstests' _udev_wait waits on it, _short_dev follows its /dev/mapper links), needs inotify; without it dm devices get plain /dev/mapper nodes", {
      source: 'fs/notify/inotify/Kconfig; guest/kt-init; fstests common/rc',
    }),
    dm('DM_FLAKEY', 'flakey', 'dm_flakey'),
    dm('DM_LOG_WRITES', 'log-writes', 'dm_log_writes'),
    dm('DM_THIN_PROVISIONING', 'thin-pool', 'dm_thin_pool'),
    dm('DM_SNAPSHOT', 'snapshot', 'dm_snapshot'),
    dm('DM_DELAY', 'delay', 'dm_delay'),
    dm('DM_DUST', 'dust', 'dm_dust'),
    rec('OVERLAY_FS', 'fstests', 'overlay tests (FSTYP=overlay, _require_scratch_overlay)', { kind: 'tristate', module: 'overlay', source: 'fs/overlayfs/Kconfig' }),
    rec('FS_VERITY', 'fstests', 'fs-verity tests (_require_scratch_verity)', { source: 'fs/verity/Kconfig; fstests common/verity' }),
    rec('FS_ENCRYPTION', 'fstests', 'fscrypt tests (_require_scratch_encryption)', { source: 'fs/crypto/Kconfig; fstests common/encrypt' }),
    rec('AIO', 'fstests', 'aio-dio tests and fsstress aio operations', { source: 'init/Kconfig' }),
    rec('IO_URING', 'fstests', 'io_uring tests and fsstress uring operations', { source: 'init/Kconfig' }),
    rec('FHANDLE', 'fstests', 'open_by_handle tests (_require_exportfs)', { source: 'init/Kconfig' }),
    rec('ADVISE_SYSCALLS', 'fstests', 'fadvise/madvise tests', { source: 'init/Kconfig' }),
    rec('SCSI', 'fstests', 'scsi_debug needs the SCSI layer', { kind: 'tristate', module: 'scsi_mod', dependsOn: ['BLOCK'], source: 'drivers/scsi/Kconfig' }),
    rec('BLK_DEV_SD', 'fstests', 'disks of scsi_debug', { kind: 'tristate', module: 'sd_mod', dependsOn: ['SCSI'], source: 'drivers/scsi/Kconfig' }),
    rec('SCSI_DEBUG', 'fstests', 'tests with odd sector sizes (_require_scsi_debug)', {
      kind: 'tristate',
      module: 'scsi_debug',
      moduleOnly: 'fstests loads it with parameters (modprobe scsi_debug dev_size_mb=… sector_size=…), and built in it adds a disk to every guest',
      dependsOn: ['SCSI', 'MODULES'],
      source: 'drivers/scsi/Kconfig; fstests common/scsi_debug',
    }),
    rec('SWAP', 'fstests', 'swapfile tests (_require_scratch_swapfile)', { source: 'mm/Kconfig; fstests common/rc' }),
    rec('UNICODE', 'fstests', 'casefolding tests (_require_scratch_casefold)', { source: 'fs/unicode/Kconfig; fstests common/casefold' }),
    rec('CGROUPS', 'fstests', 'cgroup writeback tests (_require_cgroup2)', { source: 'init/Kconfig; fstests common/cgroup2' }),
    rec('DEBUG_FS', 'fstests', 'error injection knobs and _require_debugfs', { source: 'lib/Kconfig.debug' }),
    rec('CONFIGFS_FS', 'fstests', 'kt-init mounts /sys/kernel/config; configfs-driven test targets', { kind: 'tristate', module: 'configfs', source: 'fs/configfs/Kconfig; guest/kt-init' }),
  ];
}

function diagnosticRequirements(ctx: KconfigContext): Requirement[] {
  return [
    rec('PVPANIC', 'diagnostics', 'pvpanic device support', { source: 'drivers/misc/pvpanic/Kconfig' }),
    rec('PVPANIC_PCI', 'diagnostics', 'a panic ends QEMU at once (pvpanic-pci, -action panic=exit-failure) instead of a console timeout', {
      kind: 'tristate',
      module: 'pvpanic_pci',
      dependsOn: ['PCI', 'PVPANIC'],
      source: 'drivers/misc/pvpanic/Kconfig; src/vm/qemuArgs.ts',
    }),
    rec('MAGIC_SYSRQ', 'diagnostics', 'kt asks a hung guest for blocked-task and CPU backtraces (sysrq w, l)', { source: 'lib/Kconfig.debug; src/runner/worker.ts' }),
    rec('KALLSYMS', 'diagnostics', 'crash reports name functions, and kt titles crashes by them', { source: 'init/Kconfig; src/crash' }),
    rec('BUG', 'diagnostics', 'BUG() and BUG_ON() stop with a report instead of going on silently', { source: 'init/Kconfig' }),
    rec('DEBUG_KERNEL', 'diagnostics', 'the hang detectors live under it', { source: 'lib/Kconfig.debug' }),
    rec('DETECT_HUNG_TASK', 'diagnostics', 'hung-task reports explain a hung test', { dependsOn: ['DEBUG_KERNEL'], source: 'lib/Kconfig.debug' }),
    rec('SOFTLOCKUP_DETECTOR', 'diagnostics', 'soft-lockup reports explain a hung test', { dependsOn: ['DEBUG_KERNEL'], source: 'lib/Kconfig.debug' }),
    rec('IKCONFIG', 'diagnostics', 'kt kconfig check --kernel reads the config out of the bzImage', { source: 'init/Kconfig' }),
    rec('IKCONFIG_PROC', 'diagnostics', "fstests' _has_kernel_config reads /proc/config.gz", { dependsOn: ['IKCONFIG', 'PROC_FS'], source: 'init/Kconfig; fstests common/rc' }),
    ctx.extraModules
      ? req('MODULES', 'modules', '--module loads kernel modules into every VM', { source: 'kernel/module/Kconfig' })
      : rec('MODULES', 'modules', 'fstests loads modules (scsi_debug, dm targets, module reload tests); --module', { source: 'kernel/module/Kconfig' }),
    rec('MODULE_UNLOAD', 'modules', "fstests' module reload tests (_reload_fs_module)", { dependsOn: ['MODULES'], source: 'kernel/module/Kconfig; fstests common/module' }),
  ];
}

/**
 * Every requirement for this context, required ones first, each symbol once (the first,
 * stronger row wins: a required EXT4_FS for the root beats a recommended one). Pure.
 */
export function requirementsFor(ctx: KconfigContext): Requirement[] {
  const sections = ctx.suite.sections.flatMap(sectionRequirements);
  const all = [...baseRequirements(ctx), ...rootRequirements(ctx), ...sections, ...diagnosticRequirements(ctx), ...fstestsRequirements()];
  const bySymbol = new Map<string, Requirement>();
  for (const r of all) {
    const seen = bySymbol.get(r.symbol);
    if (!seen) {
      bySymbol.set(r.symbol, r);
    } else if (seen.level === 'recommended' && r.level === 'required') {
      bySymbol.set(r.symbol, { ...r, early: r.early || seen.early });
    } else if (r.early && !seen.early) {
      bySymbol.set(r.symbol, { ...seen, early: true });
    }
  }
  const list = [...bySymbol.values()];
  return [...list.filter((r) => r.level === 'required'), ...list.filter((r) => r.level === 'recommended')];
}

/** Module names kt's initramfs must load before mounting root, when they are modules. */
export function earlyModules(reqs: readonly Requirement[]): string[] {
  return reqs.filter((r) => r.early && r.module).map((r) => r.module!);
}
