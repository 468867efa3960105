/**
 * The config built into a kernel image (CONFIG_IKCONFIG), read the way the kernel's
 * scripts/extract-ikconfig does: an uncompressed vmlinux holds it directly; a bzImage holds
 * a compressed vmlinux, which is decompressed with node's zlib (gzip) or the host's
 * xz/zstd/lz4/lzma/bzip2/lzop tools first.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import zlib from 'node:zlib';
import { UsageError } from '../errors.js';
import { compressionAt, findCompressedStreams, ikconfigFromKernel, parseBzImageHeader, type Compression } from './bzImage.js';

/** Host decompressors that write to stdout; trailing data after the stream (the size the x86 build appends) is ignored. */
const TOOLS: Record<Exclude<Compression, 'gzip'>, { argv: string[]; pkg: string }> = {
  xz: { argv: ['xz', '-dc', '--single-stream'], pkg: 'xz-utils' },
  lzma: { argv: ['xz', '--format=lzma', '-dc'], pkg: 'xz-utils' },
  zstd: { argv: ['zstd', '-dcq'], pkg: 'zstd' },
  lz4: { argv: ['lz4', '-dc'], pkg: 'lz4' },
  bzip2: { argv: ['bzip2', '-dc'], pkg: 'bzip2' },
  lzo: { argv: ['lzop', '-dc'], pkg: 'lzop' },
};

class MissingTool extends Error {
  constructor(readonly tool: string, readonly pkg: string) {
    super(`${tool} not found`);
  }
}

/** Runs a decompressor on data; resolves with whatever it wrote (exit status ignored, as extract-ikconfig does). */
function runDecompressor(argv: string[], data: Uint8Array, pkg: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new MissingTool(argv[0]!, pkg) : err));
    child.on('close', () => resolve(Buffer.concat(out)));
    // The tool may stop reading at the end of its stream; an EPIPE then is expected.
    child.stdin.on('error', () => undefined);
    child.stdin.end(data);
  });
}

async function decompress(format: Compression, data: Uint8Array): Promise<Buffer> {
  if (format === 'gzip') {
    try {
      return zlib.gunzipSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch {
      // Trailing bytes after the member (the appended size) can make zlib throw; gzip(1) copes.
      return runDecompressor(['gzip', '-dc'], data, 'gzip');
    }
  }
  const tool = TOOLS[format];
  return runDecompressor(tool.argv, data, tool.pkg);
}

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
