import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRunDir } from '../../src/record/runDir.js';

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
});
