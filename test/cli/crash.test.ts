/**
 * `kt crash scan` through the real CLI (dist/, built by `npm test`), on real consoles: the kt
 * corpus captures (test/crash-corpus) and a log of syzkaller's corpus, copied without their
 * headers into a temp dir as a user's saved console logs would be.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseSyzkallerCase } from '../../src/crash/syzkaller-corpus.js';
import { CLI_TIMEOUT_MS, kt as ktIn, snapshot } from './helpers.js';

const CORPUS = new URL('../crash-corpus/', import.meta.url).pathname;
let tmp: string;

/** The console part of a kt corpus file (its header dropped). */
function ktConsole(name: string): Buffer {
  const bytes = fs.readFileSync(path.join(CORPUS, name));
  return bytes.subarray(bytes.indexOf('\n\n') + 2);
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-crash-scan-'));
  fs.writeFileSync(path.join(tmp, 'sysrq.log'), ktConsole('sysrq-panic.log'));
  fs.writeFileSync(path.join(tmp, 'warn.log'), ktConsole('module-warn-on.log'));
  fs.writeFileSync(path.join(tmp, 'clean.log'), ktConsole('pass-three-tests-not-a-crash.log'));
  fs.writeFileSync(path.join(tmp, 'xfs.log'), ktConsole('xfs-corruption-messages-not-a-crash.log'));
  fs.writeFileSync(path.join(tmp, 'atomic.log'), ktConsole('module-scheduling-while-atomic.log'));
  fs.writeFileSync(path.join(tmp, 'syzbot-101.log'), parseSyzkallerCase(fs.readFileSync(path.join(CORPUS, 'syzkaller/101'))).log);
  fs.mkdirSync(path.join(tmp, 'a-dir'));
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const kt = (args: string[], input?: string) => ktIn(args, { cwd: tmp, ...(input !== undefined ? { input } : {}) });

describe('kt crash scan', () => {
  it('prints one line per report and exits 1', async () => {
    const r = await kt(['crash', 'scan', 'sysrq.log']);
    expect(r).toEqual({ code: 1, err: '', out: 'sysrq.log:33: kernel panic: sysrq triggered crash (fatal, test selftest/005)' });
  }, CLI_TIMEOUT_MS);

  it('prints nothing and exits 0 for clean logs, filesystem corruption messages included', async () => {
    expect(await kt(['crash', 'scan', 'clean.log', 'xfs.log'])).toEqual({ code: 0, err: '', out: '' });
  }, CLI_TIMEOUT_MS);

  it('scans every file in order, with non-fatal and corrupted reports marked as such', async () => {
    const r = await kt(['crash', 'scan', 'warn.log', 'clean.log', 'atomic.log', 'syzbot-101.log']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('');
    expect(r.out.split('\n')).toEqual([
      'warn.log:23: WARNING in crashmod_warn (test crashmod/warn)',
      'atomic.log:23: BUG: scheduling while atomic in msleep (test crashmod/atomic_sleep)',
      'atomic.log:69: BUG: scheduling while atomic in do_task_dead (test crashmod/atomic_sleep)',
      'syzbot-101.log:3: BUG: unable to handle kernel (corrupted)',
    ]);
  }, CLI_TIMEOUT_MS);

  it('--json prints one object per report', async () => {
    const r = await kt(['crash', 'scan', '--json', 'warn.log']);
    expect(r.code).toBe(1);
    const lines = r.out.split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(report).toMatchObject({
      file: 'warn.log',
      title: 'WARNING in crashmod_warn',
      type: 'warning',
      fatal: false,
      corrupted: false,
      frame: 'crashmod_warn',
      test: 'crashmod/warn',
      startLine: 23,
      endLine: 63,
      pattern: 'warning',
    });
    expect(report['fingerprint']).toMatch(/^[0-9a-f]{16}$/);
    expect(report['excerpt']).toContain('WARNING: CPU: 1 PID: 96 at /tmp/crashlab/capture/mod/crashmod.c:35 crashmod_warn+0x5/0x10 [crashmod]');
  }, CLI_TIMEOUT_MS);

  it('reads stdin for -', async () => {
    const r = await kt(['crash', 'scan', '-'], ktConsole('sysrq-panic.log').toString('utf8'));
    expect(r).toEqual({ code: 1, err: '', out: '-:33: kernel panic: sysrq triggered crash (fatal, test selftest/005)' });
    const json = await kt(['crash', 'scan', 'clean.log', '-', '--json'], ktConsole('module-warn-on.log').toString('utf8'));
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ file: '-', title: 'WARNING in crashmod_warn', frame: 'crashmod_warn', corrupted: false });
  }, CLI_TIMEOUT_MS);

  it('refuses a missing file, a directory and no file at all (exit 2, nothing scanned, nothing written)', async () => {
    const before = snapshot(tmp);
    expect(await kt(['crash', 'scan', 'sysrq.log', 'nope.log'])).toEqual({
      code: 2,
      out: '',
      err: 'kt: error E_CRASH_SCAN_FILE: console log nope.log does not exist\n  hint: give the path of a saved console log, or - to read stdin',
    });
    expect(await kt(['crash', 'scan', 'a-dir'])).toEqual({
      code: 2,
      out: '',
      err: 'kt: error E_CRASH_SCAN_FILE: console log a-dir is a directory\n  hint: give a console log file (e.g. <run-dir>/console/vm1.log), or - to read stdin',
    });
    expect(await kt(['crash', 'scan'])).toEqual({
      code: 2,
      out: '',
      err: 'kt: error E_CRASH_SCAN_NO_FILE: kt crash scan needs a console log to read\n  hint: give one or more files, or - to read stdin: kt crash scan console.log',
    });
    expect(await kt(['crash', 'list', 'sysrq.log'])).toEqual({
      code: 2,
      out: '',
      err: 'kt: error E_USAGE: Invalid values:\n  Argument: action, Given: "list", Choices: "scan"\n  hint: kt --help lists the commands and options',
    });
    expect(snapshot(tmp)).toEqual(before);
  }, CLI_TIMEOUT_MS * 4);
});
