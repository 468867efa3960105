/**
 * A writer for the "newc" cpio format, the one the kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst). Written here so building an
 * image needs no host `cpio`, and so every entry is owned by root whoever builds it.
 */

import path from 'node:path';

/** One archive member. Parents must come before their children: the kernel does not create them. */
export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Uint8Array; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number; mode?: number };

// File type bits of st_mode (<sys/stat.h>).
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

const MAGIC = '070701'; // newc, no checksum
const TRAILER = 'TRAILER!!!';

function hex8(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`cpio: field value ${value} does not fit in 32 bits`);
  }
  return value.toString(16).padStart(8, '0');
}

/** Pads to the 4-byte alignment newc requires after the header+name and after the data. */
function padding(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

interface Member {
  name: string;
  mode: number;
  nlink: number;
  data: Uint8Array;
  rdevMajor: number;
  rdevMinor: number;
}

function toMember(entry: CpioEntry): Member {
  // Archive names are relative ("bin/sh"), as the kernel and cpio(1) expect.
  const name = entry.path.replace(/^\/+/, '');
  if (name === '' || name.split('/').includes('..')) {
    throw new Error(`cpio: invalid path ${JSON.stringify(entry.path)}`);
  }
  const base = { name, rdevMajor: 0, rdevMinor: 0 };
  switch (entry.kind) {
    case 'dir':
      return { ...base, mode: S_IFDIR | (entry.mode ?? 0o755), nlink: 2, data: new Uint8Array() };
    case 'file':
      return { ...base, mode: S_IFREG | (entry.mode ?? 0o644), nlink: 1, data: entry.data };
    case 'symlink':
      return { ...base, mode: S_IFLNK | 0o777, nlink: 1, data: Buffer.from(entry.target) };
    case 'chardev':
      return {
        ...base,
        mode: S_IFCHR | (entry.mode ?? 0o600),
        nlink: 1,
        data: new Uint8Array(),
        rdevMajor: entry.major,
        rdevMinor: entry.minor,
      };
  }
}

function encodeMember(m: Member, ino: number): Buffer[] {
  const nameBytes = Buffer.from(`${m.name}\0`);
  const header = [
    MAGIC,
    hex8(ino),
    hex8(m.mode),
    hex8(0), // uid: root
    hex8(0), // gid: root
    hex8(m.nlink),
    hex8(0), // mtime: fixed, so equal inputs give equal archives
    hex8(m.data.length),
    hex8(0), // devmajor
    hex8(0), // devminor
    hex8(m.rdevMajor),
    hex8(m.rdevMinor),
    hex8(nameBytes.length),
    hex8(0), // check (only used by the "crc" format 070702)
  ].join('');
  const head = Buffer.concat([Buffer.from(header, 'ascii'), nameBytes]);
  return [head, padding(head.length), Buffer.from(m.data), padding(m.data.length)];
}

/** Serialises entries, in order, into an uncompressed newc archive with its trailer. */
export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  const seen = new Set<string>();
  const chunks: Buffer[] = [];
  entries.forEach((entry, index) => {
    const member = toMember(entry);
    if (seen.has(member.name)) throw new Error(`cpio: duplicate path ${member.name}`);
    seen.add(member.name);
    const parent = member.name.includes('/') ? member.name.slice(0, member.name.lastIndexOf('/')) : '';
    if (parent !== '' && !seen.has(parent)) {
      throw new Error(`cpio: ${member.name} comes before its directory ${parent}`);
    }
    chunks.push(...encodeMember(member, index + 1));
  });
  const trailer = { name: TRAILER, mode: 0, nlink: 1, data: new Uint8Array(), rdevMajor: 0, rdevMinor: 0 };
  chunks.push(...encodeMember(trailer, 0));
  return Buffer.concat(chunks);
}

/**
 * A directory adder for an archive being listed: adds `dir` and every missing parent, parents
 * first (the kernel's initramfs unpacker creates nothing implicitly: init/initramfs.c), each once.
 */
export function directoryAdder(entries: CpioEntry[]): (dir: string) => void {
  const dirs = new Set<string>();
  const addDir = (dir: string): void => {
    if (dir === '' || dir === '.' || dirs.has(dir)) return;
    addDir(path.posix.dirname(dir));
    dirs.add(dir);
    entries.push({ kind: 'dir', path: dir });
  };
  return addDir;
}
