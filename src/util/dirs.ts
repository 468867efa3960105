/**
 * Directories the user names for output (--results, kt report --out): created one level at a
 * time, and checked without creating anything for a dry run.
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * mkdir -p, one level at a time: Node's recursive mkdir spins forever on some paths whose
 * parent refuses new entries with ENOENT (seen with /proc/<name> on Node 20).
 */
export function makeDirs(dir: string): void {
  const parent = path.dirname(dir);
  if (parent !== dir && !fs.existsSync(parent)) makeDirs(parent);
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * Why `dir` could not be created and written by this user, without creating it: undefined when
 * it could. Checks the directory itself when it exists, else its nearest existing ancestor.
 */
export function whyNotWritable(dir: string): string | undefined {
  let probe = path.resolve(dir);
  for (;;) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(probe);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') return code ?? 'EIO';
    }
    if (stat) {
      if (!stat.isDirectory()) return probe === path.resolve(dir) ? 'ENOTDIR (a file is in the way)' : `ENOTDIR (${probe} is a file)`;
      try {
        fs.accessSync(probe, fs.constants.W_OK | fs.constants.X_OK);
      } catch (err) {
        return (err as NodeJS.ErrnoException).code ?? 'EACCES';
      }
      // /proc and /sys answer access() but refuse new entries.
      if (probe !== path.resolve(dir) && /^\/(proc|sys)(\/|$)/.test(probe)) return 'ENOENT';
      return undefined;
    }
    const parent = path.dirname(probe);
    if (parent === probe) return 'ENOENT';
    probe = parent;
  }
}
