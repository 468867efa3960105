/**
 * Decompressing a kernel's payload the way the kernel's scripts/extract-vmlinux and
 * scripts/extract-ikconfig do: gzip with node's zlib, every other format with the host's own
 * tool (xz, zstd, lz4, bzip2, lzop), which may be missing (MissingTool names its package).
 */
import { spawn } from 'node:child_process';
import zlib from 'node:zlib';
import type { Compression } from './bzImage.js';

/** Host decompressors that write to stdout; trailing data after the stream (the size the x86 build appends) is ignored. */
const TOOLS: Record<Exclude<Compression, 'gzip'>, { argv: string[]; pkg: string }> = {
  xz: { argv: ['xz', '-dc', '--single-stream'], pkg: 'xz-utils' },
  lzma: { argv: ['xz', '--format=lzma', '-dc'], pkg: 'xz-utils' },
  zstd: { argv: ['zstd', '-dcq'], pkg: 'zstd' },
  lz4: { argv: ['lz4', '-dc'], pkg: 'lz4' },
  bzip2: { argv: ['bzip2', '-dc'], pkg: 'bzip2' },
  lzo: { argv: ['lzop', '-dc'], pkg: 'lzop' },
};

export class MissingTool extends Error {
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

export async function decompress(format: Compression, data: Uint8Array): Promise<Buffer> {
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

