import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeReports } from '../../src/reporters/writeReports.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { interruptedRun, previousOfInterruptedRun } from './scenarios.js';
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
  it('writes junit.xml, summary.json, report.md and report.html and leaves no temporary files', async () => {
    const dir = path.join(root, 'run');
    fs.mkdirSync(dir);
    const { summary, paths } = await writeReports(dir, summarizeRun(interruptedRun()));
    expect(fs.readdirSync(dir).sort()).toEqual(['junit.xml', 'report.html', 'report.md', 'summary.json']);
    expect(paths.html).toBe(path.join(dir, 'report.html'));
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

  it("turns a failed write into the caller's error when given one (kt report's: no --results hint)", async () => {
    const dir = path.join(root, 'run');
    fs.mkdirSync(path.join(dir, 'junit.xml', 'occupied'), { recursive: true });
    const seen: [string, string | undefined][] = [];
    const writeError = (file: string, err: unknown) => {
      seen.push([file, (err as NodeJS.ErrnoException).code]);
      return new Error(`mine: ${file}`);
    };
    await expect(writeReports(dir, summarizeRun(interruptedRun()), undefined, { writeError })).rejects.toThrow(`mine: ${path.join(dir, 'junit.xml')}`);
    expect(seen).toEqual([[path.join(dir, 'junit.xml'), 'EISDIR']]);
    expect(fs.readdirSync(dir)).toEqual(['junit.xml']);
  });

  it('writes only the formats asked for', async () => {
    const dir = path.join(root, 'run');
    fs.mkdirSync(dir);
    await writeReports(dir, summarizeRun(interruptedRun()), undefined, { formats: ['html', 'junit'] });
    expect(fs.readdirSync(dir).sort()).toEqual(['junit.xml', 'report.html']);
  });

  it('compares report.html with the run before it in the results directory, unless told not to', async () => {
    // Run directories are named by run id (sortable by time); `latest` and other names are not runs.
    const older = path.join(root, '20261121-221500-9f8e');
    const dir = path.join(root, '20261121-232227-a1b2');
    fs.mkdirSync(older);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(older, 'events.jsonl'), previousOfInterruptedRun().map((e) => JSON.stringify(e)).join('\n') + '\n');
    fs.mkdirSync(path.join(root, '20991231-235959-ffff'));
    await writeReports(dir, summarizeRun(interruptedRun()), undefined, { formats: ['html'] });
    expect(read(dir, 'report.html')).toContain('Compared with <code>20261121-221500-9f8e</code>');
    await writeReports(dir, summarizeRun(interruptedRun()), undefined, { formats: ['html'], previous: null });
    expect(read(dir, 'report.html')).not.toContain('Compared with');
    // A damaged previous log is no reason to fail: no comparison.
    fs.appendFileSync(path.join(older, 'events.jsonl'), 'garbage\n{"type":"x"}\n');
    await writeReports(dir, summarizeRun(interruptedRun()), undefined, { formats: ['html'] });
    expect(read(dir, 'report.html')).not.toContain('Compared with');
  });
});
