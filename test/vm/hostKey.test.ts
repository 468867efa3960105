import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  fingerprint,
  hostKeyFromConsoleLine,
  imageHostKey,
  manifestPathOf,
  parseHostKeyLine,
} from '../../src/vm/hostKey.js';
import { HostError } from '../../src/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-hostkey-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A key made by ssh-keygen as guest/mmdebstrap/customize-hook.sh and nix/guest.nix make theirs. */
function sshKeygen(name: string, type = 'ed25519'): { pub: string; fingerprint: string } {
  const file = path.join(tmp, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'kt-guest', '-f', file]);
  const pub = fs.readFileSync(`${file}.pub`, 'utf8').trim();
  // "256 SHA256:... kt-guest (ED25519)"
  const fp = execFileSync('ssh-keygen', ['-l', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
  return { pub, fingerprint: fp };
}

describe('parseHostKeyLine and fingerprint', () => {
  it('reads an ssh-keygen ed25519 key and fingerprints it as ssh-keygen -l does', () => {
    const key = sshKeygen('a');
    const blob = parseHostKeyLine(key.pub);
    expect(blob).toBeDefined();
    expect(fingerprint(blob!)).toBe(key.fingerprint);
    // Without the comment, with trailing blanks: the same key.
    expect(parseHostKeyLine(key.pub.split(' ').slice(0, 2).join(' ') + '  ')!.equals(blob!)).toBe(true);
  });

  it('refuses other key types and blobs that are not an ed25519 key', () => {
    expect(parseHostKeyLine(sshKeygen('r', 'ecdsa').pub)).toBeUndefined();
    const ed = sshKeygen('b').pub.split(' ');
    // The type word says ed25519, the blob is an ecdsa key.
    expect(parseHostKeyLine(`ssh-ed25519 ${sshKeygen('c', 'ecdsa').pub.split(' ')[1]}`)).toBeUndefined();
    // A truncated blob.
    expect(parseHostKeyLine(`ssh-ed25519 ${ed[1]!.slice(0, 40)}`)).toBeUndefined();
    expect(parseHostKeyLine('')).toBeUndefined();
    expect(parseHostKeyLine('ssh-ed25519')).toBeUndefined();
  });
});

describe('hostKeyFromConsoleLine', () => {
  const { pub } = sshKeygen('console');

  it('takes the key of the line nix/guest.nix prints, with or without a carriage return', () => {
    expect(hostKeyFromConsoleLine(`kt-init: ssh host key ${pub}`)).toBe(pub);
    expect(hostKeyFromConsoleLine(`kt-init: ssh host key ${pub}\r`)).toBe(pub);
  });

  it('ignores the marker anywhere but at the start of a line, and malformed keys', () => {
    expect(hostKeyFromConsoleLine(`[   12.3] x kt-init: ssh host key ${pub}`)).toBeUndefined();
    // A kernel message landing inside the line cuts the key.
    expect(hostKeyFromConsoleLine(`kt-init: ssh host key ${pub.slice(0, 30)}[   12.345678] virtio_net`)).toBeUndefined();
    expect(hostKeyFromConsoleLine('kt-init: ready')).toBeUndefined();
  });
});

describe('imageHostKey', () => {
  function imageDir(name: string, manifest: unknown): string {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    if (manifest !== undefined) fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    return path.join(dir, 'root.img');
  }
  /** The fields src/vm/image/manifest.ts requires, as a built image has them. */
  const manifest = (sshHostKey: string) => ({
    hash: '0e3c59f1fcdabede', recipeVersion: 1, kernelRelease: '6.1.0-57-cloud-amd64', suite: 'bookworm',
    sources: [], packages: [], installed: {}, initramfsModules: [], rootFilesystem: 'ext4', sshHostKey,
    builtAt: '2026-01-01T00:00:00Z', buildSeconds: 45,
    sizes: { kernel: 1, initramfs: 1, rootImage: 1, rootImageAllocated: 1, rootTree: 1 },
  });

  it('pins the key recorded in the manifest beside the root image', async () => {
    const { pub } = sshKeygen('img');
    const root = imageDir('ok', manifest(pub));
    expect(await imageHostKey(root)).toEqual({ kind: 'pinned', key: pub, source: manifestPathOf(root) });
    expect(manifestPathOf(root)).toBe(path.join(tmp, 'ok', 'manifest.json'));
  });

  it('refuses to boot an image without a manifest or with a malformed key', async () => {
    const missing = imageDir('none', undefined);
    const err = await imageHostKey(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostError);
    expect(err).toMatchObject({ code: 'E_BOOT_HOST_KEY_UNKNOWN' });
    expect((err as Error).message).toBe(`no valid sshHostKey in ${path.join(tmp, 'none', 'manifest.json')}: cannot verify the guest of ${missing}`);

    const bad = imageDir('bad', manifest('ssh-ed25519 AAAA kt-guest'));
    await expect(imageHostKey(bad)).rejects.toThrow(
      `no valid sshHostKey in ${path.join(tmp, 'bad', 'manifest.json')} (found "ssh-ed25519 AAAA kt-guest"): cannot verify the guest of ${bad}`,
    );
  });
});
