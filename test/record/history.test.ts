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
import { HISTORY_FILE, loadHistory, readHistory, saveHistory, updateHistory } from '../../src/record/history.js';

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
    expect(loadHistory(dir, (m) => warnings.push(m))).toEqual(new Map());
    expect(warnings).toEqual([
      `${file()} is not JSON: this run starts without a history of test durations; a run that saves its history (not --dry-run) first keeps this file as kt-history.json.damaged`,
    ]);
    // Reading changes nothing (a dry run reads it too).
    expect(fs.readFileSync(file(), 'utf8')).toBe(half);
    expect(saveHistory(dir, history)).toEqual({ saved: true, backup: `${file()}.damaged` });
    expect(fs.readFileSync(`${file()}.damaged`, 'utf8')).toBe(half);
    expect(fs.readFileSync(file(), 'utf8')).toBe(good);
    // The next run reads the new history and says nothing.
    expect(loadHistory(dir, (m) => warnings.push(m))).toEqual(history);
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
      expect(loadHistory(dir, (m) => warnings.push(m))).toEqual(new Map());
      expect(warnings).toEqual([
        `${file()} is of history format 2, written by another kt version (this one writes 1): this run neither uses nor updates it, ` +
          'so its test durations are not saved (run this kt with its own --results directory to keep them)',
      ]);
      expect(saveHistory(dir, history)).toEqual({ saved: false, foreign: { file: file(), version: 2 } });
    }
    expect(fs.readdirSync(dir)).toEqual(['kt-history.json']);
    expect(fs.readFileSync(file(), 'utf8')).toBe(theirs);
  });
});
