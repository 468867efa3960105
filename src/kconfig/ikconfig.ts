/**
 * The config built into a kernel image (CONFIG_IKCONFIG), read the way the kernel's
 * scripts/extract-ikconfig does: an uncompressed vmlinux holds it directly; a bzImage holds
 * a compressed vmlinux, which is decompressed with node's zlib (gzip) or the host's
 * xz/zstd/lz4/lzma/bzip2/lzop tools first.
 */
import fs from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { decompress, MissingTool } from '../util/decompress.js';
import { compressionAt, findCompressedStreams, ikconfigFromKernel, parseBzImageHeader, type Compression } from './bzImage.js';

/**
 * The .config text inside a kernel image, or undefined when it was built without IKCONFIG.
 * Throws UsageError when the file cannot be read or its decompressor is missing.
 */
export async function readIkconfig(file: string): Promise<string | undefined> {
  let image: Buffer;
  try {
    image = await fs.readFile(file);
  } catch (err) {
    throw new UsageError('E_KCONFIG_KERNEL_UNREADABLE', `cannot read kernel image ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'give a readable bzImage (arch/x86/boot/bzImage) or vmlinux to --kernel');
  }
  const direct = ikconfigFromKernel(image);
  if (direct !== undefined) return direct;
  const header = parseBzImageHeader(image);
  const candidates: { offset: number; format: Compression; length?: number }[] = [];
  if (header?.payload) {
    const format = compressionAt(image, header.payload.offset);
    if (format) candidates.push({ ...header.payload, format });
  }
  // Not a bzImage with a payload field (or an unknown format at it): try every stream.
  if (candidates.length === 0) candidates.push(...findCompressedStreams(image));
  for (const c of candidates) {
    const data = image.subarray(c.offset, c.length !== undefined ? c.offset + c.length : undefined);
    let kernel: Buffer;
    try {
      kernel = await decompress(c.format, data);
    } catch (err) {
      if (err instanceof MissingTool) {
        throw new UsageError('E_KCONFIG_NO_DECOMPRESSOR', `${file} is ${c.format}-compressed and ${err.tool} is not installed`, `install it (apt-get install ${err.pkg}), or pass the tree's .config with --config FILE`);
      }
      continue;
    }
    const text = ikconfigFromKernel(kernel);
    if (text !== undefined) return text;
  }
  return undefined;
}
