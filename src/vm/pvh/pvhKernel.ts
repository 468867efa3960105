/**
 * Which file QEMU's -kernel gets: the kernel's uncompressed ELF when it has the PVH entry point,
 * else the bzImage. Booting the ELF by its PVH entry skips the firmware's real-mode kernel
 * set-up and the kernel's own decompression: under TCG on the development host 0.25–0.5 s less
 * per boot for the lz4-compressed image kernel, 1.1–1.5 s for an xz-compressed tree kernel
 * (docs/speed.md, "PVH entry"; docs/kernel.md says what else differs: no KASLR, 4-level paging).
 * The ELF must be the bzImage's own kernel: a tree's is taken only when its age, size, version
 * banner and PVH note all agree, the image's (checked when the image was built) when its size
 * does; otherwise the bzImage boots, and the reason is said when it is not simply CONFIG_PVH
 * off (kt kconfig's check recommends that).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseBzImageHeader } from '../../util/bzImage.js';
import { carriesBanner } from './banner.js';
import { elfHasPvhEntry } from './elfNotes.js';

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
  /** Its relocations, which the bzImage's payload carries after it when the kernel is relocatable (arch/x86/boot/compressed/Makefile vmlinux.bin.all). */
  relocs?: string;
  /**
   * tree: made by the same make as the bzImage, so never newer than it, and checked in full at
   * every run (a tree changes). image: kt decompressed it from the image's vmlinuz and checked
   * its PVH note at the image build (src/vm/image/pvhExtract.ts), and an image directory never
   * changes, so its size is all a run checks.
   */
  kind: 'tree' | 'image';
}

/**
 * Where a bzImage's uncompressed kernel may lie: kt's image keeps it as `vmlinux` (the caller
 * names it, for the image kernel only); a kernel tree has arch/x86/boot/compressed/vmlinux.bin,
 * the stripped vmlinux (`objcopy -R .comment -S`) that make compresses into the bzImage beside
 * arch/x86/boot/bzImage — `kernel` is the bzImage's real path, links resolved. Pure.
 */
export function pvhCandidates(kernel: string, imageElf?: string): PvhCandidate[] {
  if (imageElf !== undefined) return [{ elf: imageElf, kind: 'image' }];
  const compressed = path.join(path.dirname(kernel), 'compressed');
  return [{ elf: path.join(compressed, 'vmlinux.bin'), relocs: path.join(compressed, 'vmlinux.relocs'), kind: 'tree' }];
}

function statOf(file: string | undefined): fs.Stats | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

/**
 * The file to boot for bzImage `kernel`; `imageElf`: the uncompressed kernel kt's image keeps,
 * when `kernel` is the image's. Reads the bzImage and, for a tree, its ELF; never throws:
 * whatever cannot be read or does not match boots the bzImage, with the reason.
 */
export function bootKernelFor(kernel: string, imageElf?: string): BootKernel {
  const bzImage = { path: kernel, entry: 'bzImage' } as const;
  let real: string;
  let file: Buffer;
  try {
    real = fs.realpathSync(kernel);
    file = fs.readFileSync(real);
  } catch {
    // Not there (an image not built yet) or unreadable: what boots it says why.
    return bzImage;
  }
  const bz = parseBzImageHeader(file);
  // Not a bzImage, or one too old to say its payload's size: nothing to choose.
  if (!bz?.payload) return bzImage;
  const bzTime = statOf(real)?.mtimeMs ?? 0;
  for (const c of pvhCandidates(real, imageElf)) {
    const st = statOf(c.elf);
    const tree = c.kind === 'tree';
    // An image built without it: its build had no decompressor (host tools are no input of its hash).
    if (st === undefined) return tree ? bzImage : { ...bzImage, why: `the image has no ${path.basename(c.elf)} to boot by the PVH entry (was lz4 missing when it was built?): apt-get install lz4, then kt image build --rebuild` };
    const relocs = statOf(c.relocs);
    const fix = tree ? 'rebuild (make bzImage)' : 'rebuild the image (kt image build --rebuild)';
    const notThat = (why: string, how = fix) => ({ ...bzImage, why: `${c.elf} is not the kernel in ${kernel} (${why}): ${how}` });
    // make writes vmlinux.bin (and vmlinux.relocs) before it compresses them into the bzImage: a
    // newer one is from a build that has not (yet) made its bzImage — interrupted, or failed.
    if (tree && (st.mtimeMs > bzTime || (relocs?.mtimeMs ?? 0) > bzTime)) return notThat('it is newer than the bzImage', 'finish the build (make bzImage); a copied tree keeps its times with cp -a');
    // A relocatable kernel's payload carries vmlinux.relocs after it; a stale vmlinux.relocs
    // stays behind when the kernel stops being relocatable.
    if (st.size !== bz.payload.decompressedSize && st.size + (relocs?.size ?? 0) !== bz.payload.decompressedSize) return notThat("its size differs from the payload's");
    if (!tree) return { path: c.elf, entry: 'pvh' };
    let elf: Buffer;
    try {
      elf = fs.readFileSync(c.elf);
    } catch (err) {
      return { ...bzImage, why: `cannot read ${c.elf} (${(err as NodeJS.ErrnoException).code ?? String(err)}): kt boots the bzImage` };
    }
    // CONFIG_PVH off: the bzImage, without a word here — kt kconfig's check of the run recommends it.
    if (!elfHasPvhEntry(elf)) return bzImage;
    if (bz.version === undefined || !carriesBanner(elf, bz.version)) return notThat('its version banner differs');
    return { path: c.elf, entry: 'pvh' };
  }
  return bzImage;
}
