import { UsageError, printable } from '../errors.js';
import type { Sourced } from './input.js';

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/**
 * Largest device kt makes: 16 TiB, the largest file ext4 holds with 4 KiB blocks (the sparse
 * images live on the host's file system; ext4 is the common one).
 */
export const MAX_DEVICE_BYTES = 16 * 2 ** 40;

/** Parses "5G", "512M", "1T", "1048576" (binary units, like qemu-img and truncate). */
export function parseSize(v: Sourced<string | number>): number {
  const text = String(v.value);
  const m = /^(\d+)\s*([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!m) {
    throw new UsageError('E_BAD_SIZE', `${v.source} "${printable(text)}" is not a size`, 'write it like 5G, 512M or 10737418240');
  }
  const bytes = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  if (bytes < 2 ** 20) throw new UsageError('E_BAD_SIZE', `${v.source} "${printable(text)}" is smaller than 1M`, 'give at least 1G for a filesystem test device');
  if (!(bytes <= MAX_DEVICE_BYTES)) {
    throw new UsageError('E_BAD_SIZE', `${v.source} "${printable(text)}" is larger than 16T`, 'the sparse device images cannot exceed 16T (ext4 host files); 5G to 100G is usual');
  }
  return bytes;
}
