/**
 * `kt run --rootfs image|virtiofs` and `--share TAG:PATH[:ro]` (repeatable), also `rootfs:` and
 * `shares:` in kt.yaml: checked before anything boots. docs/virtiofs.md describes both.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError, printable } from '../errors.js';

export interface RootfsChoice {
  kind: 'image' | 'virtiofs';
  /** `--rootfs`, or `/home/me/kt.yaml: rootfs`. */
  source: string;
  /** Asked on the command line: a host that cannot boot over virtiofs is then an error, not a warning. */
  explicit: boolean;
}

export interface Share {
  /** The virtio-fs tag; the guest mounts the share at /mnt/share/<tag>. */
  tag: string;
  /** Absolute host directory. */
  path: string;
  readOnly: boolean;
}

/**
 * A tag is at most 36 bytes (virtio spec, file system device configuration: `u8 tag[36]`), is a
 * directory name under /mnt/share and a word of the kernel command line: letters, digits, `.`,
 * `_`, `-`, not starting with `.` or `-`. `kt-` is kt's own (kt-root, kt-fstests).
 */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,35}$/;

/** Parses one `TAG:PATH[:ro]` (`:rw` is the default and may be written); PATH may hold colons. */
export function parseShare(value: string, source: string, baseDir: string): Share {
  const example = 'e.g. --share data:/srv/testdata:ro (mounted at /mnt/share/data in the guest)';
  const colon = value.indexOf(':');
  if (colon < 0) throw new UsageError('E_BAD_SHARE', `${source} ${printable(value)} is not TAG:PATH[:ro]`, example);
  const tag = value.slice(0, colon);
  let rest = value.slice(colon + 1);
  let readOnly = false;
  const mode = /:(ro|rw)$/.exec(rest);
  if (mode) {
    readOnly = mode[1] === 'ro';
    rest = rest.slice(0, -3);
  }
  if (!TAG.test(tag)) {
    throw new UsageError('E_BAD_SHARE', `${source} ${printable(value)}: the tag ${printable(tag)} is not 1 to 36 letters, digits, '.', '_' or '-'`, example);
  }
  if (tag.startsWith('kt-')) throw new UsageError('E_BAD_SHARE', `${source} ${printable(value)}: tags starting with kt- are kt's own (kt-root, kt-fstests)`, 'choose another tag');
  if (rest === '') throw new UsageError('E_BAD_SHARE', `${source} ${printable(value)} names no directory`, example);
  const dir = path.resolve(baseDir, rest);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UsageError('E_SHARE_NOT_FOUND', `${source} ${printable(value)}: ${printable(dir)} does not exist`, 'give an existing directory');
  }
  if (!st.isDirectory()) throw new UsageError('E_SHARE_NOT_FOUND', `${source} ${printable(value)}: ${printable(dir)} is not a directory`, 'give a directory');
  return { tag, path: dir, readOnly };
}

/** The run's root file system and shares, from the flags and the config file (flags win; shares add up). */
export function resolveRootfsFlags(
  flag: { rootfs: string | undefined; share: readonly string[] | undefined },
  file: { rootfs: string | undefined; shares: readonly string[] | undefined; path: string | undefined },
  cwd: string,
  backend: 'direct' | 'nixos',
): { rootfs: RootfsChoice; shares: Share[] } {
  const fileSource = `${file.path ?? 'config file'}: rootfs`;
  const given = flag.rootfs !== undefined ? { value: flag.rootfs, source: '--rootfs', explicit: true } : file.rootfs !== undefined ? { value: file.rootfs, source: fileSource, explicit: false } : { value: 'image', source: '--rootfs', explicit: false };
  if (given.value !== 'image' && given.value !== 'virtiofs') {
    throw new UsageError('E_BAD_ROOTFS', `${given.source} ${printable(given.value)} is not one of image, virtiofs`, "use --rootfs image (kt's root image, default) or --rootfs virtiofs (imageless boot, docs/virtiofs.md)");
  }
  if (given.value === 'virtiofs' && backend === 'nixos') {
    throw new UsageError('E_VIRTIOFS_NIXOS', `${given.source} virtiofs with --backend nixos: the NixOS VM boots its own root file system (its run script shares the Nix store itself)`, 'use --rootfs virtiofs with the direct backend (the default)');
  }
  const fileDir = file.path ? path.dirname(path.resolve(cwd, file.path)) : cwd;
  const shares = [
    ...(file.shares ?? []).map((s) => parseShare(s, `${file.path ?? 'config file'}: shares`, fileDir)),
    ...(flag.share ?? []).map((s) => parseShare(s, '--share', cwd)),
  ];
  const seen = new Set<string>();
  for (const s of shares) {
    if (seen.has(s.tag)) throw new UsageError('E_BAD_SHARE', `the share tag ${printable(s.tag)} is given twice`, 'give each --share its own tag');
    seen.add(s.tag);
  }
  if (shares.length > 0 && given.value !== 'virtiofs') {
    throw new UsageError('E_SHARE_NEEDS_VIRTIOFS', `--share ${printable(shares[0]!.tag)}:… needs --rootfs virtiofs (shares are virtiofs mounts)`, 'add --rootfs virtiofs (docs/virtiofs.md)');
  }
  return { rootfs: { kind: given.value, source: given.source, explicit: given.explicit }, shares };
}
