import { expect, test } from 'vitest';
import { parseCheckTime } from '../../src/fstests/checkTime.js';
import { readSample } from './helpers.js';

test('reads check.time of the real runs (passed tests only; empty after a crash)', () => {
  expect(parseCheckTime(readSample('pass-three-real-tests', 'results', 'check.time'))).toEqual(
    new Map([
      ['generic/001', 113],
      ['generic/002', 9],
      ['xfs/001', 20],
    ]),
  );
  expect(parseCheckTime(readSample('two-sections-timestamps-loop', 'results', 'xfs_reflink', 'check.time'))).toEqual(
    new Map([['selftest/001', 5]]),
  );
  expect(parseCheckTime(readSample('kernel-panic-sysrq', 'results', 'check.time')).size).toBe(0);
});

test('skips lines that are not "<test> <seconds>"', () => {
  expect(parseCheckTime('generic/001 3\ngarbage\nxfs/001 x\n\nxfs/002 7 \n')).toEqual(
    new Map([
      ['generic/001', 3],
      ['xfs/002', 7],
    ]),
  );
});
