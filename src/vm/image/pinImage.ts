/**
 * A run's hold on the image build it started with. `kt image build --rebuild` — or another kt
 * sharing the cache — replaces `<cache>/images/<hash>` by two renames and deletes the old
 * directory (buildImage.ts installBuild). QEMU opens -kernel, -initrd and the root disk by path
 * at every VM's start, and a run starts VMs until its end (spares, replacements after a crash):
 * without a hold its later VMs would boot the new build — another ssh host key, other package
 * versions than the record's — and a VM starting between the two renames would find no image.
 *
 * The hold is a directory of hard links to the build's files, `<cache>/images/.pin-<pid>@<host>@XXXXXX/`
 * (src/vm/leftovers.ts names the maker), removed when the run ends; one a kt killed before its
 * clean-up left is removed by the next run once that pid is gone from this host. Links cost
 * nothing and need the same file system, so the directory sits beside the image. An image kt
 * cannot link (the shared cache of another owner: fs.protected_hardlinks, another file system,
 * a full disk) runs unpinned, and kt says so: the pin guards against a rare event, and is never
 * a reason to fail a run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HostError } from '../../errors.js';
import { IMAGE_VMLINUX } from '../pvh/pvhKernel.js';
import { leftBehind, makerTag } from '../leftovers.js';
import { IMAGE_FILES, imageFilesIn } from './cacheDir.js';
import { readCachedImage, type GuestImage } from './ensureImage.js';

export const PIN_PREFIX = '.pin-';

/** The files of a build a run needs: vmlinux only where the build made one (src/vm/image/pvhExtract.ts). */
const REQUIRED = [IMAGE_FILES.kernel, IMAGE_FILES.initramfs, IMAGE_FILES.rootImage, IMAGE_FILES.manifest] as const;
const OPTIONAL = [IMAGE_VMLINUX] as const;

export interface ImagePin {
  /** The image as the run uses it: its files in the pin directory, or in place when unpinned. */
  image: GuestImage;
  /** The pin directory, absent when the image runs unpinned. */
  dir?: string;
  /** Why the image runs unpinned, for the user. */
  note?: string;
  /** Removes the pin directory (idempotent; the build's own files are untouched). */
  release(): void;
}

/** Pin directories in `imagesDir` that a kt on this host left behind when it died. */
export function leftoverPins(names: readonly string[], isAlive?: (pid: number) => boolean, hostname?: string): string[] {
  return names.filter((n) => n.startsWith(PIN_PREFIX) && leftBehind(n, PIN_PREFIX, isAlive, hostname));
}

type LinkOutcome = { kind: 'pinned'; image: GuestImage } | { kind: 'replaced' } | { kind: 'unpinnable'; why: string };

/** Test seams: called after each file is linked. */
export interface PinHooks {
  onLinked?: (file: string) => void;
}

/**
 * Links every file of the build in `source` into `dir` and reads the pinned image back. The
 * links are made through an open descriptor of the build's directory (/proc/self/fd/N/<file>),
 * so all of them come from that one build even if a rebuild renames another into its place
 * meanwhile. `replaced` when the directory at `source` is no longer the one linked from
 * (installBuild renames a build aside before deleting it, so a build still in place was not
 * being deleted: a file missing from it is not a race); then the caller looks the image up again.
 */
async function linkBuild(source: string, dir: string, hooks: PinHooks): Promise<LinkOutcome> {
  let fd: number;
  try {
    fd = fs.openSync(source, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return code === 'ENOENT' ? { kind: 'replaced' } : { kind: 'unpinnable', why: `cannot open ${source} (${code})` };
  }
  try {
    let failed: string | undefined;
    for (const name of [...REQUIRED, ...OPTIONAL]) {
      try {
        fs.linkSync(`/proc/self/fd/${fd}/${name}`, path.join(dir, name));
        hooks.onLinked?.(name);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? String(err);
        if (code === 'ENOENT' && (OPTIONAL as readonly string[]).includes(name)) continue;
        failed = `cannot link its files into ${path.dirname(dir)} (${code})`;
        break;
      }
    }
    const pinned = failed === undefined ? await readCachedImage(imageFilesIn(dir)) : undefined;
    if (!sameDirectory(fd, source)) return { kind: 'replaced' };
    if (failed !== undefined) return { kind: 'unpinnable', why: failed };
    // The manifest is written last into a finished build, so a build in place reads back.
    if (!pinned) return { kind: 'unpinnable', why: `could not read its linked files back as an image in ${dir}` };
    return { kind: 'pinned', image: pinned };
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether `source` still names the directory open as `fd`. */
function sameDirectory(fd: number, source: string): boolean {
  try {
    const open = fs.fstatSync(fd);
    const now = fs.statSync(source);
    return open.ino === now.ino && open.dev === now.dev;
  } catch {
    return false;
  }
}

/**
 * Holds the build `load` returns (ensureImage) for the run. `load` is asked again when the
 * build it named was replaced before every file was linked: ensureImage then waits on the build
 * lock for a rebuild still going on. `track` learns of the pin directory the moment it exists
 * and when it is removed, so a kt stopped by a signal meanwhile removes it too.
 */
export async function pinImage(
  load: () => Promise<GuestImage>,
  pinsDir: string,
  track?: { add(dir: string): void; delete(dir: string): void },
  hooks: PinHooks = {},
  attempts = 3,
): Promise<ImagePin> {
  removeLeftoverPins(pinsDir);
  let image = await load();
  for (let attempt = 1; ; attempt++) {
    let dir: string;
    try {
      fs.mkdirSync(pinsDir, { recursive: true });
      dir = fs.mkdtempSync(path.join(pinsDir, `${PIN_PREFIX}${makerTag()}`));
    } catch (err) {
      return unpinned(image, `cannot make a directory in ${pinsDir} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    track?.add(dir);
    const release = () => {
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } finally {
        track?.delete(dir);
      }
    };
    let outcome: LinkOutcome;
    try {
      outcome = await linkBuild(image.dir, dir, hooks);
    } catch (err) {
      release();
      throw err;
    }
    if (outcome.kind === 'pinned') return { image: { ...outcome.image, pinnedFrom: image.dir }, dir, release };
    release();
    if (outcome.kind === 'unpinnable') return unpinned(image, outcome.why);
    if (attempt >= attempts) {
      throw new HostError(
        'E_IMAGE_REPLACED',
        `the image ${image.dir} was replaced or removed ${attempts} times while kt linked its files for this run`,
        'let the kt image build or clean-up that keeps replacing it end, then run again',
      );
    }
    image = await load();
  }
}

function unpinned(image: GuestImage, why: string): ImagePin {
  return {
    image,
    note: `the image ${image.dir} is not pinned for this run: kt ${why}; a rebuild of it during the run changes what later VMs boot`,
    release: () => undefined,
  };
}

/** Removes what dead kt processes on this host left in `pinsDir`; never fails the run. */
function removeLeftoverPins(pinsDir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(pinsDir);
  } catch {
    return;
  }
  for (const name of leftoverPins(names)) {
    try {
      fs.rmSync(path.join(pinsDir, name), { recursive: true, force: true });
    } catch {
      // Another user's pin in a shared KT_CACHE_DIR, a read-only cache: theirs to remove.
    }
  }
}
