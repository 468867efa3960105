import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatError, UsageError } from '../../src/errors.js';
import { parseShare, resolveRootfsFlags } from '../../src/config/rootfsFlags.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-rootfs-flags-'));
fs.mkdirSync(path.join(tmp, 'data'));
fs.mkdirSync(path.join(tmp, 'a:b'));
fs.writeFileSync(path.join(tmp, 'file'), '');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return formatError(err);
    throw err;
  }
  throw new Error('no error');
}

const none = { rootfs: undefined, shares: undefined, path: undefined };

describe('parseShare', () => {
  it('reads TAG:PATH[:ro|:rw], relative to the base directory, with colons in the path', () => {
    expect(parseShare('data:data', '--share', tmp)).toEqual({ tag: 'data', path: path.join(tmp, 'data'), readOnly: false });
    expect(parseShare('data:data:ro', '--share', tmp)).toEqual({ tag: 'data', path: path.join(tmp, 'data'), readOnly: true });
    expect(parseShare('x:a:b:rw', '--share', tmp)).toEqual({ tag: 'x', path: path.join(tmp, 'a:b'), readOnly: false });
    expect(parseShare(`x:${tmp}/a:b`, '--share', '/')).toEqual({ tag: 'x', path: path.join(tmp, 'a:b'), readOnly: false });
  });

  it('refuses what the guest could not mount, naming the input', () => {
    expect(usage(() => parseShare('data', '--share', tmp))).toBe('kt: error E_BAD_SHARE: --share data is not TAG:PATH[:ro]\n  hint: e.g. --share data:/srv/testdata:ro (mounted at /mnt/share/data in the guest)');
    expect(usage(() => parseShare('a/b:data', '--share', tmp))).toBe("kt: error E_BAD_SHARE: --share a/b:data: the tag a/b is not 1 to 36 letters, digits, '.', '_' or '-'\n  hint: e.g. --share data:/srv/testdata:ro (mounted at /mnt/share/data in the guest)");
    expect(usage(() => parseShare(`${'t'.repeat(37)}:data`, '--share', tmp))).toMatch(/^kt: error E_BAD_SHARE: .*the tag t{37} is not 1 to 36/);
    expect(usage(() => parseShare('kt-root:data', '--share', tmp))).toBe("kt: error E_BAD_SHARE: --share kt-root:data: tags starting with kt- are kt's own (kt-root, kt-fstests)\n  hint: choose another tag");
    expect(usage(() => parseShare('data::ro', '--share', tmp))).toBe('kt: error E_BAD_SHARE: --share data::ro names no directory\n  hint: e.g. --share data:/srv/testdata:ro (mounted at /mnt/share/data in the guest)');
    expect(usage(() => parseShare('data:nope', '--share', tmp))).toBe(`kt: error E_SHARE_NOT_FOUND: --share data:nope: ${tmp}/nope does not exist\n  hint: give an existing directory`);
    expect(usage(() => parseShare('data:file', '--share', tmp))).toBe(`kt: error E_SHARE_NOT_FOUND: --share data:file: ${tmp}/file is not a directory\n  hint: give a directory`);
  });
});

describe('resolveRootfsFlags', () => {
  it('defaults to the image, not explicitly', () => {
    expect(resolveRootfsFlags({ rootfs: undefined, share: undefined }, none, tmp, 'direct')).toEqual({ rootfs: { kind: 'image', source: '--rootfs', explicit: false }, shares: [] });
  });

  it('takes the flag over kt.yaml, and says where the choice came from', () => {
    const file = { rootfs: 'virtiofs', shares: ['data:data:ro'], path: path.join(tmp, 'kt.yaml') };
    expect(resolveRootfsFlags({ rootfs: undefined, share: undefined }, file, '/', 'direct')).toEqual({
      rootfs: { kind: 'virtiofs', source: `${tmp}/kt.yaml: rootfs`, explicit: false },
      // kt.yaml's relative paths are from its own directory.
      shares: [{ tag: 'data', path: path.join(tmp, 'data'), readOnly: true }],
    });
    expect(resolveRootfsFlags({ rootfs: 'virtiofs', share: undefined }, { ...file, shares: undefined }, tmp, 'direct').rootfs).toEqual({ kind: 'virtiofs', source: '--rootfs', explicit: true });
  });

  it('refuses an unknown root, a share without virtiofs, a tag given twice, and the NixOS backend', () => {
    expect(usage(() => resolveRootfsFlags({ rootfs: 'nfs', share: undefined }, none, tmp, 'direct'))).toBe(
      "kt: error E_BAD_ROOTFS: --rootfs nfs is not one of image, virtiofs\n  hint: use --rootfs image (kt's root image, default) or --rootfs virtiofs (imageless boot, docs/virtiofs.md)",
    );
    expect(usage(() => resolveRootfsFlags({ rootfs: undefined, share: ['data:data'] }, none, tmp, 'direct'))).toBe(
      'kt: error E_SHARE_NEEDS_VIRTIOFS: --share data:… needs --rootfs virtiofs (shares are virtiofs mounts)\n  hint: add --rootfs virtiofs (docs/virtiofs.md)',
    );
    expect(usage(() => resolveRootfsFlags({ rootfs: 'virtiofs', share: ['d:data', 'd:data:ro'] }, none, tmp, 'direct'))).toBe(
      'kt: error E_BAD_SHARE: the share tag d is given twice\n  hint: give each --share its own tag',
    );
    expect(usage(() => resolveRootfsFlags({ rootfs: 'virtiofs', share: undefined }, none, tmp, 'nixos'))).toBe(
      'kt: error E_VIRTIOFS_NIXOS: --rootfs virtiofs with --backend nixos: the NixOS VM boots its own root file system (its run script shares the Nix store itself)\n  hint: use --rootfs virtiofs with the direct backend (the default)',
    );
  });
});
