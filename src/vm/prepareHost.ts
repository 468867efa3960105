/**
 * prepareHost: the effects a VmSpec needs before QEMU starts (docs/architecture.md, "The VM layer", step 3):
 * its private directory and fresh sparse TEST/SCRATCH images. Returns a disposer.
 */
import fs from 'node:fs/promises';
import type { VmSpec } from './spec.js';

export interface PreparedHost {
  /** Removes the VM directory (disks, sockets). Idempotent. */
  dispose(): Promise<void>;
}

export async function prepareHost(spec: VmSpec): Promise<PreparedHost> {
  await fs.mkdir(spec.dir, { recursive: true, mode: 0o700 });
  for (const disk of spec.disks) {
    if (disk.sizeBytes === undefined) continue;
    // truncate() on a new file makes it sparse: a 5 GiB disk costs no space until written.
    const handle = await fs.open(disk.path, 'wx', 0o600);
    try {
      await handle.truncate(disk.sizeBytes);
    } finally {
      await handle.close();
    }
  }
  return removeOnDispose(spec.dir);
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
