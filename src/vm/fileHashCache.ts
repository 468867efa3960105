/**
 * SHA-256 of files, remembered across runs by (dev, ino, size, mtime, ctime) so an unchanged
 * fstests tree costs a stat walk, not a read of every byte.
 *
 * Why that key is sound: any write to a file, and any chmod, chown, rename or utimes() on it,
 * sets its ctime to the current time (inode(7), "Last status change timestamp"), and no system
 * call sets ctime to a chosen value: `touch -r`/utimes() restore mtime, never ctime. A new file
 * at the same path has another inode or a new ctime. The one gap is timestamp granularity
 * (git's "racy git" problem, Documentation/technical/racy-git.txt): a change within the same
 * clock tick as the hashing leaves ctime as it was. So a hash is only remembered when the
 * file's ctime and mtime are RACY_MARGIN_MS older than the start of the walk; younger files
 * are read again next time.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Wider than any local filesystem's timestamp granularity (ext4/xfs: ns; FAT: 2 s). */
const RACY_MARGIN_MS = 3_000;
const FORMAT_VERSION = 1;
const READ_CHUNK = 1 << 20;

/** [dev, ino, size, mtimeNs, ctimeNs] as decimal strings, then the hex SHA-256. */
type Entry = [string, string, string, string, string, string];

interface CacheFile {
  version: number;
  root: string;
  files: Record<string, Entry>;
}

function statKey(st: fs.BigIntStats): Entry {
  return [String(st.dev), String(st.ino), String(st.size), String(st.mtimeNs), String(st.ctimeNs), ''];
}

function sameFile(a: Entry, b: Entry): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3] && a[4] === b[4];
}

function isEntry(v: unknown): v is Entry {
  return Array.isArray(v) && v.length === 6 && v.every((x) => typeof x === 'string') && /^[0-9a-f]{64}$/.test(v[5] as string);
}

/** SHA-256 of a file's bytes, read in chunks (fstests trees may hold large binaries). */
export function sha256File(file: string): string {
  const hash = crypto.createHash('sha256');
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  const fd = fs.openSync(file, 'r');
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, READ_CHUNK, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

export class FileHashCache {
  private readonly next: Record<string, Entry> = {};
  /** Whether `next` differs from what was loaded (else save() has nothing to write). */
  private changed = false;
  /** Files changed after this instant (ns since the epoch) are not remembered. */
  private readonly settledBeforeNs: bigint;

  private constructor(
    private readonly file: string,
    private readonly root: string,
    private readonly known: Record<string, Entry>,
    nowMs: number,
  ) {
    this.settledBeforeNs = BigInt(nowMs - RACY_MARGIN_MS) * 1_000_000n;
  }

  /**
   * The cache of the tree at `root`, one file per tree in `dir`. A missing, unreadable or
   * foreign file is an empty cache: the cache only ever saves reading, never decides content.
   */
  static load(dir: string, root: string, nowMs = Date.now()): FileHashCache {
    const resolved = path.resolve(root);
    const file = path.join(dir, `${crypto.createHash('sha256').update(resolved).digest('hex').slice(0, 16)}.json`);
    let known: Record<string, Entry> = {};
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<CacheFile>;
      if (parsed.version === FORMAT_VERSION && parsed.root === resolved && parsed.files && typeof parsed.files === 'object') {
        known = Object.fromEntries(Object.entries(parsed.files).filter(([, e]) => isEntry(e)));
      }
    } catch {
      // No cache yet, or a broken one: hash everything.
    }
    return new FileHashCache(file, resolved, known, nowMs);
  }

  /** The file's SHA-256; `read` says whether its bytes were read (false: from the cache). */
  hashOf(abs: string, rel: string, st: fs.BigIntStats): { sha256: string; read: boolean } {
    const key = statKey(st);
    const old = this.known[rel];
    if (old && sameFile(old, key)) {
      this.next[rel] = old;
      return { sha256: old[5], read: false };
    }
    const sha256 = sha256File(abs);
    if (old) this.changed = true;
    if (st.ctimeNs < this.settledBeforeNs && st.mtimeNs < this.settledBeforeNs) {
      key[5] = sha256;
      this.next[rel] = key;
      this.changed = true;
    }
    return { sha256, read: true };
  }

  /** Writes the hashes of the files seen since load (atomically; failures only cost time later). */
  save(): void {
    if (!this.changed && Object.keys(this.next).length === Object.keys(this.known).length) return;
    const body: CacheFile = { version: FORMAT_VERSION, root: this.root, files: this.next };
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.writeFileSync(tmp, JSON.stringify(body));
      fs.renameSync(tmp, this.file);
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  }
}
