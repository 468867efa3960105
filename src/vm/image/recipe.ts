/**
 * What goes into kt's Debian guest image, as data. Pure: the guest files are passed in
 * (guestFiles.ts reads them), so the recipe, and the hash that names the cached image, can be
 * computed and tested without touching the host.
 */

/** Bump when the build procedure changes in a way the other inputs do not show. */
// 2: the image keeps the kernel's uncompressed ELF (vmlinux) for the PVH entry.
export const RECIPE_VERSION = 2;

export const DEFAULT_SUITE = 'bookworm';
export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
/** Security updates carry the current kernel: bookworm itself still has 6.1.176 (an older ABI). */
export const SECURITY_MIRROR = 'http://deb.debian.org/debian-security';

/**
 * fstests' runtime packages as measured in a real guest (docs/fstests.md §9), plus what the guest
 * needs to boot and be driven. All checked with `apt-cache policy` on bookworm.
 */
export const FSTESTS_PACKAGES = [
  'bash', 'coreutils', 'util-linux', 'mount', 'kmod', 'procps', 'psmisc', 'gawk', 'perl', 'python3',
  'bc', 'xfsprogs', 'xfsdump', 'e2fsprogs', 'btrfs-progs', 'attr', 'acl', 'quota', 'dmsetup', 'lvm2',
  'thin-provisioning-tools', 'fio', 'dbench', 'sqlite3', 'uuid-runtime', 'xz-utils', 'lz4',
  'keyutils', 'openssl', 'libcap2-bin', 'file', 'hostname', 'iproute2', 'strace', 'parted',
  'fsverity', 'indent', 'dump', 'duperemove', 'bsdextrautils',
  // udevd for the devices tests make (device-mapper, loop): fstests waits on it (common/rc
  // _udev_wait) and expects /dev/mapper/<name> as its link to ../dm-N (common/rc _short_dev).
  // guest/kt-init starts it once the boot's own devices are set up, without a coldplug.
  'udev',
  // Shared libraries fstests' own helpers (src/, ltp/) link against.
  'libaio1', 'liburing2', 'libgdbm6', 'libgdbm-compat4', 'libssl3', 'libinih1', 'liburcu8',
  'libbtrfsutil1',
] as const;

export const GUEST_PACKAGES = [
  // The command channel (guest/kt_sshd_config).
  'openssh-server',
  // PID 1 after switch_root: reaps zombies (guest/init).
  'tini',
  // The initramfs' shell and tools are taken from the image itself (initramfs.ts).
  'busybox-static',
  // The default kernel; vmlinuz and the initramfs modules are taken from it.
  'linux-image-cloud-amd64',
  // useradd for fsgqa & co (guest/mmdebstrap/customize-hook.sh); not Essential in bookworm.
  'passwd',
  'make',
] as const;

/** dpkg path-exclude globs (dpkg(1) --path-exclude): documentation is dead weight in a test VM. */
export const DPKG_PATH_EXCLUDES = [
  '/usr/share/doc/*',
  '/usr/share/man/*',
  '/usr/share/info/*',
  '/usr/share/locale/*',
  '/usr/share/lintian/*',
] as const;

/**
 * Modules the initramfs loads to reach the root disk: the q35 machine puts virtio-blk on PCI.
 * ext4 and crc32c are built into the Debian cloud kernel (config-6.1.0-56-cloud-amd64).
 * Then what sshd (guest/kt-sshd, started before switch_root) and kt-init need before anything
 * else, loaded here by the static busybox insmod instead of kt-init's modprobe (kmod: a dynamic
 * binary, ~0.25 s to start under TCG, docs/speed.md):
 * the command channel's port (virtio_console), pvpanic_pci (a panic ends QEMU at once:
 * docs/fstests.md §7) and virtio_rng.
 */
export const INITRAMFS_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_console', 'pvpanic_pci', 'virtio_rng'] as const;

/**
 * Packed into the initramfs too, but loaded only for an imageless boot (kt.root=virtiofs:,
 * guest/init; docs/virtiofs.md): the virtiofs root and fstests tree, read-only, under overlays.
 * Separate so that an image boot does not pay for three more module loads.
 */
export const VIRTIOFS_INITRAMFS_MODULES = ['fuse', 'virtiofs', 'overlay'] as const;

/** Everything the image is made of; equal recipes give interchangeable images. */
export interface ImageRecipe {
  /** RECIPE_VERSION at the time of the build. */
  recipeVersion: number;
  /** Debian suite, e.g. "bookworm". */
  suite: string;
  /** apt sources in one-line format, as mmdebstrap takes them. */
  sources: string[];
  /** Packages installed on top of the Essential:yes set, without Recommends. */
  packages: string[];
  /** dpkg path-exclude globs. */
  dpkgPathExcludes: string[];
  /** Module names the initramfs insmods (with their dependencies). */
  initramfsModules: string[];
  /** Module names the initramfs insmods for a virtiofs root only (with the dependencies not loaded already). */
  virtiofsModules: string[];
  /** The repo's guest/ files by relative path: scripts that end up in the image or run its build. */
  guestFiles: Record<string, string>;
}

export interface RecipeOptions {
  /** Debian archive for the suite and its -updates (security always comes from SECURITY_MIRROR). */
  mirror?: string;
  suite?: string;
}

export function imageRecipe(guestFiles: Readonly<Record<string, string>>, opts: RecipeOptions = {}): ImageRecipe {
  const suite = opts.suite ?? DEFAULT_SUITE;
  const mirror = (opts.mirror ?? DEFAULT_MIRROR).replace(/\/+$/, '');
  return {
    recipeVersion: RECIPE_VERSION,
    suite,
    sources: [
      `deb ${mirror} ${suite} main`,
      `deb ${mirror} ${suite}-updates main`,
      `deb ${SECURITY_MIRROR} ${suite}-security main`,
    ],
    packages: [...FSTESTS_PACKAGES, ...GUEST_PACKAGES],
    dpkgPathExcludes: [...DPKG_PATH_EXCLUDES],
    initramfsModules: [...INITRAMFS_MODULES],
    virtiofsModules: [...VIRTIOFS_INITRAMFS_MODULES],
    guestFiles: { ...guestFiles },
  };
}
