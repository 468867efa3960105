import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireBuildLock } from '../../../src/vm/image/buildLock.js';

describe('acquireBuildLock', () => {
  let dir: string;
  let lockPath: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-lock-'));
    lockPath = path.join(dir, 'h.lock');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes its holder into the lock and removes it on release', async () => {
    const lock = await acquireBuildLock(lockPath);
    expect(JSON.parse(fs.readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: process.pid, host: os.hostname() });
    await lock.release();
    await lock.release();
    expect(fs.existsSync(lockPath)).toBe(false);
  });

  it('makes a second taker wait until the first releases', async () => {
    const first = await acquireBuildLock(lockPath);
    const waited: number[] = [];
    let secondHas = false;
    const second = acquireBuildLock(lockPath, { pollMs: 10, onWait: (h) => waited.push(h.pid) }).then((l) => {
      secondHas = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 60));
    expect(secondHas).toBe(false);
    expect(waited).toEqual([process.pid]);
    await first.release();
    await (await second).release();
    expect(secondHas).toBe(true);
  });

  it('takes over a lock whose holder died on this host', async () => {
    fs.writeFileSync(lockPath, JSON.stringify({ pid: 999_999_999, host: os.hostname(), since: 'x' }));
    const lock = await acquireBuildLock(lockPath, { pollMs: 10, isAlive: () => false });
    expect(JSON.parse(fs.readFileSync(lockPath, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('never takes over a lock held from another host', async () => {
    fs.writeFileSync(lockPath, JSON.stringify({ pid: 1, host: 'elsewhere', since: 'x' }));
    const controller = new AbortController();
    const pending = acquireBuildLock(lockPath, { pollMs: 10, isAlive: () => false, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('gave up')), 50);
    await expect(pending).rejects.toThrow('gave up');
  });
});
