/**
 * prepareHost: the effects a VmSpec needs before QEMU starts (docs/architecture.md, "The VM layer", step 3):
 * its private directory and fresh sparse TEST/SCRATCH images, the TEST image a copy of its
 * template when the spec names one that exists. Returns a disposer.
 */
import fs from 'node:fs/promises';
import { copySparse } from './diskCopy.js';
import type { VmSpec } from './spec.js';

export interface PreparedHost {
  /** Removes the VM directory (disks, sockets). Idempotent. */
  dispose(): Promise<void>;
  /** The disks (by serial) that began as a copy of their template, and the template's path. */
  fromTemplate?: Readonly<Record<string, string>>;
}

export async function prepareHost(spec: VmSpec): Promise<PreparedHost> {
  await fs.mkdir(spec.dir, { recursive: true, mode: 0o700 });
  const fromTemplate: Record<string, string> = {};
  for (const disk of spec.disks) {
    if (disk.sizeBytes === undefined) continue;
    // 'wx' claims the path: kt never writes over a file it did not make.
    const handle = await fs.open(disk.path, 'wx', 0o600);
    try {
      if (disk.template && (await copiedFromTemplate(disk.path, disk.template, disk.sizeBytes))) {
        fromTemplate[disk.serial] = disk.template;
        continue;
      }
      // truncate() on an empty file makes it sparse: a 5 GiB disk costs no space until written.
      // (To 0 first: what a failed copy left is gone.)
      await handle.truncate(0);
      await handle.truncate(disk.sizeBytes);
    } finally {
      await handle.close();
    }
  }
  return { ...removeOnDispose(spec.dir), ...(Object.keys(fromTemplate).length > 0 ? { fromTemplate } : {}) };
}

/**
 * Whether the disk at `diskPath` (a file prepareHost just made) is now a whole copy of `template`:
 * the template is there, has the disk's size (a template of another size is not this disk's
 * filesystem), and cp copied it. Otherwise the caller empties the disk: a template only saves time.
 */
async function copiedFromTemplate(diskPath: string, template: string, sizeBytes: number): Promise<boolean> {
  try {
    if ((await fs.stat(template)).size !== sizeBytes) return false;
    await copySparse(template, diskPath);
    return (await fs.stat(diskPath)).size === sizeBytes;
  } catch {
    // No template yet, no cp (busybox's has no --reflink), or a copy that failed.
    return false;
  }
}

/** A PreparedHost whose dispose removes `dir` once (every backend's VM directory). */
export function removeOnDispose(dir: string): PreparedHost {
  let disposed = false;
  return {
    async dispose() {
      if (disposed) return;
      disposed = true;
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
