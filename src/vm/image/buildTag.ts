/**
 * What names one build of kt's image. The recipe hash (src/vm/image/recipe.ts) names what a build
 * is made from, not the package versions it fetched nor the ssh host key it made; caches that
 * hold something of a build's contents (the virtiofs root tree, the preflight memo) name the
 * build itself too.
 */
import crypto from 'node:crypto';

/** An image build: its recipe hash and the ssh host key the build made (GuestImage, manifest.json). */
export interface ImageBuild {
  hash: string;
  sshHostKey: string;
}

/**
 * Names an image build within its recipe hash: the first 8 hex digits of the SHA-256 of its ssh
 * host key, made afresh by every build (guest/mmdebstrap/customize-hook.sh). Pure.
 */
export function imageBuildTag(sshHostKey: string): string {
  return crypto.createHash('sha256').update(sshHostKey).digest('hex').slice(0, 8);
}
