import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rootImageSizeBytes, treeBlocksFindArgs, treeBytesFromFind } from '../../../src/vm/image/rootImage.js';

describe('treeBytesFromFind', () => {
  it('sums what real find prints: the allocated blocks of every entry below the directory', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-tree-'));
    try {
      fs.mkdirSync(path.join(dir, 'etc/ssh'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'etc/ssh/big'), Buffer.alloc(100_000, 1));
      fs.writeFileSync(path.join(dir, 'small'), 'x');
      fs.symlinkSync('etc', path.join(dir, 'link'));
      // A sparse file costs only what it stores, as in the image.
      fs.writeFileSync(path.join(dir, 'sparse'), '');
      fs.truncateSync(path.join(dir, 'sparse'), 50_000_000);
      let expected = 0;
      const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const st = fs.lstatSync(path.join(d, e.name));
          expected += st.blocks * 512;
          if (e.isDirectory()) walk(path.join(d, e.name));
        }
      };
      walk(dir);
      const output = execFileSync('find', treeBlocksFindArgs(dir), { encoding: 'utf8' });
      expect(output.trim().split('\n')).toHaveLength(6);
      expect(treeBytesFromFind(output)).toBe(expected);
      expect(expected).toBeLessThan(1_000_000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses output that is not one block count a line', () => {
    expect(() => treeBytesFromFind('8\nfind: /x: Permission denied\n')).toThrow('find printed "find: /x: Permission denied" where a block count belongs');
  });
});

describe('rootImageSizeBytes', () => {
  it('adds 20 % and 1 GiB, rounded up to MiB', () => {
    expect(rootImageSizeBytes(407 * 2 ** 20)).toBe(1513 * 2 ** 20);
  });
});
