/**
 * Lists an ext4 image's whole tree with owners and modes, without mounting it (no root, no
 * loop device): debugfs(8) `ls -p` prints `/inode/mode/uid/gid/name/size/` per entry. One
 * debugfs call per directory level, all of that level's `ls` commands in one command file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

export interface Ext4Entry {
  /** Absolute path in the image. */
  path: string;
  /** st_mode in octal, e.g. "104755" for a setuid root program, "40755" for a directory. */
  mode: string;
  uid: number;
  gid: number;
  /** Bytes, for files and symlinks; undefined for directories, whose size ext4 rounds to blocks. */
  size?: number;
}

/** Sections of `debugfs -f` output: `debugfs: ls -p "<dir>"` then its entries. Pure. */
export function parseLsSections(output: string): Map<string, Ext4Entry[]> {
  const sections = new Map<string, Ext4Entry[]>();
  let current: { dir: string; entries: Ext4Entry[] } | undefined;
  for (const line of output.split('\n')) {
    const header = /^debugfs: ls -p "(.*)"$/.exec(line);
    if (header) {
      current = { dir: header[1]!, entries: [] };
      sections.set(current.dir, current.entries);
      continue;
    }
    const m = /^\/(\d+)\/([0-7]+)\/(\d+)\/(\d+)\/(.*)\/(\d*)\/$/.exec(line);
    if (!m || !current) continue;
    const name = m[5]!;
    // lost+found's preallocated blocks list as unused entries: inode 0, no name.
    if (name === '.' || name === '..' || name === '' || m[1] === '0') continue;
    current.entries.push({
      path: path.posix.join(current.dir, name),
      mode: m[2]!.replace(/^0+/, ''),
      uid: Number(m[3]),
      gid: Number(m[4]),
      ...(m[6] ? { size: Number(m[6]) } : {}),
    });
  }
  return sections;
}

/** Every entry of the image but `/` itself, by path. */
export async function listExt4Tree(image: string): Promise<Map<string, Ext4Entry>> {
  const all = new Map<string, Ext4Entry>();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-ext4tree-'));
  try {
    let level = ['/'];
    while (level.length > 0) {
      const cmdFile = path.join(work, 'cmds');
      fs.writeFileSync(cmdFile, level.map((d) => `ls -p "${d}"\n`).join(''));
      const { stdout } = await execa('debugfs', ['-f', cmdFile, image]);
      const next: string[] = [];
      for (const entries of parseLsSections(stdout).values()) {
        for (const e of entries) {
          all.set(e.path, e);
          if (e.mode.startsWith('40')) next.push(e.path);
        }
      }
      level = next;
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return all;
}
