/**
 * At image build: the image kernel's uncompressed ELF, written beside vmlinuz as `vmlinux`, so
 * every boot can take the PVH entry (src/vm/pvh/pvhKernel.ts) instead of decompressing the
 * kernel again. Debian's kernel package ships only the compressed vmlinuz. A missing
 * decompressor or a kernel without the PVH entry is no error: the image then has no vmlinux and
 * boots by the bzImage as before.
 */
import fs from 'node:fs/promises';
import { compressionAt, parseBzImageHeader } from '../../util/bzImage.js';
import { decompress, MissingTool } from '../../util/decompress.js';
import { elfHasPvhEntry } from '../pvh/elfNotes.js';

/** Writes `out` and returns its size, or returns a sentence saying why the image has no vmlinux. */
export async function extractVmlinux(vmlinuz: string, out: string): Promise<{ size: number } | { note: string }> {
  const file = await fs.readFile(vmlinuz);
  const payload = parseBzImageHeader(file)?.payload;
  if (!payload) return { note: `${vmlinuz} is not a bzImage with a payload (boot protocol 2.08+)` };
  const format = compressionAt(file, payload.offset);
  if (!format) return { note: `${vmlinuz}: its payload's compression is unknown to kt` };
  const data = file.subarray(payload.offset, payload.offset + payload.length);
  let elf: Buffer;
  try {
    // Every format but gzip carries the decompressed size as four more bytes (scripts/Makefile.lib size_append).
    elf = await decompress(format, format === 'gzip' ? data : data.subarray(0, data.length - 4));
  } catch (err) {
    // Host tools are no input of the image's hash: only a rebuild adds vmlinux later.
    if (err instanceof MissingTool) return { note: `the kernel is ${format}-compressed and ${err.tool} is not installed (apt-get install ${err.pkg}, then kt image build --rebuild)` };
    return { note: `decompressing ${vmlinuz} failed: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (elf.length !== payload.decompressedSize) return { note: `${vmlinuz} decompressed to ${elf.length} bytes, its header says ${payload.decompressedSize}` };
  if (!elfHasPvhEntry(elf)) return { note: 'the image kernel has no PVH entry (CONFIG_PVH is off)' };
  const tmp = `${out}.tmp`;
  try {
    await fs.writeFile(tmp, elf);
    await fs.rename(tmp, out);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    return { note: `writing ${out} failed: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  return { size: elf.length };
}
