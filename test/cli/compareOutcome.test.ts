/**
 * kt compare's exit code and headline words (src/cli/compareOutcome.ts) for a head run whose
 * kernel crashed outside every test: exit 1 with the reason, though no test regressed.
 */
import { describe, expect, it } from 'vitest';
import type { Comparison } from '../../src/baseline/compare.js';
import { compareOutcome } from '../../src/cli/compareOutcome.js';
import type { RunVerdict } from '../../src/record/verdict.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { RunScript, SYSRQ_CRASH } from '../reporters/scenarios.js';

const verdict: RunVerdict = { baseline: 'base', regressions: [], known: [], fixes: [], possibleFixes: [], unjudged: [], notExecuted: 0, sectionsNotInBaseline: [], minRuns: 3 };
const pass = { status: 'passed' } as const;

function comparisonOf(head: ReturnType<typeof summarizeRun>): Comparison {
  return { base: [], head: head.runs, verdict, newCrashes: [], newlyNotRun: [], durations: [] };
}

describe('compareOutcome', () => {
  it('a head whose kernel crashed outside every test is no pass, and says why', () => {
    const head = summarizeRun(
      new RunScript()
        .start({ tests: ['selftest/001'] })
        .boot('vm1', 0)
        .test('selftest/001', 'vm1', 10, 2, pass)
        .lost('vm1', 20, 'crash', 'kernel panic: sysrq triggered crash (after its last batch; the last test it ran: selftest/001)', SYSRQ_CRASH)
        .end('completed', 21)
        .sorted(),
    );
    expect(compareOutcome(comparisonOf(head), head)).toEqual({ code: 1, notAPass: 'a kernel crash outside any test of the head: Kernel panic - not syncing: sysrq triggered crash on vm1' });
  });

  it('a clean head passes', () => {
    const head = summarizeRun(new RunScript().start({ tests: ['selftest/001'] }).boot('vm1', 0).test('selftest/001', 'vm1', 10, 2, pass).end('completed', 21).sorted());
    expect(compareOutcome(comparisonOf(head), head)).toEqual({ code: 0 });
  });
});
