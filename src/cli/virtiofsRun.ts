/**
 * `kt run --rootfs virtiofs` on the CLI side (docs/virtiofs.md): find a virtiofsd, decide
 * (src/vm/virtiofs/decision.ts), unpack the image's tree once, and hand the machine factory what
 * it serves. `--dry-run` takes the same decision and prints the daemons' command lines without
 * unpacking anything.
 */
import type { RunConfig } from '../config/runConfig.js';
import { HostError } from '../errors.js';
import { resolveSharedCacheDir } from '../vm/image/cacheDir.js';
import { findOnPath } from '../vm/image/hostTools.js';
import { directRunner, openUsernsRunner } from '../vm/image/toolRunner.js';
import { decideBuildMode } from '../vm/image/userns.js';
import { readUsernsFacts } from '../vm/image/usernsFacts.js';
import type { VirtiofsOptions } from '../vm/spec.js';
import { findVirtiofsd } from '../vm/virtiofs/daemon.js';
import { decideRootfs } from '../vm/virtiofs/decision.js';
import { ensureRootTree, plannedRootTreeDir } from '../vm/virtiofs/rootTree.js';
import type { Warn } from './printWarning.js';

type Write = (text: string) => void;

interface ImageRef {
  hash: string;
  rootImage: string;
}

/** The daemon to use, or undefined for the image path (after a warning); throws when the run must stop. */
async function decide(config: RunConfig, image: ImageRef, warn: Warn) {
  if (config.rootfs.kind === 'image') return undefined;
  const lookup = await findVirtiofsd(process.env);
  const decision = decideRootfs(
    { rootfs: config.rootfs.kind, source: config.rootfs.source, explicit: config.rootfs.explicit, shareCount: config.shares.length },
    { uid: process.geteuid?.() ?? 0, access: decideBuildMode(readUsernsFacts()), lookup, rootImage: image.rootImage },
  );
  if (decision.kind === 'image') {
    if (decision.warning) warn(decision.warning);
    return undefined;
  }
  return decision;
}

/**
 * What a real run serves over virtiofs; undefined = boot from the root image, after `warn` got
 * why (kt run prints it and records it in the run).
 */
export async function prepareVirtiofs(config: RunConfig, image: ImageRef & { sshHostKey: string }, cacheDir: string, write: Write, warn: Warn): Promise<VirtiofsOptions | undefined> {
  const decision = await decide(config, image, warn);
  if (!decision) return undefined;
  const { daemon, userns } = decision;
  const debugfs = findOnPath('debugfs', process.env.PATH);
  if (!debugfs) throw new HostError('E_ROOTFS_UNPACK', 'unpacking the image tree for --rootfs virtiofs needs debugfs, which is not installed', 'apt-get install e2fsprogs');
  const runner = userns ? await openUsernsRunner(userns, resolveSharedCacheDir(process.env)) : directRunner();
  let rootTree: string;
  try {
    rootTree = await ensureRootTree({ cacheDir, hash: image.hash, rootImage: image.rootImage, sshHostKey: image.sshHostKey, debugfs, runner, onProgress: (line) => write(`${line}\n`) });
  } finally {
    await runner.close();
  }
  write(
    `kt: virtiofs: root ${rootTree}, fstests ${config.fstestsDir}${config.shares.map((s) => `, ${s.tag} ${s.path}${s.readOnly ? ' (ro)' : ''}`).join('')} (${daemon.flavour === 'qemu' ? "QEMU's" : 'the Rust'} virtiofsd${daemon.version === 'unknown' ? '' : ` ${daemon.version}`}, ${daemon.path}${userns ? `, as root of ${userns.user}'s user namespace` : ''})\n`,
  );
  return { daemon, rootTree, fstestsDir: config.fstestsDir, shares: config.shares, ...(userns ? { userns } : {}) };
}

/** The same for --dry-run: the tree's path as a real run would use it, nothing unpacked. */
export async function dryRunVirtiofs(config: RunConfig, image: ImageRef, cacheDir: string, warn: Warn): Promise<{ virtiofs?: VirtiofsOptions }> {
  const decision = await decide(config, image, warn);
  if (!decision) return {};
  const { daemon, userns } = decision;
  return { virtiofs: { daemon, rootTree: await plannedRootTreeDir(cacheDir, image.hash, image.rootImage), fstestsDir: config.fstestsDir, shares: config.shares, ...(userns ? { userns } : {}) } };
}
