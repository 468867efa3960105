/**
 * Whether a run boots over virtiofs, decided once from what was asked and what the host has.
 * Pure (docs/virtiofs.md, "When virtiofs cannot be used"):
 *
 * - `--rootfs virtiofs` on the command line is a request for this run: when the host cannot do
 *   it, kt stops before anything boots (E_VIRTIOFS_UNAVAILABLE, exit 2) rather than run something
 *   else than was asked.
 * - `rootfs: virtiofs` in kt.yaml is a standing preference, possibly shared by several hosts:
 *   where it cannot be met, kt warns, names the root image it boots instead, and runs.
 */
import { UsageError } from '../../errors.js';
import type { BuildModeDecision, UsernsPlan } from '../image/userns.js';
import { VIRTIOFSD_LOCATIONS, type DaemonLookup, type VirtiofsDaemon } from './daemon.js';

export interface RootfsRequest {
  rootfs: 'image' | 'virtiofs';
  /** Where it was asked: `--rootfs`, or `/home/me/kt.yaml: rootfs`. */
  source: string;
  /** Given on the command line (not from a config file). */
  explicit: boolean;
  /** How many --share directories the run maps in: they need virtiofs, there is no image fallback for them. */
  shareCount: number;
}

export interface RootfsFacts {
  /** kt's effective uid. */
  uid: number;
  /**
   * How kt gets root over the tree's owners: itself as root, or root of a user namespace holding
   * the user's subordinate ids — the one rootless image builds use (src/vm/image/userns.ts
   * decideBuildMode; docs/image.md).
   */
  access: BuildModeDecision;
  lookup: DaemonLookup;
  /** The root image the run falls back to, for the warning. */
  rootImage: string;
}

export type RootfsDecision =
  | { kind: 'image'; warning?: string }
  /** `userns`: not root, the daemons and the unpacking run as root of this user namespace. */
  | { kind: 'virtiofs'; daemon: VirtiofsDaemon; userns?: UsernsPlan };

/** Why virtiofs cannot be used here, and what would change that; undefined when it can. */
function obstacle(facts: RootfsFacts): { reason: string; hint: string } | undefined {
  if (!facts.lookup.found) {
    const tried = facts.lookup.tried.length > 0 ? ` (${facts.lookup.tried.join('; ')})` : '';
    if (facts.lookup.forced) {
      return { reason: `$KT_VIRTIOFSD names no usable virtiofsd${tried}`, hint: 'point KT_VIRTIOFSD at a virtiofsd binary (QEMU\'s or the Rust one), or unset it to let kt look for one' };
    }
    return {
      reason: `no virtiofsd found on PATH or in ${VIRTIOFSD_LOCATIONS.join(', ')}${tried}`,
      hint: "install one (Debian 12: apt-get install qemu-system-common, QEMU's virtiofsd in /usr/lib/qemu; Debian 13 and later: apt-get install virtiofsd), or set KT_VIRTIOFSD=/path/to/virtiofsd; --rootfs image needs none",
    };
  }
  if (!facts.access.ok) {
    return {
      reason: `kt runs as uid ${facts.uid}, and virtiofsd needs root over the image tree's owners (root, shadow, fsgqa …): root of a user namespace with subordinate ids would do, but ${facts.access.reasons.join('; ')}`,
      hint: `${facts.access.fixes.join(', then ')}; or run kt as root; or use --rootfs image (the default), which needs none of this (docs/virtiofs.md, "Without root")`,
    };
  }
  return undefined;
}

export function decideRootfs(req: RootfsRequest, facts: RootfsFacts): RootfsDecision {
  if (req.rootfs === 'image') return { kind: 'image' };
  const why = obstacle(facts);
  if (!why) {
    const mode = facts.access.ok ? facts.access.mode : undefined;
    return { kind: 'virtiofs', daemon: facts.lookup.found!, ...(mode?.kind === 'unshare' ? { userns: mode.plan } : {}) };
  }
  if (req.explicit || req.shareCount > 0) throw new UsageError('E_VIRTIOFS_UNAVAILABLE', `${req.source} virtiofs cannot be used on this host: ${why.reason}`, why.hint);
  return { kind: 'image', warning: `${req.source} virtiofs cannot be used on this host: ${why.reason}; booting from the root image ${facts.rootImage} instead (${why.hint})` };
}
