/**
 * looksLikeKtReport: kt recognises the reports it wrote (rendered here from a real TCG run's
 * event log by kt's own writer), and nothing else under those names.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/record/events.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { judge } from '../../src/baseline/judge.js';
import { emptyBaseline } from '../../src/baseline/format.js';
import { REPORT_FILES, writeReports, type ReportFormat } from '../../src/reporters/writeReports.js';
import { looksLikeKtReport } from '../../src/cli/reportOutDir.js';

const FORMATS: ReportFormat[] = ['junit', 'json', 'markdown', 'html'];

const events = fs
  .readFileSync(new URL('../reporters/fixtures/real-tcg-run/events.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as RunEvent);

describe('looksLikeKtReport', () => {
  it("recognises each of kt's reports, with and without a baseline verdict", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-outdir-'));
    try {
      const summary = summarizeRun(events);
      for (const verdict of [undefined, judge(summary, emptyBaseline('kt test'), { file: 'kt-baseline.json' })]) {
        await writeReports(dir, summary, verdict, { previous: null });
        for (const f of FORMATS) expect(looksLikeKtReport(f, fs.readFileSync(path.join(dir, REPORT_FILES[f]), 'utf8').slice(0, 4096)), f).toBe(true);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses other tools' files and the user's own under the same names", () => {
    expect(looksLikeKtReport('junit', '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">')).toBe(false);
    expect(looksLikeKtReport('junit', '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="ktx" tests="1">')).toBe(false);
    expect(looksLikeKtReport('json', '{"name": "my-app", "version": "1.0.0"}')).toBe(false);
    expect(looksLikeKtReport('markdown', '# Notes\n\nkt: ran it twice\n')).toBe(false);
    expect(looksLikeKtReport('html', '<!DOCTYPE html><html><head><title>Coverage report</title>')).toBe(false);
    expect(looksLikeKtReport('markdown', '')).toBe(false);
  });
});
