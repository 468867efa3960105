/**
 * The initramfs file of a run: kt's initramfs followed by the extra archive (extraArchive.ts)
 * in one file, because QEMU's -initrd takes one file and the kernel unpacks concatenated
 * archives in order (Documentation/driver-api/early-userspace/buffer-format.rst). Cached by
 * content under <cacheDir>/initramfs/.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { writeCpio } from '../vm/image/cpio.js';
import { extraArchiveEntries, type ExtraArchiveInputs } from './extraArchive.js';

/** gzip'd newc archive of the extra files (kt's initramfs is gzip too: CONFIG_RD_GZIP). */
export function extraArchiveGz(inputs: ExtraArchiveInputs): Buffer {
  // Level 1: modules compress well enough, and this runs at the start of every run that stages.
  return zlib.gzipSync(writeCpio(extraArchiveEntries(inputs)), { level: 1 });
}

/** Writes (or reuses) base + extra as one file and returns its path. */
export function writeRunInitramfs(baseInitramfs: string, extraGz: Buffer, cacheDir: string): string {
  const base = fs.readFileSync(baseInitramfs);
  const hash = crypto.createHash('sha256').update(base).update(extraGz).digest('hex').slice(0, 16);
  const dir = path.join(cacheDir, 'initramfs');
  const file = path.join(dir, `${hash}.cpio.gz`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, Buffer.concat([base, extraGz]));
  fs.renameSync(tmp, file);
  return file;
}
