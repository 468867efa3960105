import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Parses "5G", "512M", "1T", "1048576" (binary units, like qemu-img and truncate). */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+)\s*([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!m) {
    throw new UsageError('E_BAD_SIZE', `${what} "${text}" is not a size`, 'write it like 5G, 512M or 10737418240');
  }
  const bytes = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  if (bytes < 2 ** 20) throw new UsageError('E_BAD_SIZE', `${what} "${text}" is smaller than 1M`, 'give at least 1G for a filesystem test device');
  return bytes;
}
