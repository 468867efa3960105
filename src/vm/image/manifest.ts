/**
 * manifest.json: written last into a finished image directory, so its presence means the image
 * is complete. Also records what was actually installed, for bug reports.
 */
import fs from 'node:fs/promises';
import { z } from 'zod';

export const ImageManifestSchema = z.object({
  /** hashImageInputs() of the recipe; also the directory name. */
  hash: z.string(),
  recipeVersion: z.number(),
  /** `uname -r` of vmlinuz, e.g. 6.1.0-56-cloud-amd64. */
  kernelRelease: z.string(),
  suite: z.string(),
  /** apt sources the packages came from. */
  sources: z.array(z.string()),
  /** Packages the recipe asked for. */
  packages: z.array(z.string()),
  /** Every installed package → version (from the image's dpkg status). */
  installed: z.record(z.string(), z.string()),
  /** Module paths the initramfs loads, in order. */
  initramfsModules: z.array(z.string()),
  /** Root filesystem type of root.img. */
  rootFilesystem: z.literal('ext4'),
  /** The guest sshd's host key ("ssh-ed25519 AAAA... kt-guest"), for pinning. */
  sshHostKey: z.string(),
  /**
   * How the build got root: as root, or in a user namespace (src/vm/image/userns.ts). Not an
   * input of the hash: both give the same tree. Absent in manifests older than rootless builds.
   */
  buildMode: z.enum(['root', 'unshare']).optional(),
  /** ISO 8601. */
  builtAt: z.string(),
  buildSeconds: z.number(),
  /** Bytes. rootImage is the apparent size of the sparse file, rootImageAllocated what it uses on disk. */
  sizes: z.object({
    kernel: z.number(),
    /** The uncompressed kernel for the PVH entry (src/vm/image/pvhExtract.ts); absent when the image has none. */
    vmlinux: z.number().optional(),
    initramfs: z.number(),
    rootImage: z.number(),
    rootImageAllocated: z.number(),
    rootTree: z.number(),
  }),
});

export type ImageManifest = z.infer<typeof ImageManifestSchema>;

/** The manifest, or undefined when missing or unreadable (then the image is rebuilt). */
export async function readManifest(file: string): Promise<ImageManifest | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = ImageManifestSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Installed packages from a dpkg status file (deb822 paragraphs, dpkg-query(1) fields
 * Package/Status/Version). Pure.
 */
export function parseDpkgStatus(text: string): Record<string, string> {
  const installed: Record<string, string> = {};
  for (const paragraph of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(paragraph)?.[1]?.trim();
    const pkg = field('Package');
    const version = field('Version');
    if (pkg && version && field('Status') === 'install ok installed') installed[pkg] = version;
  }
  return installed;
}
