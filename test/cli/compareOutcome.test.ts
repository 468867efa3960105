/**
 * kt compare's exit code and headline words (src/cli/compareOutcome.ts) for a head run whose
 * kernel crashed outside every test: exit 1 with the reason, though no test regressed, unless
 * the base runs had that crash outside their tests too (src/baseline/compare.ts outsideCrashes).
 */
import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../src/baseline/compare.js';
import { compareOutcome } from '../../src/cli/compareOutcome.js';
import { renderCompareJson, renderCompareMarkdown, renderCompareText } from '../../src/cli/compareReport.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { RunScript, SYSRQ_CRASH } from '../reporters/scenarios.js';

const pass = { status: 'passed' } as const;

/** A run of selftest/001 that passed; with `panic`, the VM then panicked after its last batch. */
function run(panic: boolean, crash = SYSRQ_CRASH) {
  const script = new RunScript().start({ tests: ['selftest/001'] }).boot('vm1', 0).test('selftest/001', 'vm1', 10, 2, pass);
  if (panic) script.lost('vm1', 20, 'crash', `kernel panic: ${crash.title} (after its last batch; the last test it ran: selftest/001)`, crash);
  return summarizeRun(script.end('completed', 21).sorted());
}

describe('compareOutcome', () => {
  it('a head whose kernel crashed outside every test is no pass, and says why', () => {
    const head = run(true);
    const comparison = compareRuns([run(false)], head, 'base');
    expect(comparison.crashesOutside).toEqual([{ title: SYSRQ_CRASH.title, machines: ['vm1'], inBase: false }]);
    const outcome = compareOutcome(comparison, head);
    expect(outcome).toEqual({ code: 1, notAPass: 'a kernel crash outside any test of the head: Kernel panic - not syncing: sysrq triggered crash on vm1' });
    expect(renderCompareText(comparison, outcome)).toContain('Kernel crashes outside any test of the head (1):\n  Kernel panic - not syncing: sysrq triggered crash on vm1\n');
    expect(renderCompareMarkdown(comparison, outcome)).toMatch(/^# ❌ kt compare: /);
    expect(renderCompareMarkdown(comparison, outcome)).toContain('| Kernel panic - not syncing: sysrq triggered crash | vm1 | no: new |');
  });

  it('a crash outside every test that the base had too is listed, not a regression', () => {
    const head = run(true);
    const comparison = compareRuns([run(false), run(true)], head, 'base');
    expect(comparison.crashesOutside).toEqual([{ title: SYSRQ_CRASH.title, machines: ['vm1'], inBase: true }]);
    const outcome = compareOutcome(comparison, head);
    expect(outcome).toEqual({ code: 0 });
    expect(renderCompareText(comparison, outcome)).toContain('  Kernel panic - not syncing: sysrq triggered crash on vm1 (the base had it too)\n');
    expect(renderCompareMarkdown(comparison, outcome)).toMatch(/^# ✅ kt compare: /);
    expect(JSON.parse(renderCompareJson(comparison)).crashesOutside).toEqual([{ title: SYSRQ_CRASH.title, machines: ['vm1'], inBase: true }]);
  });

  it('a base crash of another title does not excuse the head’s', () => {
    const other = { ...SYSRQ_CRASH, title: 'BUG: unable to handle page fault in xfs_trans_commit', fingerprint: 'other-1' };
    const head = run(true);
    const comparison = compareRuns([run(true, other)], head, 'base');
    expect(compareOutcome(comparison, head).code).toBe(1);
  });

  it('a clean head passes', () => {
    const head = run(false);
    const comparison = compareRuns([run(false)], head, 'base');
    expect(comparison.crashesOutside).toEqual([]);
    expect(compareOutcome(comparison, head)).toEqual({ code: 0 });
  });
});
