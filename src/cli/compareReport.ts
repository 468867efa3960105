/**
 * What `kt compare` prints (docs/baseline.md, "kt compare"): the regressions of the head against
 * the base first, then fixes, new crashes by title, the head's kernel crashes outside every
 * test, tests newly not run, known failures, kt errors, and the tests whose duration changed most — as text, markdown (a PR comment) or JSON.
 */
import type { Comparison, DurationChange } from '../baseline/compare.js';
import type { CompareOutcome } from './compareOutcome.js';
import type { RunInfo } from '../record/runSummary.js';
import type { TestVerdict } from '../record/verdict.js';
import { formatDuration, testLabel } from '../reporters/format.js';
import { mdCode, mdInline } from '../reporters/markdown.js';
import { toTerminalText } from '../reporters/textSafety.js';
import { verdictCounts } from '../reporters/verdictWords.js';

/** Format version of `kt compare --format json`. */
export const COMPARE_JSON_VERSION = 1;

function oneLine(text: string): string {
  return toTerminalText(text).replace(/\s*\n\s*/g, ' ').trim();
}

function runsLabel(runs: RunInfo[]): string {
  const ids = runs.map((r) => r.runId);
  return `${runs.length} run${runs.length === 1 ? '' : 's'} (${ids.join(', ')})`;
}

function manySections(c: Comparison): boolean {
  return new Set([...c.base, ...c.head].flatMap((r) => r.sections.map((s) => s.name))).size > 1;
}

/** "+12.0s ×2.00": seconds and ratio of a duration change. */
function delta(d: DurationChange): { seconds: string; ratio: string } {
  const sign = d.deltaMs >= 0 ? '+' : '-';
  return { seconds: `${sign}${formatDuration(Math.abs(d.deltaMs))}`, ratio: Number.isFinite(d.ratio) ? `×${d.ratio.toFixed(2)}` : '×∞' };
}

export function renderCompareText(c: Comparison, outcome: CompareOutcome): string {
  const many = manySections(c);
  const label = (v: { test: string; section: string }) => testLabel(v.test, v.section, many);
  const v = c.verdict;
  const out: string[] = [`kt compare: base ${runsLabel(c.base)}, head ${runsLabel(c.head)}`, ''];
  const list = (title: string, items: TestVerdict[]) => {
    if (items.length === 0) return;
    out.push(`${title} (${items.length}):`);
    for (const t of items) out.push(`  ${label(t)}  ${oneLine(t.why)}`);
    out.push('');
  };
  list('Regressions', v.regressions);
  list('Fixed', v.fixes);
  list('Possibly fixed', v.possibleFixes);
  if (c.newCrashes.length > 0) {
    out.push(`New crashes (${c.newCrashes.length}):`);
    for (const crash of c.newCrashes) out.push(`  ${oneLine(crash.title)}: ${crash.tests.map(label).join(', ')}`);
    out.push('');
  }
  if (c.crashesOutside.length > 0) {
    out.push(`Kernel crashes outside any test of the head (${c.crashesOutside.length}):`);
    for (const crash of c.crashesOutside) out.push(`  ${oneLine(crash.title)} on ${crash.machines.map(oneLine).join(', ')}${crash.inBase ? ' (the base had it too)' : ''}`);
    out.push('');
  }
  list('Newly not run', c.newlyNotRun);
  list('Known failures', v.known);
  list('Not judged (kt errors)', v.unjudged);
  if (v.sectionsNotInBaseline.length > 0) out.push(`Sections the base never ran: ${v.sectionsNotInBaseline.map(oneLine).join(', ')}`, '');
  if (v.notExecuted > 0) out.push(`Not executed in the head (not judged): ${v.notExecuted}`, '');
  if (c.durations.length > 0) {
    out.push('Duration changes (passed in both, largest first):');
    for (const d of c.durations) {
      const { seconds, ratio } = delta(d);
      out.push(`  ${seconds.padStart(7)} ${ratio.padStart(6)}  ${label(d)}  ${formatDuration(d.baseMs)} → ${formatDuration(d.headMs)}`);
    }
    out.push('');
  }
  if (outcome.notAPass !== undefined) out.push(`Not a pass: ${oneLine(outcome.notAPass)}`);
  out.push(`Head against base: ${verdictCounts(v)}`);
  return `${out.join('\n')}\n`;
}

export function renderCompareMarkdown(c: Comparison, outcome: CompareOutcome): string {
  const many = manySections(c);
  const label = (t: { test: string; section: string }) => mdInline(testLabel(t.test, t.section, many));
  const v = c.verdict;
  // Green only for a pass: a head that did not complete or was never judged is a warning.
  const mark = v.regressions.length > 0 || outcome.code === 1 ? '❌' : outcome.notAPass !== undefined ? '⚠️' : '✅';
  const out: string[] = [`# ${mark} kt compare: ${verdictCounts(v)}`, ''];
  if (outcome.notAPass !== undefined) out.push(`> **Not a pass:** ${mdInline(outcome.notAPass)}.`, '');
  out.push(`Base: ${c.base.map((r) => mdCode(r.runId)).join(', ')}. Head: ${c.head.map((r) => mdCode(r.runId)).join(', ')}.`, '');
  const table = (title: string, items: TestVerdict[]) => {
    if (items.length === 0) return;
    out.push(`## ${title} (${items.length})`, '', '| Test | Why |', '|---|---|');
    for (const t of items) out.push(`| ${label(t)} | ${mdInline(t.why)} |`);
    out.push('');
  };
  table('Regressions', v.regressions);
  table('Fixed', v.fixes);
  table('Possibly fixed', v.possibleFixes);
  if (c.newCrashes.length > 0) {
    out.push(`## New crashes (${c.newCrashes.length})`, '', '| Crash | Tests |', '|---|---|');
    for (const crash of c.newCrashes) out.push(`| ${mdInline(crash.title)} | ${crash.tests.map(label).join(', ')} |`);
    out.push('');
  }
  if (c.crashesOutside.length > 0) {
    out.push(`## Kernel crashes outside any test (${c.crashesOutside.length})`, '', '| Crash | VMs | In the base |', '|---|---|---|');
    for (const crash of c.crashesOutside) out.push(`| ${mdInline(crash.title)} | ${mdInline(crash.machines.join(', '))} | ${crash.inBase ? 'yes' : 'no: new'} |`);
    out.push('');
  }
  table('Newly not run', c.newlyNotRun);
  table('Known failures', v.known);
  table('Not judged (kt errors)', v.unjudged);
  if (c.durations.length > 0) {
    out.push('## Duration changes', '', '| Test | Base | Head | Change |', '|---|---|---|---|');
    for (const d of c.durations) {
      const { seconds, ratio } = delta(d);
      out.push(`| ${label(d)} | ${formatDuration(d.baseMs)} | ${formatDuration(d.headMs)} | ${seconds} ${ratio} |`);
    }
    out.push('');
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

export function renderCompareJson(c: Comparison): string {
  return `${JSON.stringify({ version: COMPARE_JSON_VERSION, ...c }, null, 2)}\n`;
}
