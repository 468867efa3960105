import { describe, expect, it } from 'vitest';
import { renderJsonSummary, SUMMARY_JSON_VERSION } from '../../src/reporters/json.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { interruptedRun } from './scenarios.js';

describe('renderJsonSummary', () => {
  it('writes a versioned document that parses back to the summary', () => {
    const summary = summarizeRun(interruptedRun());
    const doc = JSON.parse(renderJsonSummary(summary)) as Record<string, unknown>;
    expect(doc['version']).toBe(SUMMARY_JSON_VERSION);
    expect(Object.keys(doc)[0]).toBe('version');
    const { version: _version, ...rest } = doc;
    expect(rest).toEqual(summary);
  });
});
