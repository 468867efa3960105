/**
 * kt-history.json: a file kt cannot read is never replaced silently by the run's new history —
 * it is said when read and kept as kt-history.json.damaged(.N) when the run saves its own; one
 * of another kt version is said, and left in place, unused and not updated, run after run. The
 * history is a real one: the durations of a real TCG run's event log
 * (test/reporters/fixtures/real-tcg-run).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/record/events.js';
import { expectedSeconds, HISTORY_FILE, loadRunHistory, readHistory, saveHistory, startupOf, updateHistory, updateStartups } from '../../src/record/history.js';

const events = fs
  .readFileSync(new URL('../reporters/fixtures/real-tcg-run/events.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as RunEvent);

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-history-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const file = () => path.join(dir, HISTORY_FILE);

describe('kt-history.json', () => {
  it('reads back what a run saved', () => {
    const history = updateHistory(new Map(), events);
    expect(history.size).toBeGreaterThan(0);
    saveHistory(dir, history);
    expect(readHistory(dir)).toEqual({ history });
    expect(readHistory(path.join(dir, 'nope'))).toEqual({ history: new Map() });
  });

  it('a damaged file is said when read, and kept as .damaged (then .damaged.1, …) when the run saves its own', () => {
    const history = updateHistory(new Map(), events);
    saveHistory(dir, history);
    const good = fs.readFileSync(file(), 'utf8');
    // Half a file, as a full disk or a copy cut short leaves it.
    const half = good.slice(0, good.length / 2);
    fs.writeFileSync(file(), half);
    const warnings: string[] = [];
    expect(loadRunHistory(dir, (m) => warnings.push(m)).history).toEqual(new Map());
    expect(warnings).toEqual([
      `${file()} is not JSON: this run starts without a history of test durations; a run that saves its history (not --dry-run) first keeps this file as kt-history.json.damaged`,
    ]);
    // Reading changes nothing (a dry run reads it too).
    expect(fs.readFileSync(file(), 'utf8')).toBe(half);
    expect(saveHistory(dir, history)).toEqual({ saved: true, backup: `${file()}.damaged` });
    expect(fs.readFileSync(`${file()}.damaged`, 'utf8')).toBe(half);
    expect(fs.readFileSync(file(), 'utf8')).toBe(good);
    // The next run reads the new history and says nothing.
    expect(loadRunHistory(dir, (m) => warnings.push(m)).history).toEqual(history);
    expect(warnings).toHaveLength(1);
    // A good history is replaced without a backup.
    expect(saveHistory(dir, history)).toEqual({ saved: true });

    fs.writeFileSync(file(), JSON.stringify({ tests: {} }));
    expect(readHistory(dir).damaged).toEqual({ file: file(), why: 'without a format version' });
    expect(saveHistory(dir, history)).toEqual({ saved: true, backup: `${file()}.damaged.1` });
    fs.writeFileSync(file(), JSON.stringify({ version: 1, tests: { 'xfs:generic/001': { lastSeconds: 'x' } } }));
    expect(readHistory(dir).damaged?.why).toBe('not a record of test durations');
    saveHistory(dir, history);
    expect(fs.readdirSync(dir).sort()).toEqual(['kt-history.json', 'kt-history.json.damaged', 'kt-history.json.damaged.1', 'kt-history.json.damaged.2']);
  });

  it("another kt version's file is said, left in place and not updated, run after run: no backups pile up", () => {
    const history = updateHistory(new Map(), events);
    // What a kt with history format 2 leaves in a results directory both kts use.
    const theirs = JSON.stringify({ version: 2, tests: { 'xfs:generic/001': { p50: 3, p95: 5 } } });
    fs.writeFileSync(file(), theirs);
    expect(readHistory(dir)).toEqual({ history: new Map(), foreign: { file: file(), version: 2 } });
    for (let run = 0; run < 3; run++) {
      const warnings: string[] = [];
      expect(loadRunHistory(dir, (m) => warnings.push(m)).history).toEqual(new Map());
      expect(warnings).toEqual([
        `${file()} is of history format 2, written by another kt version (this one writes 1): this run neither uses nor updates it, ` +
          'so its test durations are not saved (run this kt with its own --results directory to keep them)',
      ]);
      expect(saveHistory(dir, history)).toEqual({ saved: false, foreign: { file: file(), version: 2 } });
    }
    expect(fs.readdirSync(dir)).toEqual(['kt-history.json']);
    expect(fs.readFileSync(file(), 'utf8')).toBe(theirs);
  });

  it('a test not run is expected to take the seconds it took, keeps the deadline of its runs, and loses the mark once it runs again', () => {
    // The real run: generic/001 and selftest/001 passed, selftest/002 failed, selftest/004 not
    // run (4,381 ms: its _notrun under TCG), selftest/005 crashed.
    const first = updateHistory(new Map(), events);
    expect(first.get('xfs:selftest/004')).toEqual({ notrunSeconds: 4 });
    expect(expectedSeconds(first.get('xfs:selftest/004'))).toBe(4);
    expect(first.has('xfs:selftest/005')).toBe(false);
    const passed = first.get('xfs:generic/001')!;
    expect(passed.notrunSeconds).toBeUndefined();
    expect(expectedSeconds(passed)).toBe(passed.lastSeconds);

    // The same run in a section that has lost what generic/001 needs: not run after 1 s.
    const notrunEvents = events.map((e) =>
      e.type === 'test-end' && e.test === 'generic/001' ? { ...e, outcome: { status: 'notrun' as const, reason: 'This test requires a valid $SCRATCH_DEV' }, durationMs: 1_200, checkSeconds: undefined } : e,
    );
    const second = updateHistory(first, notrunEvents);
    expect(second.get('xfs:generic/001')).toEqual({ ...passed, notrunSeconds: 1 });
    expect(expectedSeconds(second.get('xfs:generic/001'))).toBe(1);
    // Back to a run: its durations again, no mark.
    expect(updateHistory(second, events).get('xfs:generic/001')).toEqual(passed);
  });

  it('a crash or a hang after "not run" removes the mark (the test no longer ends in a second); kt\'s own error leaves it', () => {
    const first = updateHistory(new Map(), events);
    // selftest/005 crashed in the real run; suppose it had been not run (2 s) the run before, and
    // generic/001 too (after runs of its own).
    const before = new Map(first);
    before.set('xfs:selftest/005', { notrunSeconds: 2 });
    before.set('xfs:generic/001', { ...first.get('xfs:generic/001')!, notrunSeconds: 1 });
    const crashedNow = events.map((e) => (e.type === 'test-end' && e.test === 'generic/001' ? { ...e, outcome: { status: 'timedout' as const, message: 'no progress for 60 s' } } : e));
    const after = updateHistory(before, crashedNow);
    // Only "not run" was known of selftest/005: nothing is now.
    expect(after.has('xfs:selftest/005')).toBe(false);
    // generic/001 keeps the durations of its runs (its deadline), without the mark.
    expect(after.get('xfs:generic/001')).toEqual(first.get('xfs:generic/001'));
    expect(expectedSeconds(after.get('xfs:generic/001'))).toBe(first.get('xfs:generic/001')!.lastSeconds);

    // A check that exited before generic/001 began says nothing of it (src/runner/batchRun.ts).
    const erroredNow = events.map((e) => (e.type === 'test-end' && e.test === 'generic/001' ? { ...e, outcome: { status: 'error' as const, message: 'check exited with status 1 without a result for it' }, durationMs: 0 } : e));
    expect(updateHistory(before, erroredNow).get('xfs:generic/001')).toEqual(before.get('xfs:generic/001'));
  });

  it('the file keeps "not run" apart from the durations: a kt that predates it reads every entry, and what it writes back is read', () => {
    const history = updateHistory(new Map(), events);
    saveHistory(dir, history);
    const raw = JSON.parse(fs.readFileSync(file(), 'utf8')) as { version: number; tests: Record<string, unknown>; notrun?: Record<string, number> };
    expect(raw.notrun).toEqual({ 'xfs:selftest/004': 4 });
    // What the older kt checks of every entry (its isDurations): both numbers, in `tests`.
    expect(Object.keys(raw.tests).sort()).toEqual(['xfs:generic/001', 'xfs:selftest/001', 'xfs:selftest/002']);
    for (const entry of Object.values(raw.tests)) expect(entry).toEqual({ lastSeconds: expect.any(Number), maxSeconds: expect.any(Number) });
    expect(readHistory(dir)).toEqual({ history });
    // The older kt saves `tests` alone: the durations stay, the mark is lost, nothing is damaged.
    fs.writeFileSync(file(), JSON.stringify({ version: 1, tests: raw.tests }));
    const back = readHistory(dir);
    expect(back.damaged).toBeUndefined();
    expect(back.history.has('xfs:selftest/004')).toBe(false);
    expect(back.history.get('xfs:generic/001')).toEqual(history.get('xfs:generic/001'));

    fs.writeFileSync(file(), JSON.stringify({ version: 1, tests: raw.tests, notrun: { 'xfs:selftest/004': 'soon' } }));
    expect(readHistory(dir).damaged?.why).toBe('not a record of test durations (its "notrun" part)');
  });

  it('keeps check\'s start-up by section, the median of the last run that measured one, beside the durations', () => {
    // The real run's batches as they began, with the start-ups its checks took (test-begin checkStartupMs).
    const begins = events.filter((e) => e.type === 'test-begin');
    const first = begins[0]!;
    const second = begins[1]!;
    const measured = events.map((e) =>
      e === first ? { ...e, checkStartupMs: 2140 } : e === second ? { ...e, checkStartupMs: 2560 } : e,
    );
    const startup = updateStartups(new Map([['ext4', 9.5], ['xfs', 30]]), measured);
    // xfs: the median of 2.14 and 2.56 s, to a tenth; ext4 ran no batch and keeps its own.
    expect(startup).toEqual(new Map([['ext4', 9.5], ['xfs', 2.4]]));
    // A run that measured none changes nothing.
    expect(updateStartups(startup, events)).toEqual(startup);
    expect(startupOf(startup, ['xfs'])).toBe(2.4);
    expect(startupOf(startup, ['xfs', 'ext4', 'btrfs'])).toBe(5.95);
    expect(startupOf(startup, ['btrfs'])).toBeUndefined();

    const history = updateHistory(new Map(), measured);
    saveHistory(dir, history, startup);
    const raw = JSON.parse(fs.readFileSync(file(), 'utf8')) as { tests: Record<string, unknown>; notrun?: Record<string, number>; startup?: Record<string, number> };
    expect(raw.startup).toEqual({ ext4: 9.5, xfs: 2.4 });
    expect(readHistory(dir)).toEqual({ history, startup });
    expect(loadRunHistory(dir)).toEqual({ history, startup });
    // A kt that predates it reads `tests` and `notrun` and ignores the part; what it writes back has none.
    fs.writeFileSync(file(), JSON.stringify({ version: 1, tests: raw.tests, notrun: raw.notrun }));
    expect(loadRunHistory(dir)).toEqual({ history, startup: new Map() });
    // Saved without start-ups (none measured yet), the file has no such part.
    saveHistory(dir, history, new Map());
    expect(JSON.parse(fs.readFileSync(file(), 'utf8'))).not.toHaveProperty('startup');

    // A start-up part kt cannot read only hints at the first round: it is left out, and the file
    // keeps its durations (never called damaged for it).
    fs.writeFileSync(file(), JSON.stringify({ version: 1, tests: raw.tests, notrun: raw.notrun, startup: { xfs: -2 } }));
    expect(readHistory(dir)).toEqual({ history });
    fs.writeFileSync(file(), JSON.stringify({ version: 1, tests: raw.tests, notrun: raw.notrun, startup: 'soon' }));
    expect(readHistory(dir)).toEqual({ history });
  });

  it('keeps no start-up a clock stepped back gave (negative), nor one that is not a number', () => {
    const begins = events.filter((e) => e.type === 'test-begin');
    const measured = events.map((e) => (e === begins[0] ? { ...e, checkStartupMs: -850 } : e === begins[1] ? { ...e, checkStartupMs: Number.NaN } : e));
    expect(updateStartups(new Map([['xfs', 2.4]]), measured)).toEqual(new Map([['xfs', 2.4]]));
    expect(updateStartups(new Map(), measured)).toEqual(new Map());
  });
});
