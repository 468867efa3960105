/**
 * The order `kt run` plans from the results directory's kt-history.json, as `--dry-run` prints
 * it: longest first by the last durations, a test without history estimated high, and a test
 * that was not run last time estimated at the seconds it took (src/record/history.ts
 * expectedSeconds), so it goes last instead of first.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useBuiltFixtureTree } from '../fstests/fixtureHelpers.js';
import { CLI_TIMEOUT_MS, kt } from './helpers.js';

// Built: the plan reads the group lists make writes (tests/*/group.list).
const fixture = useBuiltFixtureTree('kt-history-order-');

const TESTS = ['generic/001', 'generic/002', 'generic/003', 'generic/004'];

/** The tests of the dry run's plan, in order. */
async function plannedOrder(results: string): Promise<string[]> {
  const r = await kt(['run', '--dry-run', '--accel', 'tcg', '--fstests', fixture.tree, '--results', results, ...TESTS], { cwd: fixture.root });
  expect(r.code, r.err).toBe(0);
  return r.out
    .split('\n')
    .filter((l) => /^ {2}\S/.test(l))
    .map((l) => l.trim());
}

describe('kt run orders by kt-history.json', () => {
  it('a test not run last time goes last; without that mark it would be estimated high and go first', { timeout: CLI_TIMEOUT_MS }, async () => {
    const results = path.join(fixture.root, 'results');
    fs.mkdirSync(results);
    // The durations of the fixture's tests in a real TCG run (xfs/4k, kt's default section);
    // generic/004 wants a $LOGWRITES_DEV the section lacks (1 s to say so).
    const tests = {
      'xfs/4k:generic/001': { lastSeconds: 4, maxSeconds: 4 },
      'xfs/4k:generic/002': { lastSeconds: 7, maxSeconds: 7 },
      'xfs/4k:generic/003': { lastSeconds: 10, maxSeconds: 12 },
    };
    const file = path.join(results, 'kt-history.json');
    fs.writeFileSync(file, JSON.stringify({ version: 1, tests, notrun: { 'xfs/4k:generic/004': 1 } }));
    expect(await plannedOrder(results)).toEqual(['generic/003', 'generic/002', 'generic/001', 'generic/004']);
    // A dry run leaves the history as it was.
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ version: 1, tests, notrun: { 'xfs/4k:generic/004': 1 } });

    // As kt kept it before: generic/004 unknown, estimated at the 90th percentile (10 s), ties
    // keep plan order.
    fs.writeFileSync(file, JSON.stringify({ version: 1, tests }));
    expect(await plannedOrder(results)).toEqual(['generic/003', 'generic/004', 'generic/002', 'generic/001']);
  });
});
