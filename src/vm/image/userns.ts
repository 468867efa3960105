/**
 * How this process can build the guest image, decided from facts about the host. Pure: the
 * facts are gathered by usernsFacts.ts.
 *
 * root.img must hold root-owned files, setuid programs and the fstests users' files with their
 * real ids. Root writes them as they are. Anyone else builds inside a user namespace
 * (user_namespaces(7)) whose ids 0..N-1 are the user's subordinate ids from /etc/subuid and
 * /etc/subgid, mapped by the setuid helpers newuidmap(1)/newgidmap(1) from the uidmap package:
 * there the build runs as uid 0, and `mke2fs -d` reads the tree's ids as 0..N-1 — the ids the
 * image must have.
 */
import { HostError } from '../../errors.js';
import { findSubIdRange, MIN_SUBID_COUNT, nextFreeSubIdStart, type SubIdRange } from './subIds.js';

/** A file the decision reads, or why it could not. */
export type FileFact = { kind: 'ok'; text: string } | { kind: 'missing' } | { kind: 'unreadable' };

export const USERNS_TOOLS = ['newuidmap', 'newgidmap', 'unshare', 'nsenter'] as const;
export type UsernsTool = (typeof USERNS_TOOLS)[number];

export interface UsernsFacts {
  euid: number;
  uid: number;
  gid: number;
  /** Login name of uid. */
  user: string;
  /** /proc/sys/kernel/unprivileged_userns_clone (Debian and Ubuntu kernels only), trimmed. */
  unprivilegedUsernsClone?: string;
  /** /proc/sys/user/max_user_namespaces, trimmed. */
  maxUserNamespaces?: string;
  /** /proc/sys/kernel/apparmor_restrict_unprivileged_userns (Ubuntu 23.10+), trimmed. */
  apparmorRestrictUnprivilegedUserns?: string;
  subuid: FileFact;
  subgid: FileFact;
  /** Absolute paths of the programs found. */
  tools: Partial<Record<UsernsTool, string>>;
}

/** The user namespace a rootless build runs in: ranges mapped from 0, and the user's own ids. */
export interface UsernsPlan {
  user: string;
  uid: number;
  gid: number;
  subuid: SubIdRange;
  subgid: SubIdRange;
  tools: Record<UsernsTool, string>;
  /** For the hint of a failure that only shows when the namespace is entered. */
  apparmorRestricted: boolean;
}

export type BuildMode = { kind: 'root' } | { kind: 'unshare'; plan: UsernsPlan };

/** Why a rootless build cannot run here, and the commands that fix it, in order. */
export interface UsernsProblems {
  reasons: string[];
  fixes: string[];
}

export type BuildModeDecision = { ok: true; mode: BuildMode } | ({ ok: false } & UsernsProblems);

const SUBID_FILES = { uid: '/etc/subuid', gid: '/etc/subgid' } as const;

interface SubIdSide {
  range?: SubIdRange;
  reason?: string;
  /** A command to run before usermod (create or open up the file). */
  fix?: string;
  /** usermod must add a range to this file. */
  needsRange?: boolean;
}

function subIdSide(which: 'uid' | 'gid', fact: FileFact, user: { name: string; id: number }): SubIdSide {
  const file = SUBID_FILES[which];
  // usermod(8) refuses --add-subuids while /etc/subuid does not exist.
  if (fact.kind === 'missing') return { reason: `${file} does not exist`, fix: `sudo touch ${file}`, needsRange: true };
  if (fact.kind === 'unreadable') return { reason: `${file} is not readable`, fix: `sudo chmod 0644 ${file}` };
  const found = findSubIdRange(fact.text, user);
  if (found.range) return { range: found.range };
  if (found.largest !== undefined) {
    return {
      reason: `${user.name}'s ranges in ${file} hold at most ${found.largest} ids, and the image needs ${MIN_SUBID_COUNT}`,
      needsRange: true,
    };
  }
  return { reason: `${file} has no range for ${user.name}`, needsRange: true };
}

export function decideBuildMode(f: UsernsFacts): BuildModeDecision {
  if (f.euid === 0) return { ok: true, mode: { kind: 'root' } };
  const reasons: string[] = [];
  const fixes: string[] = [];
  if (f.unprivilegedUsernsClone === '0') {
    reasons.push('the kernel forbids unprivileged user namespaces (kernel.unprivileged_userns_clone = 0)');
    fixes.push('sudo sysctl -w kernel.unprivileged_userns_clone=1');
  }
  if (f.maxUserNamespaces === '0') {
    reasons.push('user namespaces are switched off (user.max_user_namespaces = 0)');
    fixes.push('sudo sysctl -w user.max_user_namespaces=15000');
  }
  const notInstalled = (tools: UsernsTool[], pkg: string) => {
    const absent = tools.filter((t) => f.tools[t] === undefined);
    if (absent.length === 0) return;
    reasons.push(`${absent.join(' and ')} ${absent.length > 1 ? 'are' : 'is'} not installed`);
    fixes.push(`sudo apt-get install ${pkg}`);
  };
  notInstalled(['newuidmap', 'newgidmap'], 'uidmap');
  notInstalled(['unshare', 'nsenter'], 'util-linux');

  const user = { name: f.user, id: f.uid };
  const uid = subIdSide('uid', f.subuid, user);
  const gid = subIdSide('gid', f.subgid, user);
  for (const side of [uid, gid]) {
    if (side.reason) reasons.push(side.reason);
    if (side.fix) fixes.push(side.fix);
  }
  if (uid.needsRange || gid.needsRange) {
    // One usermod(8) call adds a block above every range in use, so it overlaps none.
    const texts = [f.subuid, f.subgid].flatMap((x) => (x.kind === 'ok' ? [x.text] : []));
    const start = nextFreeSubIdStart(texts);
    const block = `${start}-${start + MIN_SUBID_COUNT - 1}`;
    const flags = [...(uid.needsRange ? [`--add-subuids ${block}`] : []), ...(gid.needsRange ? [`--add-subgids ${block}`] : [])];
    fixes.push(`sudo usermod ${flags.join(' ')} ${f.user}`);
  }

  if (reasons.length > 0 || !uid.range || !gid.range) return { ok: false, reasons, fixes };
  return {
    ok: true,
    mode: {
      kind: 'unshare',
      plan: {
        user: f.user,
        uid: f.uid,
        gid: f.gid,
        subuid: uid.range,
        subgid: gid.range,
        tools: f.tools as Record<UsernsTool, string>,
        apparmorRestricted: f.apparmorRestrictUnprivilegedUserns === '1',
      },
    },
  };
}

/** How a user without a working user namespace still gets an image. */
function sharedImageHint(sharedCacheDir: string): string {
  return `or have root build a shared image once, which every user's kt then reads: sudo kt image build --system (writes ${sharedCacheDir})`;
}

/** E_IMAGE_NEEDS_USERNS: what stops a rootless build, and the commands that fix it. */
export function usernsUnavailableError(f: Pick<UsernsFacts, 'user' | 'uid'>, problems: UsernsProblems, sharedCacheDir: string): HostError {
  return new HostError(
    'E_IMAGE_NEEDS_USERNS',
    `building the guest image as ${f.user} (uid ${f.uid}) needs a user namespace holding ${f.user}'s subordinate ids, and this host does not give one: ${problems.reasons.join('; ')}`,
    `${problems.fixes.join(' && ')}, then run kt again; ${sharedImageHint(sharedCacheDir)}`,
  );
}

/** E_IMAGE_USERNS_FAILED: the checks passed, but entering the namespace did not work. */
export function usernsFailedError(plan: Pick<UsernsPlan, 'user' | 'apparmorRestricted'>, step: string, detail: string, sharedCacheDir: string): HostError {
  const causes = [
    'newuidmap and newgidmap must be setuid root (ls -l /usr/bin/newuidmap; reinstall uidmap)',
    `${plan.user}'s ranges in /etc/subuid and /etc/subgid must not overlap another user's`,
  ];
  if (plan.apparmorRestricted) {
    causes.unshift('AppArmor restricts unprivileged user namespaces here: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0');
  }
  return new HostError(
    'E_IMAGE_USERNS_FAILED',
    `could not enter a user namespace as ${plan.user} for the image build: ${step} failed: ${detail.trim() || 'no output'}`,
    `${causes.join('; ')}; ${sharedImageHint(sharedCacheDir)}`,
  );
}
