/**
 * The config built into a kernel (CONFIG_IKCONFIG, kernel/configs.c): it sits gzip-compressed
 * between the markers IKCFG_ST and IKCFG_ED inside the decompressed kernel, which is what the
 * kernel's own scripts/extract-ikconfig looks for. Pure: the effects are in ikconfig.ts; the
 * bzImage header itself is read by src/util/bzImage.ts.
 */
import zlib from 'node:zlib';

export { compressionAt, findCompressedStreams, parseBzImageHeader, releaseOfVersion, type BzImageHeader, type Compression } from '../util/bzImage.js';

const IKCFG_ST = Buffer.from('IKCFG_ST');
const IKCFG_ED = Buffer.from('IKCFG_ED');

/**
 * The .config text embedded in an uncompressed kernel (vmlinux or a decompressed bzImage
 * payload), or undefined when it has no IKCONFIG. kernel/configs.c wraps the gzip'd config
 * as "IKCFG_ST" <gzip data> "IKCFG_ED".
 */
export function ikconfigFromKernel(kernel: Uint8Array): string | undefined {
  const b = Buffer.from(kernel.buffer, kernel.byteOffset, kernel.byteLength);
  const start = b.indexOf(IKCFG_ST);
  if (start < 0) return undefined;
  const end = b.indexOf(IKCFG_ED, start + IKCFG_ST.length);
  const gz = b.subarray(start + IKCFG_ST.length, end > start ? end : undefined);
  try {
    return zlib.gunzipSync(gz, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString('utf8');
  } catch {
    return undefined;
  }
}
