import { describe, expect, it } from 'vitest';
import { strayWarnings } from '../../src/runner/plan.js';

describe('strayWarnings', () => {
  it('says one line per filesystem, names at most three tests, and offers -c only for a filesystem kt has sections of', () => {
    expect(
      strayWarnings([
        { section: 'xfs/4k', fstyp: 'xfs', tests: ['btrfs/001', 'btrfs/002', 'btrfs/003', 'btrfs/004', 'overlay/001'] },
        { section: 'xfs/1k', fstyp: 'xfs', tests: ['btrfs/001'] },
        { section: 'xfs/rt', fstyp: 'xfs', tests: [] },
      ]),
    ).toEqual([
      'btrfs/001, btrfs/002, btrfs/003 and 1 more: written for btrfs, run in sections xfs/4k (FSTYP=xfs), xfs/1k (FSTYP=xfs) as check would run them, where they are likely to fail; add a section of FSTYP=btrfs (-c) to run them there',
      'overlay/001: written for overlay, run in section xfs/4k (FSTYP=xfs) as check would run it, where it is likely to fail; kt has no sections of FSTYP=overlay',
    ]);
    expect(strayWarnings([{ section: 'xfs/4k', fstyp: 'xfs', tests: [] }])).toEqual([]);
  });
});
