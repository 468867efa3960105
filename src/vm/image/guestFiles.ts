/**
 * The guest-side scripts shipped as files in the repo's guest/ directory. Resolved relative to
 * this module so the same code works from src/vm/image (vitest) and dist/vm/image (compiled).
 */
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const GUEST_DIR = fileURLToPath(new URL('../../../guest/', import.meta.url));

/** Every file of guest/ that the image build uses; all of them are part of the image hash. */
export const GUEST_FILE_NAMES = [
  // initramfs /init (initramfs.ts)
  'init',
  // root image: /sbin/kt-init, /sbin/kt-sshd and /etc/ssh/kt_sshd_config (customize-hook.sh installs them)
  'kt-init',
  'kt-sshd',
  'kt_sshd_config',
  // mmdebstrap hooks (mmdebstrapArgs.ts)
  'mmdebstrap/essential-hook.sh',
  'mmdebstrap/customize-hook.sh',
  // run after mmdebstrap in both build modes (buildImage.ts)
  'mmdebstrap/finish-tree.sh',
] as const;

export type GuestFileName = (typeof GUEST_FILE_NAMES)[number];

export async function loadGuestFiles(dir: string = GUEST_DIR): Promise<Record<GuestFileName, string>> {
  const entries = await Promise.all(
    GUEST_FILE_NAMES.map(async (name) => [name, await fs.readFile(path.join(dir, name), 'utf8')] as const),
  );
  return Object.fromEntries(entries) as Record<GuestFileName, string>;
}
