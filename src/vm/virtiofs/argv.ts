/**
 * The virtiofsd command line of one share, for either daemon (src/vm/virtiofs/daemon.ts). Pure and
 * golden-tested (test/vm/golden/virtiofsd-*.argv); `kt run --dry-run` prints exactly this.
 */
import type { VirtiofsDaemon } from './daemon.js';

/** What the guest does with a share (guest/init, docs/virtiofs.md). */
export type ShareRole = 'root' | 'fstests' | 'share';

export interface VirtiofsShareSpec {
  /** The virtio-fs tag the guest mounts it by (at most 36 bytes: virtio spec, "Device configuration layout" of the file system device). */
  tag: string;
  /** The host directory served. */
  source: string;
  /** The vhost-user socket, in the VM's private directory. */
  socket: string;
  /** The daemon refuses writes where it can (Rust --readonly); the guest mounts it read-only either way. */
  readOnly: boolean;
  /**
   * root: the guest's / (read-only, under an overlay with a tmpfs upper layer); fstests: the tree
   * at /var/lib/xfstests (the same); share: a --share, at /mnt/share/<tag>.
   */
  role: ShareRole;
  /** Where the daemon's stderr goes (its reason when it stops). */
  log: string;
}

/**
 * A value inside a FUSE `-o a=b,c=d` option list as QEMU's virtiofsd parses it
 * (tools/virtiofsd/fuse_opt.c process_real_option_group): a comma ends the value, and a
 * backslash makes the next character literal. Without this, `-o source=/home/a,b` would be read
 * as source=/home/a and an unknown option "b".
 */
export function fuseOptValue(value: string): string {
  return value.replace(/[\\,]/g, (c) => `\\${c}`);
}

/**
 * Caching: the root tree never changes while kt uses it (it is unpacked once per image hash and
 * only read), so the guest may keep everything (`always`). The fstests tree and --share
 * directories are the user's and may change between runs: `auto` revalidates after a second
 * (QEMU's virtiofsd(1), "cache=auto").
 */
function cacheMode(share: VirtiofsShareSpec): string {
  return share.role === 'root' ? 'always' : 'auto';
}

export function renderVirtiofsdArgs(daemon: VirtiofsDaemon, share: VirtiofsShareSpec): string[] {
  if (daemon.flavour === 'qemu') {
    return [
      daemon.path,
      `--socket-path=${share.socket}`,
      '-o', `source=${fuseOptValue(share.source)}`,
      '-o', `cache=${cacheMode(share)}`,
      // The daemon pivots into the shared directory in its own mount, pid and net namespaces
      // (virtiofsd(1), "sandbox=namespace"); it has no read-only option, so the guest's ro
      // mount is what keeps a read-only share unwritten.
      '-o', 'sandbox=namespace',
      '-o', 'log_level=warn',
    ];
  }
  return [
    daemon.path,
    `--shared-dir=${share.source}`,
    `--socket-path=${share.socket}`,
    `--cache=${cacheMode(share)}`,
    '--sandbox=namespace',
    ...(share.readOnly ? ['--readonly'] : []),
    '--log-level=warn',
    // No --tag: QEMU 7.1–8.0 crash when the daemon offers VHOST_USER_PROTOCOL_F_CONFIG
    // (virtiofsd --help, "--tag"); the tag is QEMU's -device vhost-user-fs-pci,tag=.
  ];
}

/**
 * Without root (docs/virtiofs.md, "Without root"): the daemon runs as root of the user namespace
 * of the user's subordinate ids (src/vm/image/toolRunner.ts), in a mount namespace of its own
 * with a fresh tmpfs on /run. QEMU's virtiofsd takes a lock file in /var/run/virtiofsd before it
 * listens (tools/virtiofsd/fuse_virtio.c, fv_socket_lock), and the host's /run is not writable
 * for root of a user namespace; the daemon's own sandbox (sandbox=namespace) then works there as
 * it does for root. `unshare --mount` and `sh -c … exec` replace themselves with the daemon: its
 * pid is the process kt started. Pure.
 */
export const USERNS_DAEMON_WRAPPER = 'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$0" "$@"';

/** What root of the namespace runs: `unshare --mount -- sh -c WRAPPER daemon args…` (after `unshare`). */
export function usernsInnerArgs(argv: readonly string[]): string[] {
  return ['--mount', '--', 'sh', '-c', USERNS_DAEMON_WRAPPER, ...argv];
}

/** The whole command line, as --dry-run prints it: the namespace's holder pid is known only at run time. */
export function renderUsernsDaemonArgs(argv: readonly string[], tools: { nsenter: string; unshare: string }, holderPid: number | string): string[] {
  return [tools.nsenter, '--user', `--target=${holderPid}`, '--setuid=0', '--setgid=0', '--', tools.unshare, ...usernsInnerArgs(argv)];
}
