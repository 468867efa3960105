import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventLogWriter } from '../../src/record/eventLog.js';
import { reportCommand, writeReports } from '../../src/reporters/writeReports.js';
import type { RunEvent } from '../../src/record/events.js';
import { interruptedRun, shard } from './scenarios.js';
import { validateJunit } from './xmlSchema.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(tmpdir(), 'kt-reports-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function runDir(name: string, events: RunEvent[]): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  const writer = EventLogWriter.open(dir, { durable: false });
  for (const e of events) writer.append(e);
  writer.close();
  return dir;
}

const read = (dir: string, file: string): string => fs.readFileSync(path.join(dir, file), 'utf8');

describe('writeReports', () => {
  it('writes junit.xml, summary.json and report.md and leaves no temporary files', async () => {
    const dir = path.join(root, 'run');
    fs.mkdirSync(dir);
    const { summary, paths } = await writeReports(dir, interruptedRun());
    expect(fs.readdirSync(dir).sort()).toEqual(['junit.xml', 'report.md', 'summary.json']);
    expect(paths.junit).toBe(path.join(dir, 'junit.xml'));
    expect(summary.counts.notexecuted).toBe(2);
    expect(validateJunit([read(dir, 'junit.xml')])).toEqual([]);
  });

  it('fails with E_RESULTS_WRITE and cleans up when a report cannot be renamed into place', async () => {
    const dir = path.join(root, 'run');
    fs.mkdirSync(path.join(dir, 'junit.xml', 'occupied'), { recursive: true });
    await expect(writeReports(dir, interruptedRun())).rejects.toMatchObject({ code: 'E_RESULTS_WRITE', message: expect.stringContaining(path.join(dir, 'junit.xml')) });
    expect(fs.readdirSync(dir)).toEqual(['junit.xml']);
  });
});

describe('reportCommand', () => {
  it('replaying events.jsonl gives byte-identical reports to the live run', async () => {
    const events = interruptedRun();
    const live = path.join(root, 'live');
    fs.mkdirSync(live);
    await writeReports(live, events);
    const replayed = runDir('replayed', events);
    const result = await reportCommand([replayed]);
    expect(result.outDir).toBe(replayed);
    expect(result.warnings).toEqual([]);
    for (const file of ['junit.xml', 'summary.json', 'report.md']) expect(read(replayed, file)).toBe(read(live, file));
  });

  it('merges CI shards into --out', async () => {
    const a = runDir('shard1', shard(1));
    const b = runDir('shard2', shard(2));
    const out = path.join(root, 'merged');
    const result = await reportCommand([a, b], out);
    expect(result.logs).toEqual([path.join(a, 'events.jsonl'), path.join(b, 'events.jsonl')]);
    expect(result.summary.counts.total).toBe(6);
    expect(result.summary.crashes[0]?.count).toBe(2);
    expect(fs.readdirSync(out).sort()).toEqual(['junit.xml', 'report.md', 'summary.json']);
  });

  it('reads a killed run (truncated last line) and reports what it has', async () => {
    const dir = runDir('killed', interruptedRun().slice(0, 20));
    fs.appendFileSync(path.join(dir, 'events.jsonl'), '{"type":"test-end","ts":"2026-11-');
    const result = await reportCommand([path.join(dir, 'events.jsonl')]);
    expect(result.outDir).toBe(dir);
    expect(result.warnings).toEqual([`${path.join(dir, 'events.jsonl')}:21: skipped a truncated last line (the writer was killed mid-write)`]);
    expect(result.summary.interrupted).toBe(true);
    expect(read(dir, 'junit.xml')).toContain('not executed: run interrupted');
  });

  it('asks for --out when merging several run directories', async () => {
    const a = runDir('a', shard(1));
    const b = runDir('b', shard(2));
    await expect(reportCommand([a, b])).rejects.toMatchObject({ code: 'E_REPORT_OUT', hint: 'merged reports need their own directory: add --out <dir>' });
  });

  it('names a run directory that does not exist', async () => {
    const missing = path.join(root, 'nope');
    await expect(reportCommand([missing])).rejects.toMatchObject({ code: 'E_REPORT_RUN_DIR', message: `run directory ${missing} does not exist` });
  });
});
