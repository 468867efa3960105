/**
 * Which file QEMU's -kernel gets: the kernel's uncompressed ELF when it has the PVH entry point,
 * else the bzImage. Booting the ELF by its PVH entry skips the firmware's real-mode kernel
 * set-up and the kernel's own decompression: 0.2–0.3 s less per boot under TCG on the
 * development host (docs/speed.md, "PVH entry"). The ELF must be the bzImage's own kernel, so
 * it is taken only when its size, its version banner and its PVH note all agree; otherwise the
 * bzImage boots as before and the reason is said once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseBzImageHeader } from '../../util/bzImage.js';
import { carriesBanner } from './banner.js';
import { hasPvhEntry, noteSegments } from './elfNotes.js';

export interface BootKernel {
  /** What -kernel gets. */
  path: string;
  entry: 'pvh' | 'bzImage';
  /** With entry bzImage: why not PVH (a sentence), when a PVH ELF was there to consider. */
  why?: string;
}

/** File name of the uncompressed kernel in kt's image directory, beside vmlinuz (src/vm/image/pvhExtract.ts writes it). */
export const IMAGE_VMLINUX = 'vmlinux';

export interface PvhCandidate {
  /** The ELF. */
  elf: string;
  /** Its relocations, which the bzImage's payload carries after it (arch/x86/boot/compressed/Makefile vmlinux.bin.all). */
  relocs?: string;
}

/**
 * Where a bzImage's uncompressed kernel may lie: in a kernel tree, arch/x86/boot/compressed/
 * vmlinux.bin (the stripped vmlinux, `objcopy -R .comment -S`, that make compresses into the
 * bzImage) beside arch/x86/boot/bzImage; in kt's image, `vmlinux` beside `vmlinuz`. Pure.
 */
export function pvhCandidates(kernel: string): PvhCandidate[] {
  const dir = path.dirname(kernel);
  return [
    { elf: path.join(dir, 'compressed', 'vmlinux.bin'), relocs: path.join(dir, 'compressed', 'vmlinux.relocs') },
    { elf: path.join(dir, IMAGE_VMLINUX) },
  ];
}

function sizeOf(file: string | undefined): number | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.statSync(file).size;
  } catch {
    return undefined;
  }
}

/** Whether `elf` (already read) has the PVH note. */
export function elfHasPvhEntry(elf: Buffer): boolean {
  const segments = noteSegments(elf.subarray(0, 4096));
  return (segments ?? []).some((s) => s.offset + s.size <= elf.length && hasPvhEntry(elf.subarray(s.offset, s.offset + s.size)));
}

/** The file to boot for bzImage `kernel`. Reads the bzImage and at most one candidate ELF; never throws for what it reads. */
export function bootKernelFor(kernel: string): BootKernel {
  const bzImage = { path: kernel, entry: 'bzImage' } as const;
  let file: Buffer;
  try {
    file = fs.readFileSync(kernel);
  } catch {
    return bzImage;
  }
  const bz = parseBzImageHeader(file);
  // Not a bzImage, or one too old to say its payload's size: nothing to choose.
  if (!bz?.payload) return bzImage;
  for (const c of pvhCandidates(kernel)) {
    const size = sizeOf(c.elf);
    if (size === undefined) continue;
    const name = path.basename(c.elf);
    if (size + (sizeOf(c.relocs) ?? 0) !== bz.payload.decompressedSize) return { ...bzImage, why: `${c.elf} is not the kernel in ${kernel} (its size differs from the payload's): rebuild (make bzImage)` };
    const elf = fs.readFileSync(c.elf);
    if (!elfHasPvhEntry(elf)) return { ...bzImage, why: `${name} has no PVH entry (CONFIG_PVH is off): kt boots the bzImage; CONFIG_PVH=y boots ~0.2–0.3 s faster (kt kconfig fix adds it)` };
    if (bz.version === undefined || !carriesBanner(elf, bz.version)) return { ...bzImage, why: `${c.elf} is not the kernel in ${kernel} (its version banner differs): rebuild (make bzImage)` };
    return { path: c.elf, entry: 'pvh' };
  }
  return bzImage;
}
