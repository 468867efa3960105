/**
 * A run's private temporary directory, `<TMPDIR>/kt-XXXXXX`: each VM's disk images (sparse, but
 * as large as what the tests wrote), its QMP and ssh sockets. kt removes it when the run ends, on
 * every path it sees (src/cli/runCommand.ts, src/cli/signals.ts); a kt ended by SIGKILL or the
 * OOM killer cannot. Its QEMUs die with it (src/vm/parentDeath.ts), so the directory is garbage
 * from then on, and a CI host that cancels jobs would fill its /tmp with them. The directory
 * therefore names its maker in a file inside (`.kt-owner`: `<pid>@<host>@`, the rule of
 * src/vm/leftovers.ts, and the maker's PID namespace), and the next kt of the same user removes
 * the ones whose maker is gone.
 *
 * Never touched:
 * - a directory without that file: one kept on purpose (`--keep` writes none), one a kt has
 *   just made and not yet marked, one of an older kt;
 * - one made in another PID namespace (a container with the host's name and /tmp, where the
 *   maker's pid means nothing here), or whose pid is alive (or reused: then it waits);
 * - one that is not this user's own real directory, private to them, with a regular file as
 *   its owner file: /tmp is shared, and another user may leave a `kt-XXXXXX` there (a symlink,
 *   a directory others can write into, a FIFO named `.kt-owner` that a plain read would block
 *   on for ever);
 * - one whose disks a `kt shell --disks` boots: the shell adopts it (`adoptKeptDisks`), and it
 *   stays as a `--keep` one does.
 * The name stays `kt-XXXXXX` because every socket path QEMU gets lies under it and a Unix
 * socket path has 108 bytes at most (unix(7)); a host name in it could overflow that.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostError } from '../errors.js';
import { leftBehind, makerTag } from './leftovers.js';

export const OWNER_FILE = '.kt-owner';

/** `kt-` and mkdtemp's six characters: only names of this form are run temp dirs. */
const RUN_TEMP_NAME = /^kt-[A-Za-z0-9]{6}$/;

export interface TempDirEntry {
  name: string;
  /** The owner file's text; undefined when it is missing or not to be trusted. */
  owner?: string;
}

/** This process's PID namespace (`pid:[4026531836]`), '' where /proc cannot say. */
export function pidNamespace(): string {
  try {
    return fs.readlinkSync('/proc/self/ns/pid');
  } catch {
    return '';
  }
}

/** What the owner file says: the maker and its PID namespace. Pure. */
export function ownerText(tag: string, pidNs: string): string {
  return `${tag} ${pidNs}\n`;
}

/** The entries of a temp dir that a kt on this host, in this PID namespace, left when it died. Pure. */
export function leftoverRunTempDirs(
  entries: readonly TempDirEntry[],
  opts: { isAlive?: (pid: number) => boolean; hostname?: string; pidNs?: string } = {},
): string[] {
  const pidNs = opts.pidNs ?? pidNamespace();
  return entries
    .filter((e) => {
      if (!RUN_TEMP_NAME.test(e.name) || e.owner === undefined) return false;
      const [tag, ns] = e.owner.trim().split(/\s+/);
      return tag !== undefined && ns !== undefined && ns !== '' && ns === pidNs && leftBehind(tag, '', opts.isAlive, opts.hostname);
    })
    .map((e) => e.name);
}

/**
 * Makes this run's temp dir in `tmp`, marked as this process's unless `keep` (a kept directory
 * is the user's to look at and remove). The sweep of dead kts' directories
 * (`removeLeftoverRunTempDirs`) runs once per command, before anything is made in `tmp`
 * (src/cli/runCommand.ts prepareRun): a /tmp full of them is the case it is for.
 */
export function makeRunTempDir(opts: { keep: boolean; tmp?: string }): string {
  const tmp = opts.tmp ?? os.tmpdir();
  let dir: string | undefined;
  try {
    dir = fs.mkdtempSync(path.join(tmp, 'kt-'));
    if (!opts.keep) fs.writeFileSync(path.join(dir, OWNER_FILE), ownerText(makerTag(), pidNamespace()));
    return dir;
  } catch (err) {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    const e = err as NodeJS.ErrnoException;
    throw new HostError(
      'E_TMP_WRITE',
      `cannot make the run's temporary directory in ${tmp}: ${e.message}`,
      'it holds the VMs\' disks and sockets: free space there, or point TMPDIR at a writable directory with room',
      { cause: err },
    );
  }
}

/**
 * Makes the run temp dir holding `vmDir` (disks a killed kt left, which `kt shell --disks` is
 * about to boot) a kept one: without its owner file no kt removes it, now or after the shell.
 * Anything else is left as it is: a `--keep` directory, disks copied elsewhere, and the
 * directory of a kt still running (it removes its own at its end; QEMU's lock on its disks
 * stops the shell's boot meanwhile).
 */
export function adoptKeptDisks(vmDir: string): void {
  let top: string;
  try {
    top = path.dirname(fs.realpathSync(vmDir));
  } catch {
    return;
  }
  const owner = readOwner(top);
  if (owner === undefined || leftoverRunTempDirs([{ name: path.basename(top), owner }]).length === 0) return;
  fs.rmSync(path.join(top, OWNER_FILE), { force: true });
}

/** Removes the run temp dirs in `tmp` whose kt is gone; never fails the run. */
export function removeLeftoverRunTempDirs(tmp: string = os.tmpdir()): void {
  let names: string[];
  try {
    names = fs.readdirSync(tmp).filter((n) => RUN_TEMP_NAME.test(n));
  } catch {
    return;
  }
  const entries = names.map((name): TempDirEntry => {
    const owner = readOwner(path.join(tmp, name));
    return owner === undefined ? { name } : { name, owner };
  });
  for (const name of leftoverRunTempDirs(entries)) {
    try {
      fs.rmSync(path.join(tmp, name), { recursive: true, force: true });
    } catch {
      // Whatever stays is no worse than before.
    }
  }
}

/**
 * The owner file of `dir`, when `dir` is this user's own private directory (not a symlink, no
 * one else may write in it) and the file a small regular file of this user: opened without
 * following a link and without blocking on a FIFO.
 */
function readOwner(dir: string): string | undefined {
  const uid = process.getuid?.();
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(dir, { throwIfNoEntry: false });
  } catch {
    return undefined; // EACCES, ESTALE: not one to touch
  }
  if (!st?.isDirectory() || (st.mode & 0o077) !== 0 || (uid !== undefined && st.uid !== uid)) return undefined;
  let fd: number;
  try {
    fd = fs.openSync(path.join(dir, OWNER_FILE), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const f = fs.fstatSync(fd);
    if (!f.isFile() || (uid !== undefined && f.uid !== uid) || f.size > 4096) return undefined;
    return fs.readFileSync(fd, 'utf8');
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}
