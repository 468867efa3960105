import { describe, expect, it } from 'vitest';
import { titleRecorded } from '../../src/baseline/legacyTitles.js';

describe('titleRecorded', () => {
  const titles = { 'kernel BUG in assfail': 2, 'WARNING in asswarn': 1, 'BUG: soft lockup in xfs_bmapi_write': 1 };
  it('knows a recorded title, and an XFS assertion recorded under the helper kt once named', () => {
    expect(titleRecorded(titles, { title: 'BUG: soft lockup in xfs_bmapi_write' })).toBe(true);
    expect(titleRecorded(titles, { title: 'kernel BUG in xfs_inactive', excerpt: 'RIP: 0010:assfail+0x2c/0x40 [xfs]' })).toBe(true);
    expect(titleRecorded(titles, { title: 'WARNING in xfs_trans_mod_sb', excerpt: 'WARNING: CPU: 1 PID: 4567 at fs/xfs/xfs_message.c:104 asswarn+0x2c/0x40 [xfs]' })).toBe(true);
  });
  it('does not stretch the old title to another kind of crash', () => {
    const assertion = 'RIP: 0010:assfail+0x2c/0x40 [xfs]';
    expect(titleRecorded(titles, { title: 'KASAN: use-after-free Read in xfs_inactive', excerpt: assertion })).toBe(false);
    expect(titleRecorded({ 'kernel BUG in xfs_inactive': 1 }, { title: 'kernel BUG in xfs_bmapi_write', excerpt: assertion })).toBe(false);
    expect(titleRecorded({}, { title: 'kernel BUG in xfs_inactive', excerpt: assertion })).toBe(false);
  });
  it('does not stretch it to a crash of the same kind that is no assertion', () => {
    expect(titleRecorded(titles, { title: 'WARNING in iomap_write_begin', excerpt: 'WARNING: CPU: 0 PID: 9 at fs/iomap/buffered-io.c:600 iomap_write_begin+0x1/0x2' })).toBe(false);
    expect(titleRecorded(titles, { title: 'kernel BUG in xfs_inactive' })).toBe(false);
  });
});
