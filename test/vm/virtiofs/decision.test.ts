import { describe, expect, it } from 'vitest';
import { formatError, UsageError } from '../../../src/errors.js';
import type { BuildModeDecision, UsernsPlan } from '../../../src/vm/image/userns.js';
import type { DaemonLookup } from '../../../src/vm/virtiofs/daemon.js';
import { decideRootfs, type RootfsFacts, type RootfsRequest } from '../../../src/vm/virtiofs/decision.js';

const daemon = { path: '/usr/lib/qemu/virtiofsd', flavour: 'qemu' as const, version: '7.2.22' };
const found: DaemonLookup = { found: daemon, tried: [] };
const none: DaemonLookup = { found: undefined, tried: [], forced: false };
const root: RootfsFacts = { uid: 0, access: { ok: true, mode: { kind: 'root' } }, lookup: found, rootImage: '/root/.cache/kt/images/0123456789abcdef/root.img' };
const plan: UsernsPlan = {
  user: 'alice',
  uid: 1003,
  gid: 1003,
  subuid: { start: 231072, count: 65536 },
  subgid: { start: 231072, count: 65536 },
  tools: { newuidmap: '/usr/bin/newuidmap', newgidmap: '/usr/bin/newgidmap', unshare: '/usr/bin/unshare', nsenter: '/usr/bin/nsenter' },
  apparmorRestricted: false,
};
/** What decideBuildMode (src/vm/image/userns.ts) says for alice without subordinate ids. */
const noSubIds: BuildModeDecision = { ok: false, reasons: ['/etc/subuid has no range for alice', '/etc/subgid has no range for alice'], fixes: ['sudo usermod --add-subuids 231072-296607 --add-subgids 231072-296607 alice'] };
const flag: RootfsRequest = { rootfs: 'virtiofs', source: '--rootfs', explicit: true, shareCount: 0 };
const yaml: RootfsRequest = { rootfs: 'virtiofs', source: '/home/me/kt.yaml: rootfs', explicit: false, shareCount: 0 };

function errorOf(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('decideRootfs', () => {
  it('boots the image when it is asked for, whatever the host has', () => {
    expect(decideRootfs({ ...flag, rootfs: 'image' }, { ...root, lookup: none, uid: 1000 })).toEqual({ kind: 'image' });
  });

  it('boots over virtiofs as root with a daemon', () => {
    expect(decideRootfs(flag, root)).toEqual({ kind: 'virtiofs', daemon });
  });

  it('stops an explicit --rootfs virtiofs (exit 2) when no daemon is found', () => {
    const err = errorOf(() => decideRootfs(flag, { ...root, lookup: { found: undefined, tried: ['/usr/local/bin/virtiofsd (PATH): not executable'], forced: false } }));
    expect(err.exitCode).toBe(2);
    expect(formatError(err)).toBe(
      'kt: error E_VIRTIOFS_UNAVAILABLE: --rootfs virtiofs cannot be used on this host: no virtiofsd found on PATH or in /usr/libexec/virtiofsd, /usr/lib/qemu/virtiofsd, /usr/lib/virtiofsd (/usr/local/bin/virtiofsd (PATH): not executable)\n' +
        "  hint: install one (Debian 12: apt-get install qemu-system-common, QEMU's virtiofsd in /usr/lib/qemu; Debian 13 and later: apt-get install virtiofsd), or set KT_VIRTIOFSD=/path/to/virtiofsd; --rootfs image needs none",
    );
  });

  it('warns and boots the image when kt.yaml asks for virtiofs and the host has no daemon', () => {
    expect(decideRootfs(yaml, { ...root, lookup: none })).toEqual({
      kind: 'image',
      warning:
        "/home/me/kt.yaml: rootfs virtiofs cannot be used on this host: no virtiofsd found on PATH or in /usr/libexec/virtiofsd, /usr/lib/qemu/virtiofsd, /usr/lib/virtiofsd; booting from the root image /root/.cache/kt/images/0123456789abcdef/root.img instead (install one (Debian 12: apt-get install qemu-system-common, QEMU's virtiofsd in /usr/lib/qemu; Debian 13 and later: apt-get install virtiofsd), or set KT_VIRTIOFSD=/path/to/virtiofsd; --rootfs image needs none)",
    });
  });

  it('names $KT_VIRTIOFSD when that is what failed', () => {
    const err = errorOf(() => decideRootfs(flag, { ...root, lookup: { found: undefined, tried: ['/opt/virtiofsd ($KT_VIRTIOFSD): no such file'], forced: true } }));
    expect(err.message).toBe('--rootfs virtiofs cannot be used on this host: $KT_VIRTIOFSD names no usable virtiofsd (/opt/virtiofsd ($KT_VIRTIOFSD): no such file)');
  });

  it('without root, runs the daemons in the user namespace of the rootless image build', () => {
    expect(decideRootfs(flag, { ...root, uid: 1003, access: { ok: true, mode: { kind: 'unshare', plan } } })).toEqual({ kind: 'virtiofs', daemon, userns: plan });
  });

  it('without root and without subordinate ids: stops an explicit request, warns for kt.yaml, with the fix', () => {
    const err = errorOf(() => decideRootfs(flag, { ...root, uid: 1003, access: noSubIds }));
    expect(err.code).toBe('E_VIRTIOFS_UNAVAILABLE');
    expect(err.message).toBe(
      "--rootfs virtiofs cannot be used on this host: kt runs as uid 1003, and virtiofsd needs root over the image tree's owners (root, shadow, fsgqa …): root of a user namespace with subordinate ids would do, but /etc/subuid has no range for alice; /etc/subgid has no range for alice",
    );
    expect(err.hint).toBe('sudo usermod --add-subuids 231072-296607 --add-subgids 231072-296607 alice; or run kt as root; or use --rootfs image (the default), which needs none of this (docs/virtiofs.md, "Without root")');
    expect(decideRootfs(yaml, { ...root, uid: 1003, access: noSubIds })).toMatchObject({ kind: 'image' });
  });

  it('never drops --share directories silently: a fallback with shares is an error even from kt.yaml', () => {
    expect(errorOf(() => decideRootfs({ ...yaml, shareCount: 1 }, { ...root, lookup: none })).code).toBe('E_VIRTIOFS_UNAVAILABLE');
  });
});
