/**
 * Golden tests of CheckOutputParser: one per sample run, the full event sequence of the real
 * check stdout (harness `=== ` lines included). Regenerate with UPDATE_GOLDEN=1, then review
 * every event against the sample before committing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import type { CheckEvent } from '../../src/fstests/checkEvents.js';
import { CheckOutputParser, parseCheckOutput } from '../../src/fstests/checkOutputParser.js';
import { GOLDEN, readSample, sampleRuns } from './helpers.js';

interface Golden {
  /** Sample folder. */
  sample: string;
  /** currentTest() after end(): the test the stream stopped in. */
  currentTest: string | null;
  events: CheckEvent[];
}

const runs = sampleRuns();

function render(g: Golden): string {
  // One event per line, so a golden can be read side by side with its sample.
  const events = g.events.map((e) => `    ${JSON.stringify(e)}`).join(',\n');
  return `{\n  "sample": ${JSON.stringify(g.sample)},\n  "currentTest": ${JSON.stringify(g.currentTest)},\n  "events": [\n${events}\n  ]\n}\n`;
}

/** Feeds `bytes` in pieces of the given sizes (cycled) as Uint8Arrays. */
function parseInPieces(bytes: Uint8Array, sizes: number[]): { events: CheckEvent[]; currentTest: string | undefined } {
  const parser = new CheckOutputParser();
  const events: CheckEvent[] = [];
  for (let pos = 0, i = 0; pos < bytes.length; i++) {
    const n = sizes[i % sizes.length] ?? 1;
    events.push(...parser.push(bytes.subarray(pos, pos + n)));
    pos += n;
  }
  events.push(...parser.end());
  return { events, currentTest: parser.currentTest() };
}

test('there is a golden for each of the 10 sample runs, and no other', () => {
  expect(runs).toHaveLength(10);
  const goldens = fs.readdirSync(GOLDEN).filter((f) => f.endsWith('.json')).sort();
  expect(goldens).toEqual(runs.map((r) => `${r}.json`).sort());
});

describe.each(runs)('%s', (sample) => {
  const text = readSample(sample, 'check-stdout.txt');
  const file = path.join(GOLDEN, `${sample}.json`);
  const actual = parseCheckOutput(text);
  const current: Golden = { sample, currentTest: actual.currentTest ?? null, events: actual.events };

  test('matches its golden events', () => {
    if (process.env['UPDATE_GOLDEN'] === '1') fs.writeFileSync(file, render(current));
    const golden = JSON.parse(fs.readFileSync(file, 'utf8')) as Golden;
    expect(current).toEqual(golden);
  });

  test('gives the same events however the stream is cut', () => {
    const bytes = new TextEncoder().encode(text);
    const expected = { events: actual.events, currentTest: actual.currentTest };
    expect(parseInPieces(bytes, [1])).toEqual(expected);
    expect(parseInPieces(bytes, [2, 3, 5, 7, 11, 13, 64])).toEqual(expected);
    expect(parseInPieces(bytes, [19])).toEqual(expected);
    const lines = text.split(/(?<=\n)/);
    const parser = new CheckOutputParser();
    const events = [...lines.flatMap((l) => parser.push(l)), ...parser.end()];
    expect({ events, currentTest: parser.currentTest() }).toEqual(expected);
  });
});
