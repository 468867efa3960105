/**
 * Folding run records into a baseline, and the baseline file's text: each run counts once per
 * test, nothing is counted twice or lost, and the file reads well in `git diff`.
 */
import { describe, expect, it } from 'vitest';
import { emptyBaseline, parseBaseline, serializeBaseline, type Baseline } from '../../src/baseline/format.js';
import { updateBaseline } from '../../src/baseline/update.js';
import { isKtError } from '../../src/errors.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { interruptedRun, shard, SYSRQ_CRASH } from '../reporters/scenarios.js';
import { NULL_DEREF, O, runSummary } from './runs.js';

const fold = (b: Baseline, ...runs: Parameters<typeof updateBaseline>[1]) => updateBaseline(b, runs, 'kt 0.1.0');

describe('updateBaseline', () => {
  it('counts each run once per test: the final status, plus flaky when it failed then passed', () => {
    const run = runSummary('r1', {
      'selftest/001': [O.pass],
      'selftest/002': [O.mismatch, O.mismatch, O.mismatch],
      'selftest/003': [O.exit3, O.pass],
      'selftest/005': [O.panic, O.panic],
      'generic/004': [O.notrun],
      'generic/001': [O.error],
      'generic/002': [O.error, O.pass],
    });
    const { baseline } = fold(emptyBaseline('kt 0.1.0'), run);
    expect(baseline.sections).toEqual({
      xfs: {
        'selftest/001': { runs: 1, passed: 1, failed: 0, crashed: 0, timedout: 0, notrun: 0, error: 0, flaky: 0, crashedEarlier: 0, timedoutEarlier: 0, titles: {} },
        'selftest/002': { runs: 1, passed: 0, failed: 1, crashed: 0, timedout: 0, notrun: 0, error: 0, flaky: 0, crashedEarlier: 0, timedoutEarlier: 0, titles: {} },
        'selftest/003': { runs: 1, passed: 1, failed: 0, crashed: 0, timedout: 0, notrun: 0, error: 0, flaky: 1, crashedEarlier: 0, timedoutEarlier: 0, titles: {} },
        'selftest/005': { runs: 1, passed: 0, failed: 0, crashed: 1, timedout: 0, notrun: 0, error: 0, flaky: 0, crashedEarlier: 0, timedoutEarlier: 0, titles: { [SYSRQ_CRASH.title]: 1 } },
        'generic/004': { runs: 1, passed: 0, failed: 0, crashed: 0, timedout: 0, notrun: 1, error: 0, flaky: 0, crashedEarlier: 0, timedoutEarlier: 0, titles: {} },
        'generic/001': { runs: 1, passed: 0, failed: 0, crashed: 0, timedout: 0, notrun: 0, error: 1, flaky: 0, crashedEarlier: 0, timedoutEarlier: 0, titles: {} },
        // A kt error before a pass is not flakiness of the test (summarize.ts decides the same).
        'generic/002': { runs: 1, passed: 1, failed: 0, crashed: 0, timedout: 0, notrun: 0, error: 0, flaky: 0, crashedEarlier: 0, timedoutEarlier: 0, titles: {} },
      },
    });
    expect(baseline.runs).toEqual([{ runId: 'r1', startedAt: '2026-11-21T23:22:27.000Z', status: 'completed', kernel: '/boot/vmlinuz-6.1.0-56-cloud-amd64' }]);
    expect(baseline.writtenBy).toBe('kt 0.1.0');
  });

  it('records crash titles once per run, and never the title of a corrupted report', () => {
    const { baseline } = fold(
      emptyBaseline('kt 0.1.0'),
      runSummary('r1', { 'selftest/005': [O.nullDeref, O.nullDeref, O.pass], 'selftest/006': [O.corruptedCrash] }),
      runSummary('r2', { 'selftest/005': [O.nullDeref], 'selftest/006': [O.hungTask] }),
    );
    expect(baseline.sections['xfs']?.['selftest/005']).toMatchObject({ runs: 2, passed: 1, flaky: 1, crashed: 1, titles: { [NULL_DEREF.title]: 2 } });
    expect(baseline.sections['xfs']?.['selftest/006']).toMatchObject({ runs: 2, crashed: 1, timedout: 1, titles: { 'INFO: task hung in msleep': 1 } });
  });

  it('records a crash or a timeout that a retry came after, whatever the retry did', () => {
    const { baseline } = fold(
      emptyBaseline('kt 0.1.0'),
      runSummary('r1', {
        'selftest/005': [O.corruptedCrash, O.pass],
        'selftest/006': [O.hang, O.mismatch],
        'selftest/007': [O.hang, O.panic],
        'selftest/008': [O.panic, O.hang],
        'selftest/009': [O.hang, O.hang],
        'selftest/010': [O.error, O.pass],
      }),
    );
    const xfs = baseline.sections['xfs']!;
    // Passed in the end: flaky, and the crash is kept though its report gave no title.
    expect(xfs['selftest/005']).toMatchObject({ runs: 1, passed: 1, flaky: 1, crashedEarlier: 1, timedoutEarlier: 0, titles: {} });
    expect(xfs['selftest/006']).toMatchObject({ runs: 1, failed: 1, crashedEarlier: 0, timedoutEarlier: 1 });
    expect(xfs['selftest/007']).toMatchObject({ runs: 1, crashed: 1, crashedEarlier: 0, timedoutEarlier: 1 });
    expect(xfs['selftest/008']).toMatchObject({ runs: 1, timedout: 1, crashedEarlier: 1, timedoutEarlier: 0 });
    // The final status already says it timed out.
    expect(xfs['selftest/009']).toMatchObject({ runs: 1, timedout: 1, crashedEarlier: 0, timedoutEarlier: 0 });
    expect(xfs['selftest/010']).toMatchObject({ runs: 1, passed: 1, flaky: 0, crashedEarlier: 0, timedoutEarlier: 0 });
  });

  it('never counts a run twice, and leaves the baseline it was given alone', () => {
    const r1 = runSummary('r1', { 'selftest/002': [O.mismatch] });
    const first = fold(emptyBaseline('kt 0.1.0'), r1).baseline;
    const before = JSON.stringify(first);
    const again = fold(first, r1, runSummary('r2', { 'selftest/002': [O.pass] }));
    expect(JSON.stringify(first)).toBe(before);
    expect(again.changes.skipped).toEqual(['r1']);
    expect(again.changes.added.map((r) => r.runId)).toEqual(['r2']);
    expect(again.baseline.sections['xfs']?.['selftest/002']).toMatchObject({ runs: 2, passed: 1, failed: 1 });
  });

  it('keeps every test a later run did not plan (the file only grows)', () => {
    const first = fold(emptyBaseline('kt 0.1.0'), runSummary('r1', { 'selftest/002': [O.mismatch], 'generic/001': [O.pass] })).baseline;
    const next = fold(first, runSummary('r2', { 'generic/001': [O.pass] })).baseline;
    expect(Object.keys(next.sections['xfs'] ?? {})).toEqual(['selftest/002', 'generic/001']);
    expect(next.sections['xfs']?.['selftest/002']?.runs).toBe(1);
  });

  it('counts what an interrupted run executed, and nothing of what it never started', () => {
    const { baseline } = fold(emptyBaseline('kt 0.1.0'), summarizeRun(interruptedRun()));
    const tests = baseline.sections['global'] ?? {};
    expect(Object.keys(tests)).not.toContain('generic/002'); // was running at SIGINT
    expect(Object.keys(tests)).not.toContain('generic/003'); // never started
    expect(Object.keys(tests)).toHaveLength(10);
    expect(baseline.runs[0]?.status).toBe('interrupted');
  });

  it('takes the shards of a CI run, merged or not, as the runs they are', () => {
    const merged = fold(emptyBaseline('kt 0.1.0'), summarizeRun([...shard(1), ...shard(2)])).baseline;
    const separate = fold(emptyBaseline('kt 0.1.0'), summarizeRun(shard(1)), summarizeRun(shard(2))).baseline;
    expect(merged).toEqual(separate);
    expect(merged.runs.map((r) => `${r.runId} ${r.shard}`)).toEqual(['20261121-233010-shard1 1/2', '20261121-233020-shard2 2/2']);
    expect(Object.keys(merged.sections['xfs_reflink'] ?? {})).toHaveLength(6);
  });

  it('says what changed: new sections and tests, first failures, new crash titles', () => {
    const first = fold(emptyBaseline('kt 0.1.0'), runSummary('r1', { 'selftest/001': [O.pass], 'selftest/002': [O.mismatch] })).baseline;
    const { changes } = fold(
      first,
      runSummary('r2', { 'selftest/001': [O.exit3], 'selftest/002': [O.mismatch], 'selftest/005': [O.panic] }),
      runSummary('r3', { 'generic/001': [O.pass] }, { section: 'ext4' }),
    );
    expect(changes.newSections).toEqual(['ext4']);
    expect(changes.newTests).toEqual([{ section: 'xfs', test: 'selftest/005' }]);
    expect(changes.firstFailures.map((f) => `${f.section} ${f.test}`)).toEqual(['xfs selftest/001', 'xfs selftest/005']);
    expect(changes.newTitles).toEqual([{ section: 'xfs', test: 'selftest/005', title: SYSRQ_CRASH.title }]);
  });
});

describe('the baseline file', () => {
  const sample = (): Baseline =>
    fold(
      emptyBaseline('kt 0.1.0'),
      runSummary('r1', { 'selftest/002': [O.mismatch], 'selftest/001': [O.pass], 'selftest/005': [O.panic] }),
      runSummary('r2', { 'selftest/001': [O.exit3, O.pass], 'selftest/006': [O.hang, O.pass] }, { section: 'xfs/4k' }),
    ).baseline;

  it('is one line per run and per test, keys sorted, zero counts left out', () => {
    expect(serializeBaseline(sample())).toBe(
      [
        '{',
        '  "format": "kt-baseline",',
        '  "version": 2,',
        '  "writtenBy": "kt 0.1.0",',
        '  "runs": [',
        '    {"runId":"r1","startedAt":"2026-11-21T23:22:27.000Z","status":"completed","kernel":"/boot/vmlinuz-6.1.0-56-cloud-amd64"},',
        '    {"runId":"r2","startedAt":"2026-11-21T23:22:27.000Z","status":"completed","kernel":"/boot/vmlinuz-6.1.0-56-cloud-amd64"}',
        '  ],',
        '  "sections": {',
        '    "xfs": {',
        '      "selftest/001": {"runs":1,"passed":1},',
        '      "selftest/002": {"runs":1,"failed":1},',
        '      "selftest/005": {"runs":1,"crashed":1,"titles":{"Kernel panic - not syncing: sysrq triggered crash":1}}',
        '    },',
        '    "xfs/4k": {',
        '      "selftest/001": {"runs":1,"passed":1,"flaky":1},',
        '      "selftest/006": {"runs":1,"passed":1,"flaky":1,"timedoutEarlier":1}',
        '    }',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('reads back what it wrote, and writes it again byte for byte', () => {
    const text = serializeBaseline(sample());
    const back = parseBaseline(text, 'kt-baseline.json');
    expect(back).toEqual(sample());
    expect(serializeBaseline(back)).toBe(text);
    expect(serializeBaseline(emptyBaseline('kt 0.1.0'))).toBe('{\n  "format": "kt-baseline",\n  "version": 2,\n  "writtenBy": "kt 0.1.0",\n  "runs": [],\n  "sections": {}\n}\n');
  });

  const refusals: [string, string, string, string][] = [
    ['not JSON', '{"format": "kt-baseline",', 'E_BASELINE_DAMAGED', 'b.json is not JSON ('],
    ['another JSON file', '{"version": 1, "tests": []}', 'E_BASELINE_NOT_A_BASELINE', 'b.json is not a kt baseline (no "format": "kt-baseline")'],
    ['a newer format', '{"format": "kt-baseline", "version": 3, "writtenBy": "kt 9", "runs": [], "sections": {}}', 'E_BASELINE_VERSION', 'b.json is baseline format version 3; this kt reads versions 1 and 2'],
    ['a negative count', '{"format": "kt-baseline", "version": 1, "writtenBy": "kt", "runs": [], "sections": {"xfs": {"generic/001": {"runs": -1}}}}', 'E_BASELINE_DAMAGED', 'b.json is damaged (sections.xfs.generic/001.runs: '],
    ['a field this kt does not know (it would be lost on rewrite)', '{"format": "kt-baseline", "version": 1, "writtenBy": "kt", "runs": [], "sections": {"xfs": {"generic/001": {"runs": 1, "skipped": 1}}}}', 'E_BASELINE_DAMAGED', 'b.json is damaged (sections.xfs.generic/001: '],
    [
      'more flaky runs than passes (a failure rate above 100%)',
      '{"format": "kt-baseline", "version": 1, "writtenBy": "kt", "runs": [], "sections": {"xfs": {"generic/100": {"runs": 4, "passed": 3, "failed": 1, "flaky": 4}}}}',
      'E_BASELINE_DAMAGED',
      'b.json is damaged (sections.xfs.generic/100.flaky: flaky is 4, more than passed (3); a flaky run passed on a retry, so it is counted in passed too)',
    ],
    [
      'outcome counts that do not add up to runs',
      '{"format": "kt-baseline", "version": 1, "writtenBy": "kt", "runs": [], "sections": {"xfs/4k": {"generic/100": {"runs": 4, "passed": 3}}}}',
      'E_BASELINE_DAMAGED',
      'b.json is damaged (sections.xfs/4k.generic/100.runs: runs is 4, but the outcome counts add up to 3 (passed 3 + failed 0 + crashed 0 + timedout 0 + notrun 0 + error 0); each run is counted in exactly one of them)',
    ],
    [
      'a crash title seen in more runs than were recorded',
      '{"format": "kt-baseline", "version": 1, "writtenBy": "kt", "runs": [], "sections": {"xfs": {"generic/100": {"runs": 1, "crashed": 1, "titles": {"WARNING in xfs_trans_cancel": 2}}}}}',
      'E_BASELINE_DAMAGED',
      'b.json is damaged (sections.xfs.generic/100.titles.WARNING in xfs_trans_cancel: title seen in 2 runs, more than the 1 recorded)',
    ],
    [
      'an earlier timeout in more runs than had a retry',
      '{"format": "kt-baseline", "version": 2, "writtenBy": "kt", "runs": [], "sections": {"xfs": {"generic/100": {"runs": 3, "passed": 2, "timedout": 1, "flaky": 1, "timedoutEarlier": 2}}}}',
      'E_BASELINE_DAMAGED',
      'b.json is damaged (sections.xfs.generic/100.timedoutEarlier: timedoutEarlier is 2, more than flaky + failed + crashed (1); only a run with a retry after a failure can have one)',
    ],
    [
      'an earlier crash in more runs than had a retry',
      '{"format": "kt-baseline", "version": 2, "writtenBy": "kt", "runs": [], "sections": {"xfs": {"generic/100": {"runs": 2, "passed": 1, "crashed": 1, "crashedEarlier": 1}}}}',
      'E_BASELINE_DAMAGED',
      'b.json is damaged (sections.xfs.generic/100.crashedEarlier: crashedEarlier is 1, more than flaky + failed + timedout (0); only a run with a retry after a failure can have one)',
    ],
    [
      'a version 1 file with a field of version 2',
      '{"format": "kt-baseline", "version": 1, "writtenBy": "kt", "runs": [], "sections": {"xfs": {"generic/100": {"runs": 1, "passed": 1, "flaky": 1, "crashedEarlier": 1}}}}',
      'E_BASELINE_DAMAGED',
      'b.json is damaged (sections.xfs.generic/100.crashedEarlier: version 1 has no crashedEarlier, version 2 added it)',
    ],
  ];
  for (const [what, text, code, message] of refusals) {
    it(`refuses ${what}`, () => {
      let caught: unknown;
      try {
        parseBaseline(text, 'b.json');
      } catch (err) {
        caught = err;
      }
      expect(isKtError(caught) && caught.code).toBe(code);
      expect(isKtError(caught) && caught.exitCode).toBe(2);
      expect((caught as Error).message.startsWith(message), (caught as Error).message).toBe(true);
    });
  }

  it('tells how to fix counts that disagree by hand', () => {
    let caught: unknown;
    try {
      parseBaseline('{"format": "kt-baseline", "version": 1, "writtenBy": "kt", "runs": [], "sections": {"xfs": {"generic/100": {"runs": 2, "passed": 1}}}}', 'b.json');
    } catch (err) {
      caught = err;
    }
    expect(isKtError(caught) && caught.hint).toBe(
      'restore b.json from version control, or fix that test\'s counts by hand: passed + failed + crashed + timedout + notrun + error = runs, flaky ≤ passed, crashedEarlier ≤ flaky + failed + timedout, timedoutEarlier ≤ flaky + failed + crashed (docs/baseline.md, "The baseline file")',
    );
  });

  it('reads back every file updateBaseline writes: its counts always agree', () => {
    // Every sequence of up to three attempts of every outcome, in three runs (each test gets
    // another sequence in each run), and CI shards merged: what kt baseline update can fold.
    const outcomes = [O.pass, O.mismatch, O.exit3, O.panic, O.nullDeref, O.corruptedCrash, O.hang, O.hungTask, O.notrun, O.error];
    const sequences: (typeof outcomes)[] = [];
    for (const a of outcomes) {
      sequences.push([a]);
      for (const b of outcomes) {
        sequences.push([a, b]);
        for (const c of [O.pass, O.mismatch, O.panic, O.error]) sequences.push([a, b, c]);
      }
    }
    const runs = [0, 1, 2].map((r) =>
      runSummary(`r${r}`, Object.fromEntries(sequences.map((_, i) => [`generic/${String(i).padStart(3, '0')}`, sequences[(i + 37 * r) % sequences.length]!]))),
    );
    const shards = summarizeRun([...shard(1), ...shard(2)]);
    const { baseline } = fold(emptyBaseline('kt 0.1.0'), ...runs, shards);
    const back = parseBaseline(serializeBaseline(baseline), 'kt-baseline.json');
    expect(back).toEqual(baseline);
    const entries = Object.values(back.sections).flatMap((tests) => Object.values(tests));
    expect(entries.length).toBe(sequences.length + 6);
    expect(entries.some((e) => e.flaky > 0 && e.titles && Object.keys(e.titles).length > 0)).toBe(true);
    expect(entries.some((e) => e.crashedEarlier > 0 && e.timedoutEarlier > 0)).toBe(true);
  });

  it('reads a version 1 file as the version 2 baseline of the same runs (no earlier crash or timeout recorded), and writes it as version 2', () => {
    const v1 = [
      '{',
      '  "format": "kt-baseline",',
      '  "version": 1,',
      '  "writtenBy": "kt 0.1.0",',
      '  "runs": [],',
      '  "sections": {',
      '    "xfs": {',
      '      "selftest/001": {"runs":2,"passed":1,"timedout":1,"flaky":1}',
      '    }',
      '  }',
      '}',
      '',
    ].join('\n');
    const read = parseBaseline(v1, 'b.json');
    expect(read.version).toBe(2);
    expect(read.sections['xfs']?.['selftest/001']).toEqual({ runs: 2, passed: 1, failed: 0, crashed: 0, timedout: 1, notrun: 0, error: 0, flaky: 1, crashedEarlier: 0, timedoutEarlier: 0, titles: {} });
    expect(serializeBaseline(read)).toBe(v1.replace('"version": 1', '"version": 2'));
  });
});
