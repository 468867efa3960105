/**
 * Reading an x86 bzImage without booting it: the setup header (Documentation/x86/boot.rst,
 * "The Real-Mode Kernel Header") gives the version string and where the compressed kernel (the
 * payload) lies; the payload's last four bytes are the size it decompresses to, little-endian
 * (arch/x86/boot/compressed/mkpiggy.c reads them as z_output_len: gzip's own ISIZE field, or
 * the `size_append` of scripts/Makefile.lib for every other format). Pure. Used by
 * kconfig/ (the embedded config) and vm/pvh (the uncompressed kernel for the PVH entry).
 */

export interface BzImageHeader {
  /** Boot protocol version, e.g. 0x020f. */
  protocol: number;
  /** The version string ("6.1.192 (user@host) #1 SMP ..."), when the header points to one. */
  version?: string;
  /** File offset and length of the compressed kernel (protocol ≥ 2.08), and the size it decompresses to (vmlinux.bin.all: vmlinux.bin and its relocations). */
  payload?: { offset: number; length: number; decompressedSize: number };
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
    if (length >= 4 && offset + length <= b.length) header.payload = { offset, length, decompressedSize: b.readUInt32LE(offset + length - 4) };
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

