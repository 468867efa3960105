/**
 * Deleting a build directory safely. mmdebstrap in root mode bind-mounts host /dev nodes and
 * rbind-mounts /sys into the chroot while it runs (mmdebstrap, setup_mounts); after a kill they
 * can stay mounted, and a recursive delete would then reach into the host's /dev and /sys.
 */
import fs from 'node:fs/promises';
import { execa } from 'execa';
import type { ToolRunner } from './toolRunner.js';

/** Mount points strictly below dir, deepest first, from /proc/self/mountinfo (proc(5)). Pure. */
export function mountsBelow(mountinfo: string, dir: string): string[] {
  const prefix = `${dir.replace(/\/+$/, '')}/`;
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
  return mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mp): mp is string => mp !== undefined)
    .map(unescape)
    .filter((mp) => mp.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

async function currentMountsBelow(dir: string): Promise<string[]> {
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return mountsBelow(text, await fs.realpath(dir).catch(() => dir));
}

/**
 * Unmounts what is left below dir, then deletes it. Refuses to delete while anything stays
 * mounted. A rootless build's tree belongs to the user's subordinate ids, which only the root of
 * its user namespace may delete: `runner` runs that `rm` (toolRunner.ts). mmdebstrap's mounts
 * of a rootless build live in its own mount namespace and end with it.
 */
export async function removeBuildDir(dir: string, runner?: Pick<ToolRunner, 'mode' | 'output'>): Promise<void> {
  for (const mp of await currentMountsBelow(dir)) {
    await execa('umount', ['--recursive', '--lazy', mp], { reject: false });
  }
  const left = await currentMountsBelow(dir);
  if (left.length > 0) {
    throw new Error(`refusing to delete ${dir}: still mounted below it: ${left.join(', ')}`);
  }
  if (runner && runner.mode === 'unshare') {
    await runner.output('rm', ['-rf', '--one-file-system', '--', dir]);
    return;
  }
  await fs.rm(dir, { recursive: true, force: true });
}
