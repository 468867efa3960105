/**
 * Booting a shell on the disks a VM kept (`kt run --keep`, `kt shell --keep`): the VM's TEST,
 * SCRATCH and extra disk images, attached read-only with a throw-away overlay (QEMU's
 * snapshot=on), so the files stay exactly as the run left them whatever the shell does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError, printable } from '../errors.js';
import type { DiskSpec } from '../vm/spec.js';

/**
 * The VM's disks with each one kt would create (it has a size) replaced by the file of the same
 * name in `keptDir`. TEST and SCRATCH must be there; an extra disk a section needs that the VM
 * did not have (a log device) stays a fresh one. Pure but for `exists`.
 */
export function withKeptDisks(disks: readonly DiskSpec[], keptDir: string, exists: (file: string) => boolean): DiskSpec[] {
  return disks.map((disk) => {
    if (disk.sizeBytes === undefined) return disk;
    const kept = path.join(keptDir, path.basename(disk.path));
    if (exists(kept)) return { serial: disk.serial, path: kept, snapshot: true };
    if (disk.serial === 'test' || disk.serial === 'scratch') {
      throw new UsageError('E_SHELL_KEPT_DISK_MISSING', `${printable(kept)} does not exist: ${printable(keptDir)} does not hold a kept VM's disks`, 'pass the VM directory kt kept (it holds test.img and scratch.img), e.g. --disks /tmp/kt-AbC123/vm1');
    }
    return disk;
  });
}

/** --disks DIR as given: an existing directory holding test.img. */
export function keptDisksDir(given: string, cwd: string): string {
  if (given.trim() === '') throw new UsageError('E_EMPTY_VALUE', '--disks was given without a directory', 'pass the VM directory kt kept, e.g. --disks /tmp/kt-AbC123/vm1');
  const dir = path.resolve(cwd, given);
  if (!fs.existsSync(path.join(dir, 'test.img'))) {
    throw new UsageError('E_SHELL_KEPT_DISK_MISSING', `${printable(given)} holds no test.img: it is not the directory of a kept VM`, 'pass the VM directory kt kept (--keep prints it), e.g. --disks /tmp/kt-AbC123/vm1');
  }
  return dir;
}
