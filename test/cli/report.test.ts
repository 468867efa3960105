/**
 * `kt report` through the real binary: replaying a log gives the live run's reports byte for
 * byte, shards merge, and a damaged or empty log — or an --out that is another run — is refused
 * with exit 2 and nothing a user had is changed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/record/events.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { writeReports } from '../../src/reporters/writeReports.js';
import { reportWriteError } from '../../src/cli/reportCommand.js';
import { spawnSync } from 'node:child_process';
import { interruptedRun, shard } from '../reporters/scenarios.js';
import { CLI_TIMEOUT_MS, KT, kt, snapshot, writeRunDir } from './helpers.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-report-cli-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** A run directory as `kt run` leaves it: the event log and the reports made from it. */
async function runDir(name: string, events: RunEvent[]): Promise<string> {
  const dir = writeRunDir(path.join(root, name), events);
  await writeReports(dir, summarizeRun(events));
  return dir;
}

const read = (dir: string, file: string): string => fs.readFileSync(path.join(dir, file), 'utf8');

describe('kt report on good logs', () => {
  it('rebuilds byte-identical reports from the event log of a run', async () => {
    const dir = await runDir('run', interruptedRun());
    const before = snapshot(dir);
    for (const f of ['junit.xml', 'summary.json', 'report.md', 'report.html']) fs.rmSync(path.join(dir, f));
    const r = await kt(['report', dir], { cwd: root });
    // The run was interrupted by SIGINT: its report says so with kt run's exit code.
    expect(r.code).toBe(130);
    expect(r.err).toBe('kt: run 20261121-232227-a1b2 was interrupted by SIGINT');
    expect(r.out).toContain(`kt: reports written to ${dir}`);
    expect(snapshot(dir)).toEqual(before);
  }, CLI_TIMEOUT_MS);

  it('merges CI shards into --out', async () => {
    const a = await runDir('shard1', shard(1));
    const b = await runDir('shard2', shard(2));
    const out = path.join(root, 'merged');
    const r = await kt(['report', a, b, '--out', out], { cwd: root });
    expect(r.code).toBe(1);
    expect(fs.readdirSync(out).sort()).toEqual(['junit.xml', 'report.html', 'report.md', 'summary.json']);
    const summary = JSON.parse(read(out, 'summary.json')) as { counts: { total: number } };
    expect(summary.counts.total).toBe(6);
  }, CLI_TIMEOUT_MS);

  it('reads a killed run (a truncated last line) with a warning and reports what it has', async () => {
    const dir = await runDir('killed', interruptedRun().slice(0, 20));
    fs.appendFileSync(path.join(dir, 'events.jsonl'), '{"type":"test-end","ts":"2026-11-');
    const r = await kt(['report', path.join(dir, 'events.jsonl')], { cwd: root });
    // A log without its end is a killed run: not a pass, whatever ran (kt's host error code).
    expect(r.code).toBe(3);
    expect(r.err).toBe(
      `kt: warning: ${path.join(dir, 'events.jsonl')}:21: skipped a truncated last line (the writer was killed mid-write)\n` +
        'kt: run 20261121-232227-a1b2 was killed (its log has no end)',
    );
    expect(read(dir, 'junit.xml')).toContain('not executed: run interrupted');
  }, CLI_TIMEOUT_MS);
});

describe('kt report refuses what would destroy results (exit 2, nothing changed)', () => {
  it('a log file inside another run directory, without --out', async () => {
    const other = await runDir('other', shard(2));
    fs.copyFileSync(path.join(await runDir('a', shard(1)), 'events.jsonl'), path.join(other, 'copy.jsonl'));
    const before = snapshot(other);
    const r = await kt(['report', path.join(other, 'copy.jsonl')], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `kt: error E_REPORT_OUT_IS_RUN: ${path.join(other, 'copy.jsonl')} is not the event log of ${other}, which holds another run; its reports would be replaced\n` +
        '  hint: give --out a new directory for the reports of this log',
    );
    expect(snapshot(other)).toEqual(before);
  }, CLI_TIMEOUT_MS);

  const damaged: [string, (log: string) => void, (log: string) => string][] = [
    ['garbage in the middle', (log) => {
      const lines = fs.readFileSync(log, 'utf8').split('\n');
      lines.splice(3, 0, 'this is not an event');
      fs.writeFileSync(log, lines.join('\n'));
    }, (log) => `kt: error E_EVENTS_DAMAGED: ${log}:4: not a JSON event line; no report was written`],
    ['a binary tail', (log) => fs.appendFileSync(log, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0a])), (log) => `kt: error E_EVENTS_DAMAGED: ${log}:38: not a JSON event line; no report was written`],
    ['an empty file', (log) => fs.writeFileSync(log, ''), (log) => `kt: error E_EVENTS_EMPTY: ${log} holds no run (no events); no report was written`],
  ];
  for (const [what, damage, message] of damaged) {
    it(`a log with ${what}`, async () => {
      const dir = await runDir('run', interruptedRun());
      const log = path.join(dir, 'events.jsonl');
      damage(log);
      const before = snapshot(dir);
      const r = await kt(['report', dir], { cwd: root });
      expect(r.code).toBe(2);
      expect(r.err.split('\n')[0]).toBe(message(log));
      expect(r.err).toContain('hint: ');
      expect(snapshot(dir)).toEqual(before);
    }, CLI_TIMEOUT_MS);
  }

  it('--out naming another run directory', async () => {
    const a = await runDir('a', shard(1));
    const b = await runDir('b', shard(2));
    const before = snapshot(b);
    const r = await kt(['report', a, '--out', b], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `kt: error E_REPORT_OUT_IS_RUN: --out ${b} is the run directory of another run; its reports would be replaced\n` +
        '  hint: give --out a new directory (or the run directory being reported)',
    );
    expect(snapshot(b)).toEqual(before);
  }, CLI_TIMEOUT_MS);

  it('--out under /proc and an empty --out', async () => {
    const a = await runDir('a', shard(1));
    const r = await kt(['report', a, '--out', '/proc/kt-x'], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kt: error E_REPORT_OUT_UNWRITABLE: --out \/proc\/kt-x cannot be created or written \(E\w+\)\n/);
    const e = await kt(['report', a, '--out', ''], { cwd: root });
    expect(e.code).toBe(2);
    expect(e.err).toBe('kt: error E_EMPTY_VALUE: --out was given without a directory\n  hint: give a new directory for the merged reports, e.g. --out kt-results/merged');
  }, CLI_TIMEOUT_MS);

  it('--out given twice, several runs without --out, a run directory that does not exist', async () => {
    const a = await runDir('a', shard(1));
    const b = await runDir('b', shard(2));
    expect((await kt(['report', a, '--out', 'x', '--out', 'y'], { cwd: root })).err).toBe('kt: error E_FLAG_REPEATED: --out was given 2 times (x, y)\n  hint: give --out once');
    expect((await kt(['report', a, b], { cwd: root })).err).toBe(`kt: error E_REPORT_OUT: 2 run directories given (${a}, ${b}) but no --out\n  hint: merged reports need their own directory: add --out <dir>`);
    const missing = path.join(root, 'nope');
    const r = await kt(['report', missing], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe(`kt: error E_REPORT_RUN_DIR: run directory ${missing} does not exist`);
  }, CLI_TIMEOUT_MS);
});

describe('kt report reads each run once', () => {
  it('kt-results/* (a run, latest pointing at it, kt-history.json): the run once, the rest skipped with a warning', async () => {
    const results = path.join(root, 'kt-results');
    fs.mkdirSync(results);
    const run = await runDir('kt-results/20261121-232227-a1b2', shard(1));
    fs.symlinkSync('20261121-232227-a1b2', path.join(results, 'latest'));
    fs.writeFileSync(path.join(results, 'kt-history.json'), '{"version":1,"tests":{}}\n');
    // A damaged history kt kept aside (src/record/history.ts).
    fs.writeFileSync(path.join(results, 'kt-history.json.damaged'), '{"version":1,"te');
    const out = path.join(root, 'merged');
    const r = await kt(['report', 'kt-results/20261121-232227-a1b2', 'kt-results/kt-history.json', 'kt-results/kt-history.json.damaged', 'kt-results/latest', '--out', out], { cwd: root });
    expect(r.err).toBe(
      "kt: warning: skipped kt-results/kt-history.json: it is kt's test history of a results directory, not a run\n" +
        "kt: warning: skipped kt-results/kt-history.json.damaged: it is kt's test history of a results directory, not a run\n" +
        'kt: warning: skipped kt-results/latest: it is kt-results/20261121-232227-a1b2 again',
    );
    expect(r.code).toBe(1);
    expect(read(out, 'summary.json')).toBe(read(run, 'summary.json'));
    // Alone, the history is no run at all.
    const h = await kt(['report', 'kt-results/kt-history.json'], { cwd: root });
    expect(h.code).toBe(2);
    expect(h.err.split('\n')[0]).toBe(
      "kt: error E_REPORT_NO_RUN_DIR: no run directory among kt-results/kt-history.json (skipped kt-results/kt-history.json: it is kt's test history of a results directory, not a run)",
    );
  }, CLI_TIMEOUT_MS);

  it('a copy of a run directory (the same run id) is read once, in report and compare alike', async () => {
    const a = await runDir('a', shard(1));
    fs.cpSync(a, path.join(root, 'copy'), { recursive: true });
    const out = path.join(root, 'merged');
    const r = await kt(['report', 'a', 'copy', '--out', out], { cwd: root });
    expect(r.err).toBe(`kt: warning: skipped copy: it holds run ${JSON.parse(read(a, 'summary.json')).runs[0].runId}, read already from a`);
    expect(read(out, 'summary.json')).toBe(read(a, 'summary.json'));
    const c = await kt(['compare', 'a', 'copy', '--', 'a'], { cwd: root });
    expect(c.err.split('\n')[0]).toMatch(/^kt: warning: skipped copy: it holds run \S+, read already from a$/);
    expect(c.out.split('\n')[0]).toMatch(/^kt compare: base 1 run /);
  }, CLI_TIMEOUT_MS);

  it('a file that is no event log is named as such (exit 2)', async () => {
    fs.writeFileSync(path.join(root, 'notes.txt'), 'my notes\n');
    const r = await kt(['report', 'notes.txt'], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'kt: error E_REPORT_NOT_A_RUN: notes.txt is not a run directory or a kt event log (notes.txt:1: not a JSON event line)\n' +
        '  hint: pass run directories (each holds events.jsonl) or their events.jsonl files',
    );
  }, CLI_TIMEOUT_MS);
});

describe('kt report and files that are not regular files', () => {
  it('refuses a device given as the log, or in place of a run directory\'s events.jsonl, at once (exit 2)', async () => {
    const r = await kt(['report', '/dev/zero'], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'kt: error E_REPORT_NOT_A_RUN: /dev/zero is not a run directory or a kt event log (a device, not a file)\n' +
        '  hint: pass run directories (each holds events.jsonl) or their events.jsonl files',
    );
    const dir = path.join(root, 'run');
    fs.mkdirSync(dir);
    fs.symlinkSync('/dev/zero', path.join(dir, 'events.jsonl'));
    const d = await kt(['report', 'run'], { cwd: root });
    expect(d.code).toBe(2);
    expect(d.err.split('\n')[0]).toBe(`kt: error E_EVENTS_NOT_A_FILE: ${path.join('run', 'events.jsonl')} is not a regular file (a device), so not a kt event log`);
    expect(fs.readdirSync(dir)).toEqual(['events.jsonl']);
  }, CLI_TIMEOUT_MS);

  it("reads a log from a shell's process substitution (a pipe): kt report <(cat events.jsonl) --out DIR", async () => {
    const dir = await runDir('shard1', shard(1));
    const direct = await kt(['report', 'shard1', '--out', 'direct'], { cwd: root });
    const r = spawnSync('bash', ['-c', 'node "$1" report <(cat shard1/events.jsonl) --out piped', 'bash', KT], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.stderr).toBe(direct.err);
    expect(r.status).toBe(direct.code);
    expect(read(path.join(root, 'piped'), 'summary.json')).toBe(read(path.join(root, 'direct'), 'summary.json'));
    expect(fs.existsSync(dir)).toBe(true);
  }, CLI_TIMEOUT_MS);
});

describe('kt report into a place it cannot write', () => {
  it('exit 2 naming the file and the reason, with a hint about --out (kt report has no --results)', async () => {
    const dir = await runDir('run', shard(1));
    // kt run's layout: kt writes over the reports of its own run directory, so a directory
    // named report.md there is not moved aside, and renaming the new report onto it fails.
    fs.mkdirSync(path.join(dir, 'console'));
    fs.mkdirSync(path.join(dir, 'results'));
    fs.rmSync(path.join(dir, 'report.md'));
    fs.mkdirSync(path.join(dir, 'report.md', 'x'), { recursive: true });
    const r = await kt(['report', dir], { cwd: root });
    expect(r.err).toBe(`kt: error E_REPORT_OUT_UNWRITABLE: cannot write ${path.join(dir, 'report.md')}: EISDIR\n  hint: add --out DIR, a directory you can write to, for the reports`);
    expect(r.code).toBe(2);
    expect(fs.readdirSync(path.join(dir, 'report.md'))).toEqual(['x']);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, CLI_TIMEOUT_MS);

  it('reportWriteError (pure): bad places exit 2 with --out, a full disk exit 3', () => {
    const errno = (code: string) => Object.assign(new Error(code), { code });
    expect(reportWriteError('/r/run/junit.xml', errno('EACCES'), true)).toMatchObject({
      code: 'E_REPORT_OUT_UNWRITABLE',
      exitCode: 2,
      message: 'cannot write /r/run/junit.xml: EACCES',
      hint: 'make /r/run writable by this user, or give --out a directory you can write to',
    });
    expect(reportWriteError('/r/run/junit.xml', errno('ENOTDIR'), false)).toMatchObject({ exitCode: 2, hint: 'add --out DIR, a directory you can write to, for the reports' });
    const full = reportWriteError('/r/run/junit.xml', errno('ENOSPC'), false);
    expect(full).toMatchObject({ code: 'E_REPORT_WRITE', exitCode: 3 });
    expect(full.hint).toContain('--out');
    expect(full.hint).not.toContain('--results');
  });
});

describe('kt report --out a directory of the user (not a run directory)', () => {
  it('a log given as a file in a folder that is no run directory: the user\'s reports there are moved aside', async () => {
    const a = await runDir('a', shard(1));
    const dl = path.join(root, 'dl');
    fs.mkdirSync(dl);
    fs.writeFileSync(path.join(dl, 'report.md'), 'mine\n');
    fs.copyFileSync(path.join(a, 'events.jsonl'), path.join(dl, 'shard1-events.jsonl'));
    const r = await kt(['report', 'dl/shard1-events.jsonl'], { cwd: root });
    expect(r.code).toBe(1);
    expect(r.err).toBe(`kt: ${path.join(dl, 'report.md')} was not written by kt: kept as report.md.kt-old`);
    expect(read(dl, 'report.md.kt-old')).toBe('mine\n');
    expect(read(dl, 'report.md')).toMatch(/^# \S+ kt: /);
    // The same for a copied log under kt's own name: a folder holding events.jsonl alone is no run directory.
    fs.renameSync(path.join(dl, 'shard1-events.jsonl'), path.join(dl, 'events.jsonl'));
    fs.writeFileSync(path.join(dl, 'junit.xml'), '<mine/>\n');
    const d = await kt(['report', 'dl'], { cwd: root });
    expect(d.err).toBe(`kt: ${path.join(dl, 'junit.xml')} was not written by kt: kept as junit.xml.kt-old`);
    expect(read(dl, 'junit.xml.kt-old')).toBe('<mine/>\n');
  }, CLI_TIMEOUT_MS);

  it('moves a report file kt did not write aside to NAME.kt-old (then .1), and replaces its own', async () => {
    const a = await runDir('a', shard(1));
    const out = path.join(root, 'userdir');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'report.md'), '# my notes on this kernel\n');
    // Another tool's JUnit file (pytest's opening) is not kt's.
    fs.writeFileSync(path.join(out, 'junit.xml'), '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest"/></testsuites>\n');
    fs.writeFileSync(path.join(out, 'notes.txt'), 'untouched\n');
    const r = await kt(['report', a, '--out', out], { cwd: root });
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `kt: ${path.join(out, 'junit.xml')} was not written by kt: kept as junit.xml.kt-old\n` + `kt: ${path.join(out, 'report.md')} was not written by kt: kept as report.md.kt-old`,
    );
    expect(read(out, 'report.md.kt-old')).toBe('# my notes on this kernel\n');
    expect(read(out, 'junit.xml.kt-old')).toContain('pytest tests');
    expect(read(out, 'notes.txt')).toBe('untouched\n');
    expect(read(out, 'report.md')).toMatch(/^# \S+ kt: /);

    // kt's own reports of the first report are replaced, nothing more is kept.
    const again = await kt(['report', a, '--out', out], { cwd: root });
    expect(again.err).toBe('');
    expect(fs.readdirSync(out).sort()).toEqual(['junit.xml', 'junit.xml.kt-old', 'notes.txt', 'report.html', 'report.md', 'report.md.kt-old', 'summary.json']);

    // A later file of the user's never replaces the first backup; a directory in the way is moved too.
    fs.writeFileSync(path.join(out, 'report.md'), 'edited by hand\n');
    fs.rmSync(path.join(out, 'summary.json'));
    fs.mkdirSync(path.join(out, 'summary.json'));
    const third = await kt(['report', a, '--out', out, '--format', 'md,json'], { cwd: root });
    expect(third.err).toBe(
      `kt: ${path.join(out, 'summary.json')} was not written by kt: kept as summary.json.kt-old\n` + `kt: ${path.join(out, 'report.md')} was not written by kt: kept as report.md.kt-old.1`,
    );
    expect(read(out, 'report.md.kt-old')).toBe('# my notes on this kernel\n');
    expect(read(out, 'report.md.kt-old.1')).toBe('edited by hand\n');
    expect(fs.statSync(path.join(out, 'summary.json.kt-old')).isDirectory()).toBe(true);
  }, CLI_TIMEOUT_MS);

  it('a regular file as --out: exit 2 naming it, the file unchanged', async () => {
    const a = await runDir('a', shard(1));
    const file = path.join(root, 'emptyfile');
    fs.writeFileSync(file, '');
    const r = await kt(['report', a, '--out', 'emptyfile'], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.err).toBe('kt: error E_REPORT_OUT_NOT_DIR: --out emptyfile is a file, not a directory\n  hint: give --out a directory for the reports (a new one is created)');
    expect(fs.readFileSync(file, 'utf8')).toBe('');
  }, CLI_TIMEOUT_MS);
});

describe('kt report --format', () => {
  const ALL = ['junit.xml', 'report.html', 'report.md', 'summary.json'];

  it('rewrites only the reports asked for (repeatable, comma lists)', async () => {
    const dir = await runDir('run', interruptedRun());
    for (const f of ALL) fs.rmSync(path.join(dir, f));
    const r = await kt(['report', dir, '--format', 'html'], { cwd: root });
    expect(r.code).toBe(130);
    expect(r.out).toContain(`kt: report.html written to ${dir}`);
    expect(fs.readdirSync(dir).filter((f) => ALL.includes(f))).toEqual(['report.html']);
    expect(read(dir, 'report.html')).toMatch(/^<!DOCTYPE html>/);
    const m = await kt(['report', dir, '--format', 'md,junit', '--format', 'json'], { cwd: root });
    expect(m.out).toContain(`kt: junit.xml, summary.json, report.md written to ${dir}`);
    expect(fs.readdirSync(dir).filter((f) => ALL.includes(f)).sort()).toEqual(ALL);
  }, CLI_TIMEOUT_MS);

  it('refuses an unknown format before writing anything (exit 2)', async () => {
    const dir = await runDir('run', interruptedRun());
    const before = snapshot(dir);
    const r = await kt(['report', dir, '--format', 'md,pdf'], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.err).toBe('kt: error E_REPORT_FORMAT: --format pdf is not a report format\n  hint: give --format junit, json, md or html (repeatable, or a comma list such as --format md,html)');
    const e = await kt(['report', dir, '--format', ''], { cwd: root });
    expect(e.code).toBe(2);
    expect(e.err.split('\n')[0]).toBe('kt: error E_REPORT_FORMAT: --format  names no format');
    expect(snapshot(dir)).toEqual(before);
  }, CLI_TIMEOUT_MS);

  it('compares durations with the previous run of the results directory', async () => {
    const fixture = (name: string): RunEvent[] =>
      fs.readFileSync(new URL(`../reporters/fixtures/real-tcg-run/${name}`, import.meta.url), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RunEvent);
    const results = path.join(root, 'kt-results');
    fs.mkdirSync(results);
    // Named by run id as `kt run` names them; `latest` points at the newest.
    const previous = await runDir('kt-results/20261202-102008-49b1', fixture('previous.events.jsonl'));
    const current = await runDir('kt-results/20261202-102131-2b3b', fixture('events.jsonl'));
    fs.symlinkSync('20261202-102131-2b3b', path.join(results, 'latest'));
    const r = await kt(['report', path.join(results, 'latest'), '--format', 'html'], { cwd: root });
    expect(r.code).toBe(1);
    const html = read(current, 'report.html');
    expect(html).toContain('Durations against the previous run');
    expect(html).toContain('Compared with <code>20261202-102008-49b1</code>');
    // The oldest run has none before it.
    expect(read(previous, 'report.html')).not.toContain('Durations against the previous run');
  }, CLI_TIMEOUT_MS);

  it('links a merged report to the files in each shard directory', async () => {
    const a = await runDir('shard1', shard(1));
    const b = await runDir('shard2', shard(2));
    const out = path.join(root, 'merged');
    await kt(['report', a, b, '--out', out, '--format', 'html'], { cwd: root });
    const html = read(out, 'report.html');
    expect(html).toContain('href="../shard1/console/vm1.log"');
    expect(html).toContain('href="../shard2/console/vm1.log"');
  }, CLI_TIMEOUT_MS);
});
