/**
 * A build tool left running by a kt that was SIGKILLed. Build tools run in their own process
 * group (buildImage.ts), whose id is written into the build directory; before an interrupted
 * build's directory is deleted, that group is stopped, or it would keep writing into it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** File in a build directory holding the process group id of the running build tool. */
export const TOOL_PGID_FILE = 'tool.pgid';

/** Programs whose process groups we may stop: guards against a recycled pid. */
const BUILD_TOOLS = ['mmdebstrap', 'mke2fs'];

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function isBuildTool(pid: number): Promise<boolean> {
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.split('\0').some((arg) => BUILD_TOOLS.includes(path.basename(arg)));
}

/** Stops the recorded tool group of an interrupted build, if it still runs: TERM, then KILL. */
export async function stopOrphanedTool(buildDir: string, graceMs = 30_000): Promise<boolean> {
  const text = await fs.readFile(path.join(buildDir, TOOL_PGID_FILE), 'utf8').catch(() => '');
  const pgid = Number.parseInt(text, 10);
  if (!Number.isInteger(pgid) || pgid <= 1 || !groupAlive(pgid) || !(await isBuildTool(pgid))) return false;
  process.kill(-pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(200);
  if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
  while (groupAlive(pgid)) await sleep(100);
  return true;
}
