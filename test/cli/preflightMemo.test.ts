import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { preflightMemo, preflightMemoPath } from '../../src/cli/preflightMemo.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-memo-'));
  dirs.push(d);
  return d;
};

describe('preflightMemo', () => {
  it('is keyed by the image hash and the fstests tree hash of the fstests image name', () => {
    expect(preflightMemoPath('/c', '3f3685bb46fb1fc7', '/c/fstests/9a8b7c6d5e4f3a2b.img')).toBe('/c/preflight/3f3685bb46fb1fc7-9a8b7c6d5e4f3a2b');
  });

  it('passes once remembered, for that image and tree only', () => {
    const cache = tmp();
    const memo = preflightMemo(cache, 'img1', path.join(cache, 'fstests', 'tree1.img'));
    expect(memo.passed()).toBe(false);
    memo.remember();
    expect(memo.passed()).toBe(true);
    expect(preflightMemo(cache, 'img1', path.join(cache, 'fstests', 'tree1.img')).passed()).toBe(true);
    expect(preflightMemo(cache, 'img2', path.join(cache, 'fstests', 'tree1.img')).passed()).toBe(false);
    expect(preflightMemo(cache, 'img1', path.join(cache, 'fstests', 'tree2.img')).passed()).toBe(false);
  });

  it('never throws when the cache cannot be written: the next run runs the preflight again', () => {
    const cache = tmp();
    const blocked = path.join(cache, 'file');
    fs.writeFileSync(blocked, '');
    const memo = preflightMemo(blocked, 'img1', 'tree1.img');
    expect(() => memo.remember()).not.toThrow();
    expect(memo.passed()).toBe(false);
  });
});
