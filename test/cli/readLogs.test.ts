/**
 * readLogs (kt report, compare, baseline update, repro) reads each run once, and no more than
 * once: a copy of a run directory — whole or cut short by a kill — is the same run, whatever the
 * argument order (the longer log is read), but two CI shards that drew the same run id are two
 * runs and both count. Imports src/, so it needs no build.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EVENT_LOG_NAME } from '../../src/record/eventLog.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { readLogs } from '../../src/cli/reportCommand.js';
import { shard } from '../reporters/scenarios.js';
import { makeRunId } from '../../src/record/runDir.js';
import { isShellSessionName, shellSessionName } from '../../src/cli/shellSessionDir.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-readlogs-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** A real two-VM TCG run's event log (test/reporters/fixtures/README.md). */
const REAL_LOG = fs.readFileSync(new URL('../reporters/fixtures/real-tcg-run/events.jsonl', import.meta.url), 'utf8');

function runDir(name: string, text: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, EVENT_LOG_NAME), text);
  return dir;
}

const jsonl = (events: readonly object[]): string => events.map((e) => JSON.stringify(e)).join('\n') + '\n';

describe('readLogs: a run given twice', () => {
  it('a killed copy and the complete log of one run: the complete log is read, in either order', async () => {
    const lines = REAL_LOG.trim().split('\n');
    const complete = runDir('B', REAL_LOG);
    // Copied while the run still wrote: 12 whole lines and half of the next.
    const killed = runDir('C', lines.slice(0, 12).join('\n') + '\n' + lines[12]!.slice(0, 40));
    const runId = (JSON.parse(lines[0]!) as { runId: string }).runId;
    for (const order of [
      [complete, killed],
      [killed, complete],
    ]) {
      const r = await readLogs(order);
      expect(r.dirs).toEqual([complete]);
      expect(r.events.length).toBe(lines.length);
      expect(summarizeRun(r.events).runs.map((run) => run.status)).toEqual(['completed']);
      const cut = `it holds run ${runId} cut short (12 of the 19 events of ${complete}, read instead)`;
      // The killed copy's truncated-line warning goes with it.
      expect(r.warnings).toEqual([`skipped ${killed}: ${cut}`]);
    }
  });

  it('an identical copy is read once', async () => {
    const a = runDir('a', REAL_LOG);
    const copy = runDir('copy', REAL_LOG);
    const r = await readLogs([a, copy]);
    expect(r.dirs).toEqual([a]);
    expect(r.warnings).toEqual([`skipped ${copy}: it holds run 20261202-102131-2b3b, read already from ${a}`]);
  });
});

describe('readLogs: one run id, two runs', () => {
  it('CI shards that drew the same run id are both read, with a warning', async () => {
    const runId = '20261121-233010-beef';
    const one = shard(1).map((e) => (e.type === 'run-start' ? { ...e, runId } : e));
    const two = shard(2).map((e) => (e.type === 'run-start' ? { ...e, runId } : e));
    const a = runDir('shard1', jsonl(one));
    const b = runDir('shard2', jsonl(two));
    const r = await readLogs([a, b]);
    expect(r.dirs).toEqual([a, b]);
    const summary = summarizeRun(r.events);
    expect(summary.counts.total).toBe(6);
    expect(summary.runs.map((run) => run.shard)).toEqual(['1/2', '2/2']);
    expect(r.warnings).toEqual([
      `run id ${runId} is in both ${a} (shard 1/2 on ci-shard-1, started 2026-11-21T23:22:28.000Z, 11 events) and ${b} ` +
        `(shard 2/2 on ci-shard-2, started 2026-11-21T23:22:29.000Z, 11 events): they are different runs, both are read; links and kt repro lines of that run id lead to ${a}`,
    ]);
  });

  it('the same run start but logs that part ways are two logs: both read, with a warning', async () => {
    const lines = REAL_LOG.trim().split('\n');
    const a = runDir('a', REAL_LOG);
    // A hand-edited copy: one test-end's duration changed, so neither log is the start of the other.
    const edited = lines.map((l) => {
      const e = JSON.parse(l) as { type: string; test?: string; durationMs?: number };
      return e.type === 'test-end' && e.test === 'selftest/001' ? JSON.stringify({ ...e, durationMs: (e.durationMs ?? 0) + 1 }) : l;
    });
    expect(edited).not.toEqual(lines);
    const b = runDir('b', edited.join('\n') + '\n');
    const r = await readLogs([a, b]);
    expect(r.dirs).toEqual([a, b]);
    expect(r.warnings[0]).toMatch(/^run id 20261202-102131-2b3b is in both .* they are different runs, both are read/);
  });
});

describe('readLogs: kt-results/* with a kt shell session in it', () => {
  it("skips the session's directory (console log, no event log) with a warning; another directory without a log stays an error", async () => {
    const results = path.join(root, 'kt-results');
    fs.mkdirSync(results);
    const run = runDir('kt-results/20261202-102131-2b3b', REAL_LOG);
    // What `kt shell` leaves after a kernel report: its console log only (docs/shell.md).
    const session = path.join(results, 'shell-20261202-110308-03cd');
    // The name kt shell gives its session (src/cli/shellCommand.ts) is the one skipped.
    expect(isShellSessionName(shellSessionName(makeRunId(new Date())))).toBe(true);
    expect(isShellSessionName('20261202-110308-03cd')).toBe(false);
    fs.mkdirSync(path.join(session, 'console'), { recursive: true });
    fs.copyFileSync(new URL('../reporters/fixtures/sysrq-panic-console.txt', import.meta.url), path.join(session, 'console', 'vm1.log'));
    const r = await readLogs([run, session]);
    expect(r.dirs).toEqual([run]);
    expect(r.warnings).toEqual([`skipped ${session}: it is the console log of a kt shell session, not a run`]);
    // Alone it is no run at all.
    await expect(readLogs([session])).rejects.toMatchObject({ code: 'E_REPORT_NO_RUN_DIR' });
    // A directory of another name without an event log is not skipped.
    const other = path.join(results, 'notes');
    fs.mkdirSync(other);
    await expect(readLogs([run, other])).rejects.toMatchObject({ code: 'E_EVENTS_MISSING', message: `no event log at ${path.join(other, EVENT_LOG_NAME)}` });
    // Nor is a shell-named directory that holds an event log: it is read.
    const named = runDir('kt-results/shell-20261202-120000-0a0b', REAL_LOG.replaceAll('20261202-102131-2b3b', '20261202-120000-0a0b'));
    expect((await readLogs([run, named])).dirs).toEqual([run, named]);
  });
});
