/**
 * Reading an x86 bzImage without booting it: the setup header (Documentation/x86/boot.rst,
 * "The Real-Mode Kernel Header") gives the version string and where the compressed kernel
 * lies; the embedded config (CONFIG_IKCONFIG, kernel/configs.c) sits gzip-compressed between
 * the markers IKCFG_ST and IKCFG_ED inside the decompressed kernel, which is what the kernel's
 * own scripts/extract-ikconfig looks for. Pure: the effects are in ikconfig.ts.
 */
import zlib from 'node:zlib';

export interface BzImageHeader {
  /** Boot protocol version, e.g. 0x020f. */
  protocol: number;
  /** The version string ("6.1.192 (user@host) #1 SMP ..."), when the header points to one. */
  version?: string;
  /** File offset and length of the compressed kernel (protocol ≥ 2.08). */
  payload?: { offset: number; length: number };
}

/** The header of a bzImage, or undefined when the bytes are not one (no "HdrS" at 0x202). */
export function parseBzImageHeader(buf: Uint8Array): BzImageHeader | undefined {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 0x250 || b.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  const protocol = b.readUInt16LE(0x206);
  // setup_sects = 0 means 4 (boot.rst); the protected-mode kernel follows the setup sectors.
  const setupSects = b.readUInt8(0x1f1) || 4;
  const header: BzImageHeader = { protocol };
  const versionPtr = b.readUInt16LE(0x20e);
  if (versionPtr !== 0 && versionPtr + 0x200 < b.length) {
    const start = versionPtr + 0x200;
    const end = b.indexOf(0, start);
    if (end > start) header.version = b.toString('latin1', start, Math.min(end, start + 256));
  }
  if (protocol >= 0x0208) {
    const offset = (setupSects + 1) * 512 + b.readUInt32LE(0x248);
    const length = b.readUInt32LE(0x24c);
    if (length > 0 && offset + length <= b.length) header.payload = { offset, length };
  }
  return header;
}

/** `uname -r` of a kernel: the first word of its version string. */
export function releaseOfVersion(version: string): string {
  return version.split(/\s+/)[0] ?? version;
}

export type Compression = 'gzip' | 'xz' | 'zstd' | 'lz4' | 'lzma' | 'bzip2' | 'lzo';

/** Magic numbers, as scripts/extract-vmlinux and scripts/extract-ikconfig try them. */
const MAGICS: { format: Compression; magic: number[] }[] = [
  { format: 'gzip', magic: [0x1f, 0x8b, 0x08] },
  { format: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { format: 'bzip2', magic: [0x42, 0x5a, 0x68] },
  { format: 'lzma', magic: [0x5d, 0x00, 0x00, 0x00] },
  { format: 'lzo', magic: [0x89, 0x4c, 0x5a, 0x4f] },
  { format: 'lz4', magic: [0x02, 0x21, 0x4c, 0x18] },
  { format: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd] },
];

/** The compression of a buffer that starts with a compressed stream. */
export function compressionAt(buf: Uint8Array, offset = 0): Compression | undefined {
  for (const { format, magic } of MAGICS) {
    if (magic.every((byte, i) => buf[offset + i] === byte)) return format;
  }
  return undefined;
}

/** Every offset where a known compressed stream may start, in file order (extract-ikconfig's scan). */
export function findCompressedStreams(buf: Uint8Array): { offset: number; format: Compression }[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const found: { offset: number; format: Compression }[] = [];
  for (const { format, magic } of MAGICS) {
    const needle = Buffer.from(magic);
    for (let at = b.indexOf(needle); at >= 0; at = b.indexOf(needle, at + 1)) found.push({ offset: at, format });
  }
  return found.sort((x, y) => x.offset - y.offset);
}

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
