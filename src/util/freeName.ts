import fs from 'node:fs';

/**
 * `base` when nothing is there, else `base.1`, `base.2`, …: the first free name. A backup never
 * replaces an earlier one, which may hold the only copy of what the user had.
 */
export function freeName(base: string): string {
  if (!exists(base)) return base;
  for (let i = 1; ; i++) {
    const candidate = `${base}.${i}`;
    if (!exists(candidate)) return candidate;
  }
}

/** lstat, not stat: a dangling symlink occupies its name too. */
function exists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}
