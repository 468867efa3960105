import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRunDir, createRunDirAndLink, isRunDirLayout, mayReplaceLatest, runDirsCreated } from '../../src/record/runDir.js';

let tmp: string | undefined;
afterEach(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

describe('createRunDir', () => {
  it('makes the run directory with console/ and results/, and points latest at it', () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-rundir-'));
    const dir = createRunDir(tmp, '20261203-151900-abcd');
    expect(dir).toBe(path.join(tmp, '20261203-151900-abcd'));
    expect(fs.readdirSync(dir).sort()).toEqual(['console', 'results']);
    expect(fs.readlinkSync(path.join(tmp, 'latest'))).toBe('20261203-151900-abcd');
  });

  it('where it cannot be made, fails with E_RESULTS_WRITE naming it (exit 3), not a bare fs error', () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-rundir-'));
    // A results "directory" that is a file: ENOTDIR even for root.
    const file = path.join(tmp, 'results');
    fs.writeFileSync(file, 'mine\n');
    expect(() => createRunDir(file, '20261203-151900-abcd')).toThrow(
      expect.objectContaining({ code: 'E_RESULTS_WRITE', exitCode: 3, message: `cannot create ${path.join(file, '20261203-151900-abcd')}: ENOTDIR` }),
    );
    expect(fs.readFileSync(file, 'utf8')).toBe('mine\n');
  });

  it("replaces latest only when it is kt's symlink: a file or directory named latest is the user's, kept, and the caller told", () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-rundir-'));
    const first = createRunDirAndLink(tmp, '20261203-151900-aaaa');
    expect(first.latest).toBe('updated');
    const second = createRunDirAndLink(tmp, '20261203-151901-bbbb');
    expect(second.latest).toBe('updated');
    expect(fs.readlinkSync(path.join(tmp, 'latest'))).toBe('20261203-151901-bbbb');

    fs.rmSync(path.join(tmp, 'latest'));
    fs.writeFileSync(path.join(tmp, 'latest'), 'mine\n');
    const third = createRunDirAndLink(tmp, '20261203-151902-cccc');
    expect(third).toEqual({ dir: path.join(tmp, '20261203-151902-cccc'), latest: 'not-a-link' });
    expect(fs.readFileSync(path.join(tmp, 'latest'), 'utf8')).toBe('mine\n');
    // createRunDir (kt run's path) keeps it too, and leaves no temporary link behind.
    createRunDir(tmp, '20261203-151903-dddd');
    expect(fs.readFileSync(path.join(tmp, 'latest'), 'utf8')).toBe('mine\n');
    expect(fs.readdirSync(tmp).filter((n) => n.includes('.tmp'))).toEqual([]);

    fs.rmSync(path.join(tmp, 'latest'));
    fs.mkdirSync(path.join(tmp, 'latest'));
    fs.writeFileSync(path.join(tmp, 'latest', 'notes'), 'mine\n');
    expect(createRunDirAndLink(tmp, '20261203-151904-eeee').latest).toBe('not-a-link');
    expect(fs.readFileSync(path.join(tmp, 'latest', 'notes'), 'utf8')).toBe('mine\n');
  });

  it('mayReplaceLatest (pure): nothing there or a symlink only', () => {
    expect(mayReplaceLatest(undefined)).toBe(true);
    expect(mayReplaceLatest({ isSymbolicLink: () => true })).toBe(true);
    expect(mayReplaceLatest({ isSymbolicLink: () => false })).toBe(false);
  });

  it('remembers the run directories this process created, absolute, in order', () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-rundir-'));
    const mark = runDirsCreated().length;
    createRunDir(tmp, '20261203-151900-aaaa');
    createRunDir(tmp, '20261203-151901-bbbb');
    expect(runDirsCreated().slice(mark)).toEqual([path.join(tmp, '20261203-151900-aaaa'), path.join(tmp, '20261203-151901-bbbb')]);
  });
});

describe('isRunDirLayout', () => {
  it('is a run directory as createRunDir makes it, with its event log; not a folder holding only a copied log', () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-rundir-'));
    const dir = createRunDir(tmp, '20261203-151900-abcd');
    expect(isRunDirLayout(dir, 'events.jsonl')).toBe(false);
    fs.writeFileSync(path.join(dir, 'events.jsonl'), '');
    expect(isRunDirLayout(dir, 'events.jsonl')).toBe(true);
    const downloads = path.join(tmp, 'dl');
    fs.mkdirSync(downloads);
    fs.writeFileSync(path.join(downloads, 'events.jsonl'), '');
    expect(isRunDirLayout(downloads, 'events.jsonl')).toBe(false);
  });
});
