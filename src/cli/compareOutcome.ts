/**
 * What `kt compare` concludes about the head: its exit code and whether its headline may be
 * green. The rule is `kt report --baseline`'s (but for a crash outside every test that the base had too) (src/cli/reportCommand.ts, docs/baseline.md "Exit
 * codes"): a head run that did not complete is not a pass, whatever its tests say (3; 130/143
 * when it was interrupted by a signal); else the verdict decides, as record/verdict.ts
 * exitCodeFor does: 1 for regressions or a kernel crash outside every test (here: one the base
 * did not have too), 3 when some test had only kt errors, 0. On top, a head in which no test
 * ran at all is not a pass either (3): nothing was compared.
 */
import { ExitCode } from '../errors.js';
import type { Comparison } from '../baseline/compare.js';
import type { RunInfo, RunSummary } from '../record/runSummary.js';

/** The conclusion of a comparison. */
export interface CompareOutcome {
  /** Exit code of `kt compare`. */
  code: number;
  /** Why the head is not a pass although nothing regressed (one line of run text: escape it), when it is not. */
  notAPass?: string;
}

/** "run X was killed (its log has no end)", as `kt report` says it. */
function unfinishedWords(run: RunInfo): string {
  if (run.status === 'killed') return `the head run ${run.runId} was killed (its log has no end)`;
  if (run.status === 'error') {
    const first = (run.message ?? '').split('\n').find((l) => l.trim() !== '')?.trim();
    return `the head run ${run.runId} ended in an error${first ? `: ${first}` : ''}`;
  }
  return `the head run ${run.runId} was interrupted${run.signal ? ` by ${run.signal}` : ''}`;
}

/** The exit code and headline of `kt compare` for `comparison` of the head runs summarized in `head`. */
export function compareOutcome(comparison: Comparison, head: RunSummary): CompareOutcome {
  const unfinished = comparison.head.find((r) => r.status !== 'completed');
  if (unfinished) {
    const code = unfinished.status === 'interrupted' ? (unfinished.signal === 'SIGTERM' ? ExitCode.sigterm : ExitCode.sigint) : ExitCode.infrastructure;
    return { code, notAPass: unfinishedWords(unfinished) };
  }
  if (comparison.verdict.regressions.length > 0) return { code: ExitCode.testFailures };
  // A kernel crash outside every test of the head is no pass (`kt run` exits 1 for it) unless the
  // base had it too: then the head did not bring it, and it is listed, not judged (compare.ts).
  const fresh = comparison.crashesOutside.find((c) => !c.inBase);
  if (fresh) return { code: ExitCode.testFailures, notAPass: `a kernel crash outside any test of the head: ${fresh.title} on ${fresh.machines.join(', ')}` };
  const unjudged = comparison.verdict.unjudged.length;
  if (unjudged > 0) return { code: ExitCode.infrastructure, notAPass: `${unjudged} head test${unjudged === 1 ? '' : 's'} had only kt errors: never judged` };
  if (!head.tests.some((t) => t.attempts.length > 0)) return { code: ExitCode.infrastructure, notAPass: 'no test of the head ran: nothing was compared' };
  return { code: ExitCode.ok };
}
