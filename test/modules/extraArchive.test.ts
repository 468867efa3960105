// The extra initramfs archive, read back with the real cpio(1) and gzip(1), and the file names
// guest/init reads from it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXTRA_MODULES_LIST, STAGED_CONF, STAGED_EARLY, extraArchiveEntries, uniqueFileNames } from '../../src/modules/extraArchive.js';
import { extraArchiveGz, writeRunInitramfs } from '../../src/modules/runInitramfs.js';
import { GUEST_DIR } from '../../src/vm/image/guestFiles.js';
import { GUEST_EXTRA_MODULES_DIR, GUEST_EXTRA_MODULES_LIST } from '../../src/modules/load.js';

const inputs = {
  staged: {
    release: '6.1.192-ktmod',
    files: [
      { path: 'modules.dep', data: Buffer.from('kernel/fs/xfs/xfs.ko:\nkernel/drivers/block/virtio_blk.ko:\n') },
      { path: 'kernel/fs/xfs/xfs.ko', data: Buffer.from('xfs') },
      { path: 'kernel/drivers/block/virtio_blk.ko', data: Buffer.from('vblk') },
    ],
    early: ['kernel/drivers/block/virtio_blk.ko'],
  },
  extraModules: [{ name: 'kt_hello', file: 'kt_hello.ko', data: Buffer.from('hello') }],
};

describe('the extra archive', () => {
  it('is a gzip newc archive cpio(1) lists, parents before children', () => {
    const gz = extraArchiveGz(inputs);
    const names = execFileSync('cpio', ['-it', '--quiet'], { input: execFileSync('gzip', ['-dc'], { input: gz }) })
      .toString()
      .trim()
      .split('\n');
    expect(names).toEqual([
      'etc',
      STAGED_CONF,
      STAGED_EARLY,
      'lib',
      'lib/modules',
      'lib/modules/6.1.192-ktmod',
      'lib/modules/6.1.192-ktmod/kernel',
      'lib/modules/6.1.192-ktmod/kernel/drivers',
      'lib/modules/6.1.192-ktmod/kernel/drivers/block',
      'lib/modules/6.1.192-ktmod/kernel/drivers/block/virtio_blk.ko',
      'lib/modules/6.1.192-ktmod/kernel/fs',
      'lib/modules/6.1.192-ktmod/kernel/fs/xfs',
      'lib/modules/6.1.192-ktmod/kernel/fs/xfs/xfs.ko',
      'lib/modules/6.1.192-ktmod/modules.dep',
      'kt-modules',
      'kt-modules/kt_hello.ko',
      EXTRA_MODULES_LIST,
    ]);
  });

  it('tells guest/init the release and the early load order, "name path" per line', () => {
    const text = (p: string) => {
      const e = extraArchiveEntries(inputs).find((x) => x.path === p);
      return e?.kind === 'file' ? Buffer.from(e.data).toString() : undefined;
    };
    expect(text(STAGED_CONF)).toBe('KT_STAGED_RELEASE=6.1.192-ktmod\n');
    expect(text(STAGED_EARLY)).toBe('virtio_blk kernel/drivers/block/virtio_blk.ko\n');
    expect(text(EXTRA_MODULES_LIST)).toBe('kt_hello kt_hello.ko\n');
  });

  it('uses the file names guest/init reads and the paths the load step expects', () => {
    const init = fs.readFileSync(path.join(GUEST_DIR, 'init'), 'utf8');
    for (const f of [STAGED_CONF, STAGED_EARLY, EXTRA_MODULES_LIST]) expect(init).toContain(`/${f}`);
    expect(init).toContain('/kt-modules/.');
    expect(init).toContain(GUEST_EXTRA_MODULES_DIR.replace('/run', '/newroot/run'));
    expect(init).toContain(GUEST_EXTRA_MODULES_LIST.replace('/run', '/newroot/run'));
    expect(init).toContain('KT_STAGED_RELEASE');
  });

  it('is appended to kt\'s initramfs as a second archive, cached by content', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-extra-'));
    try {
      const base = path.join(dir, 'base.cpio.gz');
      fs.writeFileSync(base, execFileSync('gzip', ['-c'], { input: 'base archive' }));
      const gz = extraArchiveGz(inputs);
      const file = writeRunInitramfs(base, gz, path.join(dir, 'cache'));
      expect(fs.readFileSync(file)).toEqual(Buffer.concat([fs.readFileSync(base), gz]));
      expect(writeRunInitramfs(base, gz, path.join(dir, 'cache'))).toBe(file);
      // gzip(1) reads concatenated members as the kernel does: both archives, in order.
      const both = execFileSync('gzip', ['-dc', file]);
      expect(both.subarray(0, 12).toString()).toBe('base archive');
      expect(both.subarray(12, 18).toString()).toBe('070701');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives two modules of the same file name distinct names', () => {
    expect(uniqueFileNames(['/a/x.ko', '/b/x.ko', '/c/y.ko'])).toEqual(['x.ko', 'x-2.ko', 'y.ko']);
  });
});
