/**
 * A VM's disks on the host (src/vm/prepareHost.ts) and the copies of TEST_DEV made once
 * (src/vm/diskCopy.ts), on real files: sparse, whole, never over a file kt did not make.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keepCopy } from '../../src/vm/diskCopy.js';
import { prepareHost } from '../../src/vm/prepareHost.js';
import { resolveVmSpec } from '../../src/vm/spec.js';
import { baseVmOptions } from './vmOptions.js';

const SIZE = 64 * 2 ** 20;
let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-disks-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A sparse file of `size` with `data` at 1 MiB, as a filesystem just made leaves a disk: a few blocks of data in holes. */
function sparseWith(file: string, size: number, data: string): void {
  const fd = fs.openSync(file, 'w');
  fs.ftruncateSync(fd, size);
  fs.writeSync(fd, data, 2 ** 20);
  fs.closeSync(fd);
}

const specWith = (testTemplate?: string) =>
  resolveVmSpec({ ...baseVmOptions, baseDir: tmp, testSizeBytes: SIZE, scratchSizeBytes: SIZE, ...(testTemplate ? { testTemplate } : {}) });
const allocated = (file: string) => fs.statSync(file).blocks * 512;
/** Byte for byte (toEqual's diff of two 64 MiB buffers would not end). */
const sameBytes = (a: string, b: string) => fs.readFileSync(a).equals(fs.readFileSync(b));

describe('prepareHost', () => {
  it('makes TEST and SCRATCH empty and sparse, 0600, and says no disk began as a template', async () => {
    const spec = specWith();
    const host = await prepareHost(spec);
    for (const serial of ['test', 'scratch']) {
      const file = spec.disks.find((d) => d.serial === serial)!.path;
      expect(fs.statSync(file).size).toBe(SIZE);
      expect(allocated(file)).toBe(0);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    }
    expect(host.fromTemplate).toBeUndefined();
    await host.dispose();
    expect(fs.existsSync(spec.dir)).toBe(false);
  });

  it('starts TEST as a sparse copy of its template and says so; SCRATCH stays empty', async () => {
    const template = path.join(tmp, 'template.img');
    sparseWith(template, SIZE, 'XFSB-made-once');
    const spec = specWith(template);
    const host = await prepareHost(spec);
    const test = spec.disks.find((d) => d.serial === 'test')!.path;
    expect(host.fromTemplate).toEqual({ test: template });
    expect(sameBytes(test, template)).toBe(true);
    // A copy of what the template holds, not of its size (reflink or SEEK_DATA: a few blocks).
    expect(allocated(test)).toBeLessThan(2 ** 20);
    expect(fs.statSync(test).mode & 0o777).toBe(0o600);
    expect(allocated(spec.disks.find((d) => d.serial === 'scratch')!.path)).toBe(0);
    await host.dispose();
    expect(fs.readFileSync(template, 'latin1').slice(2 ** 20, 2 ** 20 + 14)).toBe('XFSB-made-once');
  });

  it('makes TEST empty when its template is missing or of another size (another --test-size)', async () => {
    const other = path.join(tmp, 'other-size.img');
    sparseWith(other, SIZE / 2, 'XFSB');
    for (const template of [path.join(tmp, 'missing.img'), other]) {
      const spec = specWith(template);
      const host = await prepareHost(spec);
      const test = spec.disks.find((d) => d.serial === 'test')!.path;
      expect(host.fromTemplate).toBeUndefined();
      expect(fs.statSync(test).size).toBe(SIZE);
      expect(allocated(test)).toBe(0);
      await host.dispose();
    }
  });

  it('never writes over a file at a disk path it did not make', async () => {
    const template = path.join(tmp, 'template.img');
    sparseWith(template, SIZE, 'XFSB');
    const spec = specWith(template);
    fs.mkdirSync(spec.dir, { recursive: true });
    const test = spec.disks.find((d) => d.serial === 'test')!.path;
    fs.writeFileSync(test, 'a file of the user');
    await expect(prepareHost(spec)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.readFileSync(test, 'utf8')).toBe('a file of the user');
  });
});

describe('keepCopy', () => {
  it('writes the copy whole under the destination, making its directory, and replaces an older copy', async () => {
    const disk = path.join(tmp, 'test.img');
    sparseWith(disk, SIZE, 'first');
    const dest = path.join(tmp, 'cache', 'test-dev', 't.img');
    await keepCopy(disk, dest);
    expect(sameBytes(dest, disk)).toBe(true);
    expect(allocated(dest)).toBeLessThan(2 ** 20);
    sparseWith(disk, SIZE, 'second');
    await keepCopy(disk, dest);
    expect(fs.readFileSync(dest, 'latin1').slice(2 ** 20, 2 ** 20 + 6)).toBe('second');
    expect(fs.readdirSync(path.dirname(dest))).toEqual(['t.img']);
  });

  it('leaves nothing behind when the copy fails', async () => {
    const dest = path.join(tmp, 'cache', 't.img');
    await expect(keepCopy(path.join(tmp, 'no-such-disk.img'), dest)).rejects.toThrow(/no-such-disk/);
    expect(fs.readdirSync(path.dirname(dest))).toEqual([]);
  });
});
