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

  it('a base that recorded the old assertion-helper title excuses the same assertion titled by its function now', () => {
    // fs/xfs/xfs_message.c assfail() with bug_on_assert: its frame is in the report. kt once
    // titled it by the helper (src/baseline/legacyTitles.ts), now by the function that asserted.
    const excerpt = 'XFS: Assertion failed: 0, file: fs/xfs/xfs_inode.c, line: 1812\nkernel BUG at fs/xfs/xfs_message.c:110!\nRIP: 0010:assfail+0x2c/0x40 [xfs]';
    const then = { ...SYSRQ_CRASH, type: 'bug', title: 'kernel BUG in assfail', fingerprint: 'bug-assfail', excerpt };
    const now = { ...SYSRQ_CRASH, type: 'bug', title: 'kernel BUG in xfs_inactive', fingerprint: 'bug-xfs-inactive', excerpt };
    const head = run(true, now);
    const comparison = compareRuns([run(true, then)], head, 'base');
    expect(comparison.crashesOutside).toEqual([{ title: 'kernel BUG in xfs_inactive', machines: ['vm1'], inBase: true }]);
    expect(compareOutcome(comparison, head).code).toBe(0);
    // The same title without the assertion in its report is another bug: new.
    const other = run(true, { ...now, excerpt: 'kernel BUG at fs/xfs/xfs_inode.c:1812!' });
    expect(compareOutcome(compareRuns([run(true, then)], other, 'base'), other).code).toBe(1);
  });

  it('a corrupted report outside every test is new only when no base run crashed outside its tests', () => {
    const torn = { ...SYSRQ_CRASH, title: 'BUG: unable to handle kernel paging request', fingerprint: 'corrupted-1', corrupted: true };
    const head = run(true, torn);
    expect(compareOutcome(compareRuns([run(false)], head, 'base'), head).code).toBe(1);
    // Its title cannot be trusted to differ from the base's crash of another title.
    const comparison = compareRuns([run(false), run(true)], head, 'base');
    expect(comparison.crashesOutside).toEqual([{ title: torn.title, machines: ['vm1'], inBase: true }]);
    expect(compareOutcome(comparison, head).code).toBe(0);
  });

  it("a base's corrupted report does not excuse the head's intact crash of its title", () => {
    const torn = { ...SYSRQ_CRASH, fingerprint: 'corrupted-1', corrupted: true };
    const head = run(true);
    const comparison = compareRuns([run(true, torn)], head, 'base');
    expect(comparison.crashesOutside).toEqual([{ title: SYSRQ_CRASH.title, machines: ['vm1'], inBase: false }]);
    expect(compareOutcome(comparison, head).code).toBe(1);
  });

  it('a title the head had twice, once corrupted, is new when the intact one is', () => {
    // The corrupted report alone would pass for the base's (the base crashed outside its tests);
    // the intact one of the same title is new: the title is listed once, as new.
    const other = { ...SYSRQ_CRASH, title: 'BUG: unable to handle page fault in xfs_trans_commit', fingerprint: 'other-1' };
    const torn = { ...SYSRQ_CRASH, fingerprint: 'corrupted-1', corrupted: true };
    const head = summarizeRun(
      new RunScript()
        .start({ tests: ['selftest/001'] })
        .boot('vm1', 0)
        .boot('vm2', 0)
        .test('selftest/001', 'vm1', 10, 2, pass)
        .lost('vm1', 20, 'crash', `kernel panic: ${torn.title} (after its last batch; the last test it ran: selftest/001)`, torn)
        .lost('vm2', 21, 'crash', `kernel panic: ${SYSRQ_CRASH.title} (after its last batch)`, SYSRQ_CRASH)
        .end('completed', 22)
        .sorted(),
    );
    const comparison = compareRuns([run(true, other)], head, 'base');
    expect(comparison.crashesOutside).toEqual([{ title: SYSRQ_CRASH.title, machines: ['vm1', 'vm2'], inBase: false }]);
    expect(compareOutcome(comparison, head).code).toBe(1);
  });

  it('a clean head passes', () => {
    const head = run(false);
    const comparison = compareRuns([run(false)], head, 'base');
    expect(comparison.crashesOutside).toEqual([]);
    expect(compareOutcome(comparison, head)).toEqual({ code: 0 });
  });
});
