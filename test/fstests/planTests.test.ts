/**
 * planTests over the real group lists of fstests v2026.01.27, checked against what the real
 * check printed (`check -n -g quick`, the runs' test order) and the counts in docs/fstests.md §1.4.
 */
import { describe, expect, test } from 'vitest';
import { parseCheckOutput } from '../../src/fstests/checkOutputParser.js';
import { parseExcludeFile } from '../../src/fstests/excludeFile.js';
import { planTests, type PlanRequest } from '../../src/fstests/planTests.js';
import { errorOf, readSample, sampleTree } from './helpers.js';

const tree = sampleTree();
const plan = (req: Omit<PlanRequest, 'tree'>) => planTests({ tree, ...req });


describe('groups, as real check selects them', () => {
  test('FSTYP=xfs -g quick is exactly the 993 tests of the real `check -n -g quick`, in order', () => {
    const listing = readSample('pass-three-real-tests', 'check-n-g-quick.txt');
    const listed = parseCheckOutput(listing).events.flatMap((e) => (e.type === 'test-start' ? [e.test] : []));
    expect(listed).toHaveLength(993);
    const quick = plan({ fstyp: 'xfs', groups: ['quick'] });
    expect(quick).toEqual({ tests: listed, expunged: [] });
    expect(quick.tests.filter((t) => t.startsWith('generic/'))).toHaveLength(633);
  });

  test.each([
    // docs/fstests.md §1.4: counts computed from group.list and equal to the in-VM listing.
    ['auto', 777 + 471],
    ['all', 787 + 784],
    ['dangerous', 3],
    ['stress', 33 + 10],
    ['recoveryloop', 10 + 3],
    ['unreliable_in_parallel', 2 + 9],
  ])('FSTYP=xfs -g %s selects %i tests', (group, count) => {
    expect(plan({ fstyp: 'xfs', groups: [group] }).tests).toHaveLength(count);
  });

  test('no tests and no groups means -g auto', () => {
    expect(plan({ fstyp: 'xfs' })).toEqual(plan({ fstyp: 'xfs', groups: ['auto'] }));
  });

  test('dir/group restricts to one directory; commas split groups', () => {
    expect(plan({ fstyp: 'xfs', groups: ['selftest/selftest'] }).tests).toEqual([
      'selftest/001',
      'selftest/002',
      'selftest/003',
      'selftest/004',
      'selftest/007',
    ]);
    const xfsQuick = plan({ fstyp: 'xfs', groups: ['xfs/quick'] }).tests;
    expect(xfsQuick).toHaveLength(360);
    expect(xfsQuick.every((t) => t.startsWith('xfs/'))).toBe(true);
    expect(plan({ fstyp: 'xfs', groups: ['selftest/selftest,selftest/dangerous_selftest'] }).tests).toHaveLength(7);
  });

  test('ext2 and ext3 use the ext4 directory', () => {
    const ext4 = plan({ fstyp: 'ext4', groups: ['quick'] }).tests;
    expect(plan({ fstyp: 'ext3', groups: ['quick'] }).tests).toEqual(ext4);
    expect(ext4.some((t) => t.startsWith('ext4/'))).toBe(true);
    expect(ext4.some((t) => t.startsWith('xfs/'))).toBe(false);
  });

  test('-x removes members; sort is byte order, deduplicated', () => {
    const auto = plan({ fstyp: 'xfs', groups: ['auto'] }).tests;
    const noQuick = plan({ fstyp: 'xfs', groups: ['auto', 'auto'], excludeGroups: ['quick'] }).tests;
    const quick = new Set(plan({ fstyp: 'xfs', groups: ['quick'] }).tests);
    expect(noQuick).toEqual(auto.filter((t) => !quick.has(t)));
    expect([...noQuick].sort()).toEqual(noQuick);
  });
});

describe('explicit tests', () => {
  test('run A: -e selftest/007 -g selftest/selftest generic/455 gives the order the real run printed', () => {
    const p = plan({
      fstyp: 'xfs',
      groups: ['selftest/selftest'],
      tests: ['generic/455'],
      expungeLines: ['selftest/007'],
    });
    expect(p).toEqual({
      tests: ['generic/455', 'selftest/001', 'selftest/002', 'selftest/003', 'selftest/004'],
      expunged: ['selftest/007'],
    });
    const printed = parseCheckOutput(readSample('selftests-fail-notrun-dmesg-expunge', 'check-stdout.txt'))
      .events.flatMap((e) => (e.type === 'test-start' ? [e.test] : []));
    // selftest/900 and 901 were added in the guest for that run; the sample group list predates them.
    const known = printed.filter((t) => t !== 'selftest/900' && t !== 'selftest/901');
    expect(known).toEqual([...p.tests, ...p.expunged].sort());
  });

  test('run C: explicit tests are sorted (004 before 005), unless --exact-order', () => {
    const tests = ['selftest/001', 'selftest/005', 'selftest/004'];
    expect(plan({ fstyp: 'xfs', tests }).tests).toEqual(['selftest/001', 'selftest/004', 'selftest/005']);
    expect(plan({ fstyp: 'xfs', tests: [...tests, 'selftest/001'], exactOrder: true }).tests).toEqual([
      ...tests,
      'selftest/001',
    ]);
  });

  test('globs are matched in tests/, and a tests/ prefix is accepted', () => {
    expect(plan({ fstyp: 'xfs', tests: ['selftest/00[1-3]'] }).tests).toEqual([
      'selftest/001',
      'selftest/002',
      'selftest/003',
    ]);
    expect(plan({ fstyp: 'xfs', tests: ['*/001'] }).tests).toEqual([
      'btrfs/001',
      'ext4/001',
      'generic/001',
      'selftest/001',
      'xfs/001',
    ]);
    expect(plan({ fstyp: 'xfs', tests: ['selftest/*'] }).tests).toHaveLength(7);
    expect(plan({ fstyp: 'xfs', tests: ['tests/xfs/001'] }).tests).toEqual(['xfs/001']);
  });

  test('a 3-digit name stands for an NNN-name test', () => {
    const named = {
      root: '/t',
      dirs: new Map([['btrfs', new Map([['001-send', ['auto']], ['002', ['auto']]])]]),
    };
    expect(planTests({ tree: named, fstyp: 'btrfs', tests: ['btrfs/001'] }).tests).toEqual(['btrfs/001-send']);
  });
});

describe('expunge lines', () => {
  test('-E file lines: comments, trailing text, ^<id>\\b', () => {
    const lines = parseExcludeFile('# flaky\nxfs/001   # hangs\ngeneric/00 \n\nxfs/0031\n  xfs/005 indented\n');
    expect(lines).toEqual(['xfs/001', 'generic/00', 'xfs/0031', 'xfs/005 indented']);
    const p = plan({ fstyp: 'xfs', tests: ['xfs/00?', 'generic/001'], expungeLines: lines });
    // generic/00 is no prefix match of generic/001 (\b), xfs/0031 is not xfs/003.
    expect(p.expunged).toEqual(['xfs/001', 'xfs/005']);
    expect(p.tests).toEqual(['generic/001', 'xfs/002', 'xfs/003', 'xfs/004', 'xfs/006', 'xfs/007', 'xfs/008', 'xfs/009']);
  });
});

describe('-x GROUP that this FSTYP lacks: a warning, as in check, not an error', () => {
  test('an xfs-only group left out of an ext4 plan: the plan unchanged, one warning naming -x, the group and FSTYP', () => {
    // growfs is a group of tests/xfs only (the real group lists).
    const xfs = plan({ fstyp: 'xfs', groups: ['auto'], excludeGroups: ['growfs'] });
    expect(xfs.warnings).toBeUndefined();
    expect(xfs.tests.length).toBeLessThan(plan({ fstyp: 'xfs', groups: ['auto'] }).tests.length);
    const ext4 = plan({ fstyp: 'ext4', groups: ['auto'], excludeGroups: ['growfs'] });
    expect(ext4.tests).toEqual(plan({ fstyp: 'ext4', groups: ['auto'] }).tests);
    expect(ext4.warnings).toEqual(['-x growfs: group "growfs" is empty or not defined for FSTYP=ext4; nothing left out for it']);
  });

  test('a misspelt -x group and a dir/group of a missing directory warn too; the known ones still apply', () => {
    const p = plan({ fstyp: 'xfs', groups: ['quick'], excludeGroups: ['stres,nfs/quick', 'dangerous'] });
    expect(p.warnings).toEqual([
      '-x stres: group "stres" is empty or not defined for FSTYP=xfs; nothing left out for it',
      '-x nfs/quick: group "nfs/quick" is empty or not defined for FSTYP=xfs; nothing left out for it',
    ]);
    expect(p.tests).toEqual(plan({ fstyp: 'xfs', groups: ['quick'], excludeGroups: ['dangerous'] }).tests);
  });

  test('-g stays strict', () => {
    expect(errorOf(() => plan({ fstyp: 'ext4', groups: ['growfs'] })).code).toBe('E_UNKNOWN_GROUP');
  });
});

describe('errors (kt is stricter than check)', () => {
  test('unknown group: names the group and FSTYP, hints existing groups', () => {
    const err = errorOf(() => plan({ fstyp: 'xfs', groups: ['quik'] }));
    expect(err.code).toBe('E_UNKNOWN_GROUP');
    expect(err.message).toBe('unknown group "quik" for FSTYP=xfs: no test in tests/generic and tests/xfs belongs to it');
    expect(err.hint).toMatch(/^did you mean quick\?; groups in tests\/generic and tests\/xfs include auto, quick, /);
  });

  test('unknown dir/group, and "all" mixed with other groups are errors too', () => {
    const dir = errorOf(() => plan({ fstyp: 'xfs', groups: ['nfs/quick'] }));
    expect(dir.code).toBe('E_UNKNOWN_GROUP');
    expect(dir.message).toContain('there is no tests/nfs/group.list');
    const all = errorOf(() => plan({ fstyp: 'xfs', groups: ['all', 'quick'] }));
    expect(all.code).toBe('E_UNKNOWN_GROUP');
    expect(all.hint).toContain('"all" selects every test only when it is the only group');
    // A group of another FSTYP's directory is unknown for this one.
    expect(errorOf(() => plan({ fstyp: 'xfs', groups: ['subvol'] })).code).toBe('E_UNKNOWN_GROUP');
  });

  test('unknown test: hint names the closest tests', () => {
    const err = errorOf(() => plan({ fstyp: 'xfs', tests: ['selftest/009'] }));
    expect(err.code).toBe('E_UNKNOWN_TEST');
    expect(err.message).toBe('unknown test "selftest/009"');
    expect(err.hint).toBe('did you mean selftest/001, selftest/002, selftest/003?');
    expect(errorOf(() => plan({ fstyp: 'xfs', tests: ['nosuch/001'] })).message).toBe(
      'unknown test "nosuch/001": there is no tests/nosuch/group.list',
    );
    expect(errorOf(() => plan({ fstyp: 'xfs', tests: ['001'] })).message).toBe(
      'unknown test "001": a test is named <dir>/<name>, e.g. generic/001',
    );
    expect(errorOf(() => plan({ fstyp: 'xfs', tests: ['xfs/9*'] })).message).toBe(
      'no test matches the pattern "xfs/9*"',
    );
  });
});
