/**
 * Wording of a baseline verdict (record/verdict.ts) shared by the terminal summary, report.md,
 * JUnit and GitHub annotations, and the `kt repro` line printed under a failure, so every report
 * says the same thing in the same words (docs/baseline.md).
 */
import { finalAttempt, type TestResult } from '../record/runSummary.js';
import { testKey } from '../record/testKey.js';
import type { RunVerdict, TestVerdict } from '../record/verdict.js';
import { shellJoin } from '../util/shell.js';
import { plural } from './format.js';

/** "1 regression, 3 known failures, 1 fix" (fixes, possible fixes and unjudged only when there are some). */
export function verdictCounts(verdict: RunVerdict): string {
  const parts = [plural(verdict.regressions.length, 'regression'), plural(verdict.known.length, 'known failure')];
  if (verdict.fixes.length > 0) parts.push(`${verdict.fixes.length} ${verdict.fixes.length === 1 ? 'fix' : 'fixes'}`);
  if (verdict.possibleFixes.length > 0) parts.push(`${verdict.possibleFixes.length} possibly fixed`);
  if (verdict.unjudged.length > 0) parts.push(`${verdict.unjudged.length} not judged (kt errors)`);
  return parts.join(', ');
}

/** The sentence after "regression" etc. in a JUnit message or an annotation title. */
export function verdictPrefix(v: TestVerdict): string {
  switch (v.judgement) {
    case 'regression':
      return 'regression';
    case 'known':
      return 'known failure';
    case 'fix':
      return 'fixed';
    case 'possible-fix':
      return 'possibly fixed';
    case 'unjudged':
      return 'not judged';
    case 'ok':
      return 'as expected';
  }
}

/** Per testKey(section, test) → its verdict, for reporters that walk the tests. */
export function verdictIndex(verdict: RunVerdict | undefined): Map<string, TestVerdict> {
  const out = new Map<string, TestVerdict>();
  if (!verdict) return out;
  for (const v of [...verdict.regressions, ...verdict.known, ...verdict.fixes, ...verdict.possibleFixes, ...verdict.unjudged]) {
    out.set(testKey(v.section, v.test), v);
  }
  return out;
}

/**
 * The command that reruns a failed test the way its run ran it (`kt repro`, docs/baseline.md),
 * or undefined when the run directory of its last attempt is not known.
 */
export function reproCommand(result: TestResult, runDirs: Readonly<Record<string, string>> | undefined, manySections: boolean): string | undefined {
  const last = finalAttempt(result);
  const dir = last ? runDirs?.[last.runId] : undefined;
  if (!dir) return undefined;
  return shellJoin(['kt', 'repro', dir, result.test, ...(manySections ? ['--section', result.section] : [])]);
}
