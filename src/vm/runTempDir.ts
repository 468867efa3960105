/**
 * A run's private temporary directory, `<TMPDIR>/kt-XXXXXX`: each VM's disk images (sparse, but
 * as large as what the tests wrote), its QMP and ssh sockets. kt removes it when the run ends, on
 * every path it sees (src/cli/runCommand.ts, src/cli/signals.ts); a kt ended by SIGKILL or the
 * OOM killer cannot. Its QEMUs die with it (src/vm/parentDeath.ts), so the directory is garbage
 * from then on, and a CI host that cancels jobs would fill its /tmp with them. The directory
 * therefore names its maker in a file inside (`.kt-owner`, `<pid>@<host>@`, the rule of
 * src/vm/leftovers.ts), and the next kt of the same user removes the ones whose maker is gone.
 *
 * A directory without that file is never touched: one kept on purpose (`--keep` writes none),
 * one a kt has just made and not yet marked, one of an older kt, another user's (unreadable).
 * The name stays `kt-XXXXXX` because every socket path QEMU gets lies under it and a Unix
 * socket path has 108 bytes at most (unix(7)); a host name in it could overflow that.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isProcessAlive } from './image/buildLock.js';
import { leftBehind, makerTag } from './leftovers.js';

export const OWNER_FILE = '.kt-owner';

/** `kt-` and mkdtemp's six characters: only names of this form are run temp dirs. */
const RUN_TEMP_NAME = /^kt-[A-Za-z0-9]{6}$/;

export interface TempDirEntry {
  name: string;
  /** The owner file's text; undefined when it is missing or unreadable. */
  owner?: string;
}

/** The entries of a temp dir that a kt on this host left behind when it died. Pure. */
export function leftoverRunTempDirs(entries: readonly TempDirEntry[], isAlive: (pid: number) => boolean = isProcessAlive, hostname: string = os.hostname()): string[] {
  return entries
    .filter((e) => RUN_TEMP_NAME.test(e.name) && e.owner !== undefined && leftBehind(e.owner.trim(), '', isAlive, hostname))
    .map((e) => e.name);
}

/**
 * Makes this run's temp dir under `tmp`, marked as this process's unless `keep` (a kept
 * directory is the user's to look at and remove), then removes what dead kts left there.
 */
export function makeRunTempDir(opts: { keep: boolean; tmp?: string }): string {
  const tmp = opts.tmp ?? os.tmpdir();
  const dir = fs.mkdtempSync(path.join(tmp, 'kt-'));
  if (!opts.keep) fs.writeFileSync(path.join(dir, OWNER_FILE), `${makerTag()}\n`);
  removeLeftoverRunTempDirs(tmp);
  return dir;
}

/** Removes the run temp dirs in `tmp` whose kt is gone; never fails the run. */
export function removeLeftoverRunTempDirs(tmp: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(tmp).filter((n) => RUN_TEMP_NAME.test(n));
  } catch {
    return;
  }
  const entries = names.map((name): TempDirEntry => {
    try {
      return { name, owner: fs.readFileSync(path.join(tmp, name, OWNER_FILE), 'utf8') };
    } catch {
      return { name };
    }
  });
  for (const name of leftoverRunTempDirs(entries)) {
    try {
      fs.rmSync(path.join(tmp, name), { recursive: true, force: true });
    } catch {
      // A sticky /tmp lets only the owner remove it; whatever stays is no worse than before.
    }
  }
}
