/**
 * The guest's ssh host key: what kt expects it to be, and how it reads and compares keys.
 *
 * kt never accepts whatever key the other end of the transport offers (docs/vm-trust.md):
 * - Debian image (QemuMachine): the key is made once when the image is built
 *   (guest/mmdebstrap/customize-hook.sh) and recorded in the image's manifest.json
 *   (`sshHostKey`), so it is known before QEMU starts and pinned.
 * - NixOS VM (NixosMachine): the guest makes a fresh key at every boot (nix/guest.nix,
 *   kt-setup) and prints its public half on ttyS0. ttyS0 is QEMU's stdout, a pipe only kt
 *   holds; neither a local process nor anything on the guest's network can write to it.
 *   kt pins the key printed there before READY_MARKER.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { HostError } from '../errors.js';
import { IMAGE_FILES } from './image/cacheDir.js';
import { readManifest } from './image/manifest.js';

/** The only host key type kt's guests have (both generate ed25519 keys, and only those). */
export const HOST_KEY_TYPE = 'ssh-ed25519';

/** The line nix/guest.nix prints on ttyS0 before "kt-init: ready": this prefix, then the .pub line. */
export const CONSOLE_HOST_KEY_MARKER = 'kt-init: ssh host key ';

/** Where the expected key comes from; `source` names it in error messages. */
export type HostKeyTrust = { kind: 'pinned'; key: string; source: string } | { kind: 'console' };

/** An ssh host key that does not match the expected one. */
export class HostKeyMismatchError extends Error {
  override name = 'HostKeyMismatchError';
  constructor(
    readonly expected: string,
    readonly offered: string,
  ) {
    super(`the guest offered ssh host key ${offered}, expected ${expected}`);
  }
}

/**
 * The key blob (SSH wire format, RFC 4253 §6.6) of an OpenSSH public key line
 * ("ssh-ed25519 AAAA... comment"), or undefined when the line is not a well-formed ed25519 key:
 * the base64 must decode to string "ssh-ed25519" + string of 32 bytes (RFC 8709 §4).
 */
export function parseHostKeyLine(line: string): Buffer | undefined {
  const m = /^ssh-ed25519 ([A-Za-z0-9+/]+={0,2})(?:\s.*)?$/.exec(line.trim());
  if (!m) return undefined;
  const blob = Buffer.from(m[1]!, 'base64');
  if (blob.length !== 4 + HOST_KEY_TYPE.length + 4 + 32) return undefined;
  if (blob.readUInt32BE(0) !== HOST_KEY_TYPE.length) return undefined;
  if (blob.subarray(4, 4 + HOST_KEY_TYPE.length).toString('latin1') !== HOST_KEY_TYPE) return undefined;
  if (blob.readUInt32BE(4 + HOST_KEY_TYPE.length) !== 32) return undefined;
  return blob;
}

/** OpenSSH's fingerprint of a key blob: "SHA256:" + unpadded base64 of its SHA-256 (ssh-keygen -l). */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The key of one console line (without its newline) if the line is a host key line:
 * CONSOLE_HOST_KEY_MARKER at its very start, then a well-formed ed25519 public key line.
 */
export function hostKeyFromConsoleLine(line: string): string | undefined {
  const text = line.replace(/\r$/, '');
  if (!text.startsWith(CONSOLE_HOST_KEY_MARKER)) return undefined;
  const key = text.slice(CONSOLE_HOST_KEY_MARKER.length).trim();
  return parseHostKeyLine(key) ? key : undefined;
}

/** Where the Debian image records its key: manifest.json beside root.img (src/vm/image/cacheDir.ts). */
export function manifestPathOf(rootImage: string): string {
  return path.join(path.dirname(rootImage), IMAGE_FILES.manifest);
}

/**
 * The key recorded in the manifest of the image `rootImage` belongs to. Throws HostError
 * E_BOOT_HOST_KEY_UNKNOWN when the manifest is missing, unreadable or holds no valid key: then kt
 * has nothing to check the guest against and must not boot it.
 */
export async function imageHostKey(rootImage: string): Promise<HostKeyTrust> {
  const manifestPath = manifestPathOf(rootImage);
  const manifest = await readManifest(manifestPath);
  const key = manifest?.sshHostKey;
  if (key === undefined || !parseHostKeyLine(key)) {
    throw new HostError(
      'E_BOOT_HOST_KEY_UNKNOWN',
      `no valid sshHostKey in ${manifestPath}${key !== undefined ? ` (found ${JSON.stringify(key)})` : ''}: cannot verify the guest of ${rootImage}`,
      'rebuild the guest image (kt image build --rebuild); its manifest records the key',
    );
  }
  return { kind: 'pinned', key, source: manifestPath };
}
