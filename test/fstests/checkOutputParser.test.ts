/**
 * CheckOutputParser on the streaming cases and the output forms of check (docs/fstests.md §2.2)
 * that the real samples do not show. The samples themselves are in checkOutputGolden.test.ts.
 */
import { describe, expect, test } from 'vitest';
import type { CheckEvent } from '../../src/fstests/checkEvents.js';
import { CheckOutputParser, parseCheckOutput } from '../../src/fstests/checkOutputParser.js';

const results = (events: CheckEvent[]) => events.filter((e) => e.type === 'test-result');

describe('streaming', () => {
  test('reports a test as started as soon as its padded name arrives, before any newline', () => {
    const p = new CheckOutputParser();
    expect(p.push('selftest/001        5s\nselftest/0')).toEqual([
      { type: 'test-start', test: 'selftest/001' },
      { type: 'test-result', test: 'selftest/001', outcome: { status: 'passed' }, seconds: 5 },
    ]);
    expect(p.currentTest()).toBeUndefined();
    expect(p.push('06 ')).toEqual([]); // one blank: could still be "<t> aggregate ..."
    expect(p.push('      ')).toEqual([{ type: 'test-start', test: 'selftest/006' }]);
    expect(p.currentTest()).toBe('selftest/006');
    // Minutes later the outcome arrives on the same line.
    expect(p.push(' 7s\r\n')).toEqual([
      { type: 'test-result', test: 'selftest/006', outcome: { status: 'passed' }, seconds: 7 },
    ]);
    expect(p.currentTest()).toBeUndefined();
  });

  test('a stream that stops after a name leaves that test current (hang or crash)', () => {
    const p = new CheckOutputParser();
    p.push('selftest/001        5s\nselftest/005       ');
    expect(p.end()).toEqual([]);
    expect(p.currentTest()).toBe('selftest/005');
  });

  test('recognises the previous-time form early: "<t> 5s ... "; the time comes with the result', () => {
    const p = new CheckOutputParser();
    expect(p.push('selftest/001 5s ... ')).toEqual([{ type: 'test-start', test: 'selftest/001' }]);
    expect(p.push(' 4s\n')).toEqual([
      { type: 'test-result', test: 'selftest/001', outcome: { status: 'passed' }, seconds: 4, previousSeconds: 5 },
    ]);
  });

  test('decodes UTF-8 split across byte chunks', () => {
    const p = new CheckOutputParser();
    const bytes = new TextEncoder().encode('generic/001       [not run] needs “quotes” ✓\n');
    const events = [...bytes].flatMap((b) => p.push(Uint8Array.of(b)));
    expect(results(events)).toEqual([
      { type: 'test-result', test: 'generic/001', outcome: { status: 'notrun', reason: 'needs “quotes” ✓' } },
    ]);
  });

  test('a failure is complete when the next test starts, or at end()', () => {
    const p = new CheckOutputParser();
    expect(results(p.push('selftest/901       [failed, exit status 3]\n'))).toEqual([]);
    expect(p.currentTest()).toBeUndefined();
    expect(results(p.end())).toEqual([
      {
        type: 'test-result',
        test: 'selftest/901',
        outcome: { status: 'failed', message: '[failed, exit status 3]' },
        exitStatus: 3,
      },
    ]);
  });

  test('end() completes a -T not-run whose reason line never came', () => {
    const { events } = parseCheckOutput('selftest/004        [23:25:23] [23:25:27] [not run]\n');
    expect(results(events)).toEqual([
      {
        type: 'test-result',
        test: 'selftest/004',
        outcome: { status: 'notrun', reason: '' },
        startedAt: '23:25:23',
        endedAt: '23:25:27',
      },
    ]);
  });
});

describe('outcome forms from check', () => {
  test('filesystem check failure, repair note and dmesg, with the empty line of matching output', () => {
    const text = [
      'generic/475       _check_xfs_filesystem: filesystem on /dev/vdb is inconsistent (r)',
      '(see /job/results/generic/475.full for details)',
      'Trying to repair broken TEST_DEV file system',
      '_check_dmesg: something found in dmesg (see /job/results/generic/475.dmesg)',
      '',
      'generic/476        3s',
      '',
    ].join('\n');
    expect(results(parseCheckOutput(text).events)).toEqual([
      {
        type: 'test-result',
        test: 'generic/475',
        outcome: {
          status: 'failed',
          message: [
            '_check_xfs_filesystem: filesystem on /dev/vdb is inconsistent (r)',
            '(see /job/results/generic/475.full for details)',
            'Trying to repair broken TEST_DEV file system',
            '_check_dmesg: something found in dmesg (see /job/results/generic/475.dmesg)',
          ].join('\n'),
        },
      },
      { type: 'test-result', test: 'generic/476', outcome: { status: 'passed' }, seconds: 3 },
    ]);
  });

  test('-T failure with exit status: the stop stamp sits between the failure parts', () => {
    const text =
      'selftest/003        [10:00:00][failed, exit status 1] [10:00:05]- output mismatch (see /r/selftest/003.out.bad)\n' +
      '    --- tests/selftest/003.out\n    +++ /r/selftest/003.out.bad\n';
    expect(results(parseCheckOutput(text).events)).toEqual([
      {
        type: 'test-result',
        test: 'selftest/003',
        outcome: {
          status: 'failed',
          message: '[failed, exit status 1] - output mismatch (see /r/selftest/003.out.bad)',
          diff: '--- tests/selftest/003.out\n+++ /r/selftest/003.out.bad',
        },
        exitStatus: 1,
        startedAt: '10:00:00',
        endedAt: '10:00:05',
      },
    ]);
  });

  test('hints after a failure are kept apart from the diff', () => {
    const text = [
      'xfs/123       - output mismatch (see /r/xfs/123.out.bad)',
      '    -a',
      '    +b',
      '',
      'This test wants a kernel fix:',
      '      abcdef012345 ("xfs: fix it")',
      'Ran: xfs/123',
      '',
    ].join('\n');
    const events = parseCheckOutput(text).events;
    expect(results(events)).toEqual([
      {
        type: 'test-result',
        test: 'xfs/123',
        outcome: { status: 'failed', message: '- output mismatch (see /r/xfs/123.out.bad)', diff: '-a\n+b' },
        hints: ['This test wants a kernel fix:', '      abcdef012345 ("xfs: fix it")'],
      },
    ]);
    expect(events.at(-1)).toEqual({ type: 'summary-ran', tests: ['xfs/123'] });
  });

  test('[dumped core], no qualified output, no such test', () => {
    const text = [
      'generic/100       [dumped core]',
      'generic/101       no qualified output',
      'generic/102 - no such test?',
      '',
    ].join('\n');
    expect(results(parseCheckOutput(text).events).map((e) => [e.test, e.outcome])).toEqual([
      ['generic/100', { status: 'failed', message: '[dumped core]' }],
      ['generic/101', { status: 'failed', message: 'no qualified output' }],
      ['generic/102', { status: 'failed', message: '- no such test?' }],
    ]);
  });

  test('-d: the test output comes between name and outcome, also for failures', () => {
    const text = [
      'selftest/003       QA output created by 003',
      "I have _fail'ed",
      '=== a line the test printed ===',
      '[failed, exit status 1]- output mismatch (see /r/selftest/003.out.bad)',
      '    -Silence is golden',
      'selftest/001       QA output created by 001',
      '5s is not a pass time without check\'s leading blank',
      ' 5s',
      '',
    ].join('\n');
    expect(parseCheckOutput(text).events).toEqual([
      { type: 'test-start', test: 'selftest/003' },
      { type: 'test-output', test: 'selftest/003', line: 'QA output created by 003' },
      { type: 'test-output', test: 'selftest/003', line: "I have _fail'ed" },
      { type: 'unparsed', line: '=== a line the test printed ===' },
      {
        type: 'test-result',
        test: 'selftest/003',
        outcome: {
          status: 'failed',
          message: '[failed, exit status 1] - output mismatch (see /r/selftest/003.out.bad)',
          diff: '-Silence is golden',
        },
        exitStatus: 1,
      },
      { type: 'test-start', test: 'selftest/001' },
      { type: 'test-output', test: 'selftest/001', line: 'QA output created by 001' },
      { type: 'test-output', test: 'selftest/001', line: "5s is not a pass time without check's leading blank" },
      { type: 'test-result', test: 'selftest/001', outcome: { status: 'passed' }, seconds: 5 },
    ]);
  });

  test('check -n listing: every name without outcome ends as test-unfinished', () => {
    const { events, currentTest } = parseCheckOutput('generic/001 \ngeneric/002 \nxfs/841     \n\n');
    expect(events).toEqual([
      { type: 'test-start', test: 'generic/001' },
      { type: 'test-unfinished', test: 'generic/001' },
      { type: 'test-start', test: 'generic/002' },
      { type: 'test-unfinished', test: 'generic/002' },
      { type: 'test-start', test: 'xfs/841' },
    ]);
    expect(currentTest).toBe('xfs/841');
  });

  test('unknown-test warnings, config errors and -L mixed counts', () => {
    const text = [
      'xfs/999 - unknown test, ignored',
      'common/rc: could not mount /dev/vdb on /mnt/test',
      'generic/001 aggregate results across 3 runs: pass=1 (33.3%), fail=2 (66.7%)',
      'Interrupted!',
      'Passed all 0 tests',
      '',
    ].join('\n');
    expect(parseCheckOutput(text).events).toEqual([
      { type: 'unparsed', line: 'xfs/999 - unknown test, ignored' },
      { type: 'unparsed', line: 'common/rc: could not mount /dev/vdb on /mnt/test' },
      { type: 'aggregate', test: 'generic/001', runs: 3, counts: { pass: 1, fail: 2 } },
      { type: 'summary-interrupted' },
      { type: 'summary-passed', total: 0 },
    ]);
  });

  test('a short name padded before the previous time: same events however the line is cut', () => {
    const line = 'xfs/001      5s ...  3s\n';
    const whole = parseCheckOutput(line).events;
    const p = new CheckOutputParser();
    const split = [...[...line].flatMap((c) => p.push(c)), ...p.end()];
    expect(split).toEqual(whole);
    expect(whole).toEqual([
      { type: 'test-start', test: 'xfs/001' },
      { type: 'test-result', test: 'xfs/001', outcome: { status: 'passed' }, seconds: 3, previousSeconds: 5 },
    ]);
  });

  test('test names with a suffix and 4 digits', () => {
    const { events } = parseCheckOutput('btrfs/001-send-basic  2s\ngeneric/1212        1s\n');
    expect(results(events).map((e) => e.test)).toEqual(['btrfs/001-send-basic', 'generic/1212']);
  });
});
