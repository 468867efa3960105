/**
 * The host's facts the run-size decisions need (src/config/runSize.ts), read once before any VM
 * starts: cores, available memory, the open-file limit, vm.max_map_count, free space in TMPDIR.
 * A fact that cannot be read is left out (its check is skipped) rather than guessed.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { HostFacts } from '../config/runSize.js';

/** A "Key:   value kB" field of /proc/meminfo, in MiB. */
export function meminfoMiB(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
  return m ? Math.floor(Number(m[1]) / 1024) : undefined;
}

/** The soft "Max open files" limit of a /proc/<pid>/limits text ("unlimited" is a large number). */
export function openFilesSoftLimit(text: string): number | undefined {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
}

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export function readHostFacts(): HostFacts {
  const tmpDir = os.tmpdir();
  const meminfo = read('/proc/meminfo');
  const mapCount = Number(read('/proc/sys/vm/max_map_count')?.trim());
  let tmpFreeBytes: number | undefined;
  try {
    const st = fs.statfsSync(tmpDir);
    tmpFreeBytes = st.bavail * st.bsize;
  } catch {
    tmpFreeBytes = undefined;
  }
  return {
    cores: os.availableParallelism(),
    // Without /proc/meminfo (not Linux): what Node reports as free.
    memAvailableMiB: (meminfo ? meminfoMiB(meminfo, 'MemAvailable') : undefined) ?? Math.floor(os.freemem() / 1024 ** 2),
    openFilesLimit: openFilesSoftLimit(read('/proc/self/limits') ?? '') ?? Number.MAX_SAFE_INTEGER,
    ...(Number.isInteger(mapCount) && mapCount > 0 ? { maxMapCount: mapCount } : {}),
    ...(tmpFreeBytes !== undefined ? { tmpFreeBytes } : {}),
    tmpDir,
  };
}
