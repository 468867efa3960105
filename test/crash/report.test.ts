import { describe, expect, it } from 'vitest';

import { dedupeCrashes } from '../../src/crash/dedupe.js';
import { detectCrashes } from '../../src/crash/detector.js';
import { fingerprintCrash, makeSyntheticReport, type CrashReport } from '../../src/crash/report.js';

describe('makeSyntheticReport', () => {
  it('makes a fatal "no output" report with the last console lines', () => {
    const report = makeSyntheticReport('no-output', {
      test: 'selftest/006',
      seconds: 120,
      lastLines: ['selftest/006       [   45.115649] run fstests selftest/006 at 2026-11-21 23:28:19'],
    });
    expect(report).toEqual({
      title: 'no output from test machine',
      type: 'no-output',
      fingerprint: fingerprintCrash('no-output', 'no output from test machine'),
      excerpt:
        'no console output for 120s while selftest/006 ran\nlast console lines:\n' +
        'selftest/006       [   45.115649] run fstests selftest/006 at 2026-11-21 23:28:19',
      fatal: true,
      test: 'selftest/006',
      startLine: 0,
      endLine: 0,
      pattern: 'no-output',
    });
  });

  it('makes a "lost connection" report', () => {
    const report = makeSyntheticReport('lost-connection', { message: 'qemu exited with status 1' });
    expect(report).toMatchObject({
      title: 'lost connection to test machine',
      type: 'lost-connection',
      excerpt: 'lost connection to the VM: qemu exited with status 1',
      fatal: true,
    });
    expect(report.test).toBeUndefined();
  });
});

describe('dedupeCrashes', () => {
  const warning = (test: string, pid: number): CrashReport =>
    detectCrashes(
      `[    1.000000] run fstests ${test} at 2026-11-21 23:23:50\n` +
        `[    2.000000] WARNING: CPU: ${pid % 2} PID: ${pid} at fs/xfs/xfs_trans.c:42 xfs_trans_cancel+0x12/0x34 [xfs]\n`,
    )[0]!;

  it('groups by fingerprint with counts, tests and machines, in order of first sighting', () => {
    const panic = makeSyntheticReport('no-output', { test: 'generic/475' });
    const groups = dedupeCrashes([
      { ...warning('generic/001', 100), machine: 'vm1' },
      { ...panic, machine: 'vm2' },
      { ...warning('generic/002', 201), machine: 'vm2' },
      { ...warning('generic/001', 300), machine: 'vm1' },
    ]);
    expect(groups.map(({ title, count, tests, machines, fatal }) => ({ title, count, tests, machines, fatal }))).toEqual([
      { title: 'WARNING in xfs_trans_cancel', count: 3, tests: ['generic/001', 'generic/002'], machines: ['vm1', 'vm2'], fatal: false },
      { title: 'no output from test machine', count: 1, tests: ['generic/475'], machines: ['vm2'], fatal: true },
    ]);
    expect(groups[0]?.frame).toBe('xfs_trans_cancel');
    expect(groups[0]?.first.test).toBe('generic/001');
  });
});
