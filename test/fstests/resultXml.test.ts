/** parseResultXml on the real xunit reports of the sample runs (docs/fstests.md §4). */
import { describe, expect, test } from 'vitest';
import { isKtError } from '../../src/errors.js';
import { parseResultXml } from '../../src/fstests/resultXml.js';
import { readSample } from './helpers.js';

describe('parseResultXml', () => {
  test('run A: pass, skipped, failures with diff and kernel log', () => {
    const r = parseResultXml(readSample('selftests-fail-notrun-dmesg-expunge', 'results', 'result.xml'));
    expect({ ...r, properties: undefined, testcases: undefined }).toEqual({
      name: 'xfstests',
      tests: 7,
      failures: 4,
      skipped: 2,
      time: 100,
      hostname: 'fstests-vm',
      startTimestamp: '2026-11-21T23:22:27+00:00',
      timestamp: '2026-11-21T23:24:03+00:00',
      reportTimestamp: '2026-11-21T23:24:07+00:00',
      properties: undefined,
      testcases: undefined,
    });
    expect(r.properties['FSTYP']).toBe('xfs');
    expect(r.properties['SECTION']).toBe('-no-sections-');
    expect(Object.keys(r.properties)).toHaveLength(35);
    expect(r.testcases.map((t) => [t.name, t.time, t.outcome.status])).toEqual([
      ['generic/455', 7, 'notrun'],
      ['selftest/001', 5, 'passed'],
      ['selftest/002', 5, 'failed'],
      ['selftest/003', 5, 'failed'],
      ['selftest/004', 4, 'notrun'],
      ['selftest/900', 5, 'failed'],
      ['selftest/901', 5, 'failed'],
    ]);
    expect(r.testcases[0]?.outcome).toEqual({ status: 'notrun', reason: 'This test requires a valid $LOGWRITES_DEV' });
    expect(r.testcases[2]).toEqual({
      classname: 'xfstests.global',
      name: 'selftest/002',
      time: 5,
      outcome: {
        status: 'failed',
        message: '- output mismatch (see /job/results/selftest/002.out.bad)',
        diff: [
          '--- tests/selftest/002.out\t2026-11-21 23:21:28.000000000 +0000',
          '+++ /job/results/selftest/002.out.bad\t2026-11-21 23:23:12.308000000 +0000',
          '@@ -1,2 +1,2 @@',
          ' QA output created by 002',
          '-Silence is golden',
          '+I am intentionally broken',
        ].join('\n'),
      },
      systemOut: 'umount: /dev/vdc: not mounted.',
      systemErr: [
        '--- tests/selftest/002.out\t2026-11-21 23:21:28.000000000 +0000',
        '+++ /job/results/selftest/002.out.bad\t2026-11-21 23:23:12.308000000 +0000',
        '@@ -1,2 +1,2 @@',
        ' QA output created by 002',
        '-Silence is golden',
        '+I am intentionally broken',
      ].join('\n'),
    });
    expect(r.testcases[5]?.kernelLog).toBe(
      [
        '[  100.392398] run fstests selftest/900 at 2026-11-21 23:23:50',
        '[  104.378347] WARNING: CPU: 0 PID: 1 at fs/fake.c:42 fake_warning+0x0/0x10 [injected by selftest/900]',
        '[  104.500277] XFS (vdb): Unmounting Filesystem',
      ].join('\n'),
    );
    expect(r.testcases[6]?.outcome).toEqual({ status: 'failed', message: '[failed, exit status 3]' });
  });

  test('crash leftovers: result.xml has time="" and result.xml.new is newer', () => {
    const old = parseResultXml(readSample('kernel-panic-sysrq', 'results', 'result.xml'));
    const newer = parseResultXml(readSample('kernel-panic-sysrq', 'results', 'result.xml.new'));
    expect(old.time).toBeUndefined();
    expect(old.testcases.map((t) => t.name)).toEqual(['selftest/001']);
    expect(newer.testcases.map((t) => [t.name, t.outcome])).toEqual([
      ['selftest/001', { status: 'passed' }],
      ['selftest/004', { status: 'notrun', reason: 'Always skip me' }],
    ]);
    // After SIGTERM: tests="3" but no testcase for the hung test.
    const term = parseResultXml(readSample('sigterm-during-hang', 'results', 'result.xml.new'));
    expect([term.tests, term.time, term.testcases.length]).toEqual([3, 46, 2]);
  });

  test('-L duplicates are kept, xunit-quiet has no CDATA', () => {
    const r = parseResultXml(readSample('two-sections-timestamps-loop', 'results', 'xfs_reflink', 'result.xml'));
    expect(r.testcases.map((t) => [t.classname, t.name, t.time])).toEqual([
      ['xfstests.xfs_reflink', 'selftest/001', 5],
      ['xfstests.xfs_reflink', 'selftest/002', 6],
      ['xfstests.xfs_reflink', 'selftest/002', 5],
      ['xfstests.xfs_reflink', 'selftest/004', 4],
    ]);
    expect(r.testcases[1]).toEqual({
      classname: 'xfstests.xfs_reflink',
      name: 'selftest/002',
      time: 6,
      outcome: { status: 'failed', message: '- output mismatch (see /job/results/xfs_reflink/selftest/002.out.bad)' },
    });
  });

  test('a truncated report is a HostError E_RESULT_XML', () => {
    const xml = readSample('pass-three-real-tests', 'results', 'result.xml');
    let err: unknown;
    try {
      parseResultXml(xml.slice(0, xml.length / 2));
    } catch (e) {
      err = e;
    }
    expect(isKtError(err) && err.code).toBe('E_RESULT_XML');
  });
});
