import { describe, expect, it } from 'vitest';
import { titleRecorded } from '../../src/baseline/legacyTitles.js';

describe('titleRecorded', () => {
  const titles = { 'kernel BUG in assfail': 2, 'WARNING in asswarn': 1, 'BUG: soft lockup in xfs_bmapi_write': 1 };
  it('knows a recorded title, and an XFS assertion recorded under the helper kt once named', () => {
    expect(titleRecorded(titles, 'BUG: soft lockup in xfs_bmapi_write')).toBe(true);
    expect(titleRecorded(titles, 'kernel BUG in xfs_inactive')).toBe(true);
    expect(titleRecorded(titles, 'WARNING in xfs_trans_mod_sb')).toBe(true);
  });
  it('does not stretch the old title to another kind of crash', () => {
    expect(titleRecorded(titles, 'KASAN: use-after-free Read in xfs_inactive')).toBe(false);
    expect(titleRecorded({ 'kernel BUG in xfs_inactive': 1 }, 'kernel BUG in xfs_bmapi_write')).toBe(false);
    expect(titleRecorded({}, 'kernel BUG in xfs_inactive')).toBe(false);
  });
});
