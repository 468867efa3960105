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
// Two builds of one recipe: the same hash, another host key (guest/mmdebstrap/customize-hook.sh).
const build1 = { hash: '3f3685bb46fb1fc7', sshHostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne kt-guest' };
const build2 = { hash: '3f3685bb46fb1fc7', sshHostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwo kt-guest' };

describe('preflightMemo', () => {
  it('is keyed by the image recipe, the image build and the fstests tree hash of the fstests image name', () => {
    expect(preflightMemoPath('/c', build1, '/c/fstests/9a8b7c6d5e4f3a2b.img')).toMatch(/^\/c\/preflight\/3f3685bb46fb1fc7-[0-9a-f]{8}-9a8b7c6d5e4f3a2b$/);
    expect(preflightMemoPath('/c', build1, '/c/fstests/9a8b7c6d5e4f3a2b.img')).not.toBe(preflightMemoPath('/c', build2, '/c/fstests/9a8b7c6d5e4f3a2b.img'));
  });

  it('passes once remembered, for that image build and tree only', () => {
    const cache = tmp();
    const tree1 = path.join(cache, 'fstests', 'tree1.img');
    const memo = preflightMemo(cache, build1, tree1);
    expect(memo.passed()).toBe(false);
    memo.remember();
    expect(memo.passed()).toBe(true);
    expect(preflightMemo(cache, build1, tree1).passed()).toBe(true);
    expect(preflightMemo(cache, build2, tree1).passed()).toBe(false);
    expect(preflightMemo(cache, { ...build1, hash: 'another' }, tree1).passed()).toBe(false);
    expect(preflightMemo(cache, build1, path.join(cache, 'fstests', 'tree2.img')).passed()).toBe(false);
  });

  it('never throws when the cache cannot be written: the next run runs the preflight again', () => {
    const cache = tmp();
    const blocked = path.join(cache, 'file');
    fs.writeFileSync(blocked, '');
    const memo = preflightMemo(blocked, build1, 'tree1.img');
    expect(() => memo.remember()).not.toThrow();
    expect(memo.passed()).toBe(false);
  });
});
