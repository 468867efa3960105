import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeReports } from '../../src/reporters/writeReports.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { interruptedRun } from './scenarios.js';
import { validateJunit } from './xmlSchema.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(tmpdir(), 'kt-reports-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const read = (dir: string, file: string): string => fs.readFileSync(path.join(dir, file), 'utf8');

describe('writeReports', () => {
  it('writes junit.xml, summary.json and report.md and leaves no temporary files', async () => {
    const dir = path.join(root, 'run');
    fs.mkdirSync(dir);
    const { summary, paths } = await writeReports(dir, summarizeRun(interruptedRun()));
    expect(fs.readdirSync(dir).sort()).toEqual(['junit.xml', 'report.md', 'summary.json']);
    expect(paths.junit).toBe(path.join(dir, 'junit.xml'));
    expect(summary.counts.notexecuted).toBe(2);
    expect(validateJunit([read(dir, 'junit.xml')])).toEqual([]);
  });

  it('fails with E_RESULTS_WRITE and cleans up when a report cannot be renamed into place', async () => {
    const dir = path.join(root, 'run');
    fs.mkdirSync(path.join(dir, 'junit.xml', 'occupied'), { recursive: true });
    await expect(writeReports(dir, summarizeRun(interruptedRun()))).rejects.toMatchObject({ code: 'E_RESULTS_WRITE', message: expect.stringContaining(path.join(dir, 'junit.xml')) });
    expect(fs.readdirSync(dir)).toEqual(['junit.xml']);
  });
});
