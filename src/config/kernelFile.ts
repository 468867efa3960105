/**
 * Checking a kernel image before anything boots it: a bzImage carries the x86 boot protocol
 * header "HdrS" at offset 0x202 (Documentation/arch/x86/boot.rst), which QEMU's -kernel needs.
 */
import fs from 'node:fs';
import { UsageError, printable } from '../errors.js';
import { parseBzImageHeader, releaseOfVersion } from '../util/bzImage.js';

const HDRS_OFFSET = 0x202;
const BOOT_HINT = 'give a bzImage to --kernel (e.g. arch/x86/boot/bzImage after make), or leave it out to boot the image kernel';

/** What a file holds, from its first bytes. */
export type KernelFileKind = 'bzImage' | 'elf' | 'empty' | 'other';

/** Classifies the first bytes of a file (pure). */
export function kernelFileKind(head: Uint8Array): KernelFileKind {
  if (head.length === 0) return 'empty';
  if (head.length >= HDRS_OFFSET + 4 && Buffer.from(head.subarray(HDRS_OFFSET, HDRS_OFFSET + 4)).toString('latin1') === 'HdrS') return 'bzImage';
  if (head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) return 'elf';
  return 'other';
}

/** Throws a UsageError unless `file` (as given: `shown`) is a readable bzImage. */
export function checkKernelFile(file: string, shown: string, flag = '--kernel'): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new UsageError('E_KERNEL_MISSING', `kernel file ${printable(shown)} does not exist`, BOOT_HINT);
  }
  if (stat.isDirectory()) {
    throw new UsageError('E_KERNEL_NOT_FILE', `${flag} ${printable(shown)} is a directory, not a kernel image`, `${BOOT_HINT}; in a kernel tree that is arch/x86/boot/bzImage`);
  }
  if (!stat.isFile()) throw new UsageError('E_KERNEL_NOT_FILE', `${flag} ${printable(shown)} is not a regular file`, BOOT_HINT);
  let head: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      head = Buffer.alloc(1024);
      head = head.subarray(0, fs.readSync(fd, head, 0, head.length, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new UsageError('E_KERNEL_UNREADABLE', `kernel file ${printable(shown)} cannot be read (${(err as NodeJS.ErrnoException).code})`, 'check its permissions');
  }
  switch (kernelFileKind(head)) {
    case 'bzImage':
      return;
    case 'empty':
      throw new UsageError('E_KERNEL_NOT_BZIMAGE', `kernel file ${printable(shown)} is empty`, `${BOOT_HINT} (did the build finish?)`);
    case 'elf':
      throw new UsageError('E_KERNEL_NOT_BZIMAGE', `kernel file ${printable(shown)} is an ELF file (a vmlinux?), not a bzImage`, 'pass arch/x86/boot/bzImage of the same build: kt reads the kernel\'s release and config from it, and boots the uncompressed kernel beside it by its PVH entry when that matches (docs/speed.md)');
    case 'other':
      throw new UsageError('E_KERNEL_NOT_BZIMAGE', `kernel file ${printable(shown)} is not an x86 bzImage (no "HdrS" boot header at 0x202)`, BOOT_HINT);
  }
}

/**
 * The release string a bzImage carries ("6.1.0-57-cloud-amd64"): the boot header's
 * kernel_version field (offset 0x20E) points to it, 0x200 bytes less than its file offset
 * (Documentation/arch/x86/boot.rst, "kernel_version"). Undefined when the file has none.
 */
export function bzImageRelease(head: Uint8Array): string | undefined {
  const version = parseBzImageHeader(head)?.version;
  const release = version === undefined ? undefined : releaseOfVersion(version);
  return release && /^\d+\.\d+/.test(release) ? release : undefined;
}

/** Reads the release of a bzImage file (the first 64 KiB hold the header and the string). */
export function readBzImageRelease(file: string): string | undefined {
  const head = readHead(file);
  return head ? bzImageRelease(head) : undefined;
}

/**
 * The whole version string of a bzImage file ("6.1.192 (root@host) #3 SMP PREEMPT_DYNAMIC Thu Dec
 * 4 11:38:02 UTC 2026"): its release, who built it, the build's number and time, so one build
 * of a tree differs from the next. Undefined when the file has none.
 */
export function readBzImageVersion(file: string): string | undefined {
  const head = readHead(file);
  return head ? parseBzImageHeader(head)?.version : undefined;
}

/** The first 64 KiB of a file, which in a bzImage hold the boot header and the version string. */
function readHead(file: string): Uint8Array | undefined {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(64 * 1024);
      return head.subarray(0, fs.readSync(fd, head, 0, head.length, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}
