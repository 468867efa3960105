import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeCpio, type CpioEntry } from '../../../src/vm/image/cpio.js';

const hasBusybox = (() => {
  try {
    execFileSync('busybox', ['true']);
    return true;
  } catch {
    return false;
  }
})();

const entries: CpioEntry[] = [
  { kind: 'dir', path: 'bin' },
  { kind: 'file', path: 'bin/hello', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
  // Sizes 1..4 exercise every amount of padding.
  { kind: 'file', path: 'a', data: Buffer.from('x') },
  { kind: 'file', path: 'ab', data: Buffer.from('xy') },
  { kind: 'file', path: 'abc', data: Buffer.from('xyz') },
  { kind: 'file', path: 'abcd', data: Buffer.from('wxyz') },
  { kind: 'file', path: 'empty', data: new Uint8Array() },
  { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
  { kind: 'dir', path: 'dev' },
  { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
];

describe('writeCpio', () => {
  it('starts with the newc magic and ends with the trailer, 4-byte aligned', () => {
    const archive = writeCpio(entries);
    expect(archive.subarray(0, 6).toString()).toBe('070701');
    expect(archive.includes(Buffer.from('TRAILER!!!\0'))).toBe(true);
    expect(archive.length % 4).toBe(0);
  });

  it.skipIf(!hasBusybox)('lists the members through busybox cpio -t', () => {
    const listing = execFileSync('busybox', ['cpio', '-t'], { input: writeCpio(entries) }).toString();
    expect(listing.trim().split('\n')).toEqual(entries.map((e) => e.path));
  });

  it.skipIf(!hasBusybox)('round-trips contents, modes and symlinks through busybox cpio -i', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-cpio-'));
    try {
      const fileEntries = entries.filter((e) => e.kind !== 'chardev');
      execFileSync('busybox', ['cpio', '-i', '-d'], { input: writeCpio(fileEntries), cwd: dir });
      expect(fs.readFileSync(path.join(dir, 'bin/hello'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
      expect(fs.statSync(path.join(dir, 'bin/hello')).mode & 0o777).toBe(0o755);
      expect(fs.readFileSync(path.join(dir, 'abcd'), 'utf8')).toBe('wxyz');
      expect(fs.readFileSync(path.join(dir, 'empty')).length).toBe(0);
      expect(fs.readlinkSync(path.join(dir, 'bin/sh'))).toBe('busybox');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!hasBusybox)('describes device nodes as character devices owned by root', () => {
    const listing = execFileSync('busybox', ['cpio', '-t', '-v'], { input: writeCpio(entries) }).toString();
    expect(listing).toMatch(/^crw------- 0\/0 .* dev\/console$/m);
  });

  it('rejects a member that comes before its directory', () => {
    expect(() => writeCpio([{ kind: 'file', path: 'etc/passwd', data: new Uint8Array() }])).toThrow(
      'cpio: etc/passwd comes before its directory etc',
    );
  });

  it('rejects duplicates and paths that climb out', () => {
    expect(() => writeCpio([{ kind: 'dir', path: 'a' }, { kind: 'dir', path: '/a' }])).toThrow('duplicate path a');
    expect(() => writeCpio([{ kind: 'dir', path: '../a' }])).toThrow('invalid path');
  });
});
