/**
 * The summary printed to the terminal at the end of `kt run` and by `kt report`: with a baseline,
 * first the verdict (regressions, fixes, known failures: docs/baseline.md); then what failed and
 * why (first lines of the diff, the crash title, the `kt repro` line), distinct crashes, flaky
 * and never-executed tests, the slowest tests, and last — where the eye lands — the counts and
 * the verdict.
 */
import { createColors, type Colors } from './color.js';
import { formatCounts, formatDuration, plural, STATUS_LABEL, testLabel } from './format.js';
import { crashesOutsideTests, failingTests, finalAttempt, hasFailures, type RunSummary, type TestResult } from '../record/runSummary.js';
import type { RunVerdict, TestVerdict } from '../record/verdict.js';
import { headLines, toTerminalText } from './textSafety.js';
import { testKey } from '../record/testKey.js';
import { reproCommand, verdictCounts } from './verdictWords.js';

/** Options of renderTextSummary. */
export interface TextSummaryOptions {
  /** Colour the output (see shouldUseColor). */
  color: boolean;
  /** Lines of each diff or crash excerpt to show (default 8). */
  previewLines?: number;
  /** The run judged against a baseline: the summary leads with it. */
  verdict?: RunVerdict;
  /** Run id → its run directory, for the `repro: kt repro <run-dir> <test>` line under each failure. */
  runDirs?: Readonly<Record<string, string>>;
}

const INDENT = '      ';

/** Slowest tests shown in a terminal (report.md and summary.json have all of summary.slowest). */
const TERMINAL_SLOWEST = 5;

function oneLine(text: string): string {
  return toTerminalText(text).replace(/\s*\n\s*/g, ' ⏎ ').trim();
}

function failureLines(result: TestResult, c: Colors, manySections: boolean, previewLines: number, runDirs: TextSummaryOptions['runDirs']): string[] {
  const last = finalAttempt(result);
  if (!last) return [];
  const outcome = last.outcome;
  const label = c.bold(testLabel(result.test, result.section, manySections));
  const where = c.dim(`on ${last.machine}${last.attempt > 1 ? `, attempt ${last.attempt}` : ''}, ${formatDuration(last.durationMs)}`);
  const status = c.red(STATUS_LABEL[outcome.status].toUpperCase().padEnd(9));
  let reason = '';
  let preview: string | undefined;
  switch (outcome.status) {
    case 'failed':
      reason = outcome.message;
      preview = outcome.diff;
      break;
    case 'crashed':
      reason = outcome.crash.title;
      break;
    case 'timedout':
      reason = outcome.crash ? `${outcome.message}: ${outcome.crash.title}` : outcome.message;
      break;
    case 'error':
      reason = outcome.message;
      break;
    default:
      break;
  }
  const lines = [`  ${status} ${label} ${where}`, `${INDENT}${oneLine(reason)}`];
  if (preview) {
    const head = headLines(toTerminalText(preview), previewLines);
    for (const line of head.lines) lines.push(`${INDENT}${c.dim(line)}`);
    if (head.more > 0) lines.push(`${INDENT}${c.dim(`… ${head.more} more lines in report.md`)}`);
  }
  const repro = reproCommand(result, runDirs, manySections);
  if (repro) lines.push(`${INDENT}repro: ${toTerminalText(repro)}`);
  return lines;
}

/** The verdict block the summary leads with: regressions first, each with its `kt repro` line. */
function verdictLines(summary: RunSummary, verdict: RunVerdict, c: Colors, manySections: boolean, runDirs: TextSummaryOptions['runDirs']): string[] {
  const out: string[] = [];
  const results = new Map(summary.tests.map((t) => [testKey(t.section, t.test), t]));
  const label = (v: TestVerdict) => testLabel(v.test, v.section, manySections);
  const baseline = oneLine(verdict.baseline);
  if (verdict.regressions.length > 0) {
    out.push(c.bold(c.red(`Regressions against ${baseline} (${verdict.regressions.length}):`)));
    for (const v of verdict.regressions) {
      out.push(`  ${c.red('REGRESSION')} ${c.bold(label(v))}`, `${INDENT}${oneLine(v.why)}`);
      const result = results.get(testKey(v.section, v.test));
      const repro = result ? reproCommand(result, runDirs, manySections) : undefined;
      if (repro) out.push(`${INDENT}repro: ${toTerminalText(repro)}`);
    }
    out.push('');
  }
  const list = (title: string, items: TestVerdict[], colour: (s: string) => string) => {
    if (items.length === 0) return;
    out.push(c.bold(colour(`${title} (${items.length}):`)));
    for (const v of items) out.push(`  ${label(v)} ${c.dim(oneLine(v.why))}`);
    out.push('');
  };
  list('Fixed', verdict.fixes, c.green);
  list('Possibly fixed', verdict.possibleFixes, c.green);
  list(`Known failures in ${baseline}`, verdict.known, (s) => s);
  list('Not judged (kt errors, not the kernel)', verdict.unjudged, c.yellow);
  if (verdict.sectionsNotInBaseline.length > 0) {
    out.push(c.yellow(`Not in the baseline: section${verdict.sectionsNotInBaseline.length === 1 ? '' : 's'} ${verdict.sectionsNotInBaseline.map(oneLine).join(', ')} (record ${verdict.sectionsNotInBaseline.length === 1 ? 'it' : 'them'} with kt baseline update)`), '');
  }
  return out;
}

/** Renders the end-of-run summary for a terminal. */
export function renderTextSummary(summary: RunSummary, options: TextSummaryOptions): string {
  const c = createColors(options.color);
  const previewLines = options.previewLines ?? 8;
  const manySections = summary.sections.length > 1;
  const out: string[] = [];
  const verdict = options.verdict;
  if (verdict) out.push(...verdictLines(summary, verdict, c, manySections, options.runDirs));

  const failures = failingTests(summary);
  // A panic outside every test fails the run too (record/verdict.ts exitCodeFor).
  const outside = crashesOutsideTests(summary);
  if (failures.length > 0) {
    out.push(c.bold(`Failures (${failures.length}):`));
    for (const f of failures) out.push(...failureLines(f, c, manySections, previewLines, options.runDirs));
    out.push('');
  }

  if (summary.crashes.length > 0) {
    out.push(c.bold(`Kernel crashes (${summary.crashes.length} distinct):`));
    summary.crashes.forEach((group, i) => {
      const crash = group.crash;
      out.push(`  ${i + 1}. ${c.red(oneLine(crash.title))}`);
      const facts = [crash.type, ...(crash.frame ? [`at ${crash.frame}`] : []), `${group.count}×`];
      if (group.tests.length > 0) facts.push(`tests ${group.tests.join(', ')}`);
      else if (outside.includes(group)) facts.push('outside any test: it fails the run');
      facts.push(`on ${group.machines.join(', ')}`);
      out.push(`${INDENT}${c.dim(oneLine(facts.join(' · ')))}`);
    });
    out.push('');
  }

  const flaky = summary.tests.filter((t) => t.flaky);
  if (flaky.length > 0) {
    out.push(c.bold(c.yellow(`Flaky (${flaky.length}):`)));
    for (const t of flaky) {
      const history = t.attempts.map((a) => STATUS_LABEL[a.outcome.status]).join(' → ');
      out.push(`  ${testLabel(t.test, t.section, manySections)} ${c.dim(history)}`);
    }
    out.push('');
  }

  const notExecuted = summary.tests.filter((t) => t.status === 'notexecuted');
  if (notExecuted.length > 0) {
    const reason = notExecuted[0]?.notExecutedReason ?? 'run interrupted';
    out.push(c.bold(c.yellow(`Not executed (${notExecuted.length}, ${reason}):`)));
    const names = notExecuted.map((t) => {
      const name = testLabel(t.test, t.section, manySections);
      return t.unfinishedOn ? `${name} (was running on ${t.unfinishedOn})` : name;
    });
    out.push(`  ${names.join(' ')}`);
    out.push('');
  }

  if (summary.slowest.length > 0) {
    out.push(c.bold('Slowest:'));
    for (const s of summary.slowest.slice(0, TERMINAL_SLOWEST)) {
      out.push(`  ${formatDuration(s.durationMs).padStart(7)}  ${testLabel(s.test, s.section, manySections)} ${c.dim(s.machine)}`);
    }
    out.push('');
  }

  if (summary.machines.lost.length > 0) {
    const lost = summary.machines.lost.map((l) => `${l.machine} (${l.reason}${l.test ? ` during ${l.test}` : ''})`);
    out.push(`${c.bold('Lost VMs:')} ${lost.join(', ')}`);
  }
  for (const w of summary.warnings) out.push(c.yellow(`warning: ${w.machine ? `[${w.machine}] ` : ''}${oneLine(w.message)}`));
  if (summary.machines.lost.length > 0 || summary.warnings.length > 0) out.push('');

  for (const run of summary.runs) {
    if (run.status === 'interrupted' || run.status === 'killed') {
      const why = run.status === 'killed' ? 'ended without a run-end event (killed?)' : `interrupted${run.signal ? ` by ${run.signal}` : ''}`;
      out.push(c.yellow(`Run ${run.runId}${run.shard ? ` (shard ${run.shard})` : ''} ${why}.`));
    } else if (run.status === 'error') {
      out.push(c.red(`Run ${run.runId} failed: ${oneLine(run.message ?? 'infrastructure error')}`));
    }
  }

  const counts = formatCounts(summary.counts);
  // A run that ended in kt's own error is not a pass, whatever its counts say.
  const errored = summary.runs.some((r) => r.status === 'error');
  const bad = hasFailures(summary) || errored;
  const lost = summary.machines.lost.length;
  const tail = `${plural(summary.counts.total, 'test')} in ${formatDuration(summary.wallMs)} (${plural(summary.machines.booted, 'VM')} booted${lost > 0 ? `, ${lost} lost` : ''}): `;
  if (verdict) {
    out.push(c.bold(tail) + c.bold(counts));
    const words = `Against ${oneLine(verdict.baseline)}: ${verdictCounts(verdict)}`;
    // The colours of report.md's marks (src/reporters/markdown.ts): ❌ red, ⚠️ yellow, ✅ green.
    const paint = verdict.regressions.length > 0 || outside.length > 0 || errored ? c.red : verdict.unjudged.length > 0 || summary.interrupted ? c.yellow : c.green;
    out.push(paint(c.bold(words)));
  } else {
    // A killed or interrupted run is no pass either: yellow, like report.md's ⚠️.
    const paint = bad ? c.red : summary.interrupted ? c.yellow : c.green;
    out.push(c.bold(tail) + paint(c.bold(counts)));
  }
  return `${out.join('\n')}\n`;
}
