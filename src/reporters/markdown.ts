/**
 * report.md: a readable report of a run, GitHub-flavoured so the same file can be appended to
 * $GITHUB_STEP_SUMMARY. Untrusted text (messages, diffs, console) is escaped: inline text
 * backslash-escapes markdown and HTML punctuation, blocks go in fences longer than any backtick
 * run they contain.
 */
import { formatCounts, formatDuration, plural, STATUS_LABEL, testLabel } from './format.js';
import { failingTests, finalAttempt, type RunSummary, type TestResult } from '../record/runSummary.js';
import type { RunVerdict, TestVerdict } from '../record/verdict.js';
import { capText, headLines, toTerminalText } from './textSafety.js';
import { verdictCounts } from './verdictWords.js';
import { someRunFailed, unfinishedRuns, whyUnfinished } from './runEnd.js';

/** Lines of one diff or console excerpt kept in the report. */
export const MARKDOWN_BLOCK_LINES = 80;

/** Inline text: one line, markdown/HTML punctuation escaped, `|` safe inside table cells. */
export function mdInline(text: string): string {
  return toTerminalText(text)
    .replace(/\s*\n\s*/g, ' ')
    .replace(/[\\`*_{}[\]<>|#~&!]/g, (ch) => `\\${ch}`)
    .trim();
}

/** Inline code span that survives any content (CommonMark: a longer backtick run delimits).
 * In a table cell GFM splits on `|` even inside code, so `inTable` escapes it. */
export function mdCode(text: string, inTable = false): string {
  const oneLine = toTerminalText(text).replace(/\s*\n\s*/g, ' ');
  const clean = inTable ? oneLine.replace(/\|/g, '\\|') : oneLine;
  const longest = Math.max(0, ...(clean.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = clean.startsWith('`') || clean.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${clean}${pad}${fence}`;
}

/** Fenced block of at most MARKDOWN_BLOCK_LINES lines. */
export function mdBlock(text: string, language = ''): string {
  const head = headLines(toTerminalText(capText(text)), MARKDOWN_BLOCK_LINES);
  const body = [...head.lines, ...(head.more > 0 ? [`... ${head.more} more lines (see the run directory)`] : [])].join('\n');
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${body}\n${fence}`;
}

/** Text inside raw HTML (where markdown escapes do not apply). */
function htmlText(text: string): string {
  return toTerminalText(text)
    .replace(/\s*\n\s*/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** A collapsed block; `summary` is plain text. */
function details(summary: string, block: string): string[] {
  return ['<details>', `<summary>${htmlText(summary)}</summary>`, '', block, '', '</details>', ''];
}

function failureSection(result: TestResult, manySections: boolean): string[] {
  const last = finalAttempt(result);
  if (!last) return [];
  const outcome = last.outcome;
  const name = mdInline(testLabel(result.test, result.section, manySections));
  const where = `${mdInline(last.machine)}, attempt ${last.attempt}, ${formatDuration(last.durationMs)}`;
  const out = [`### ${name}: ${STATUS_LABEL[outcome.status]}`, ''];
  switch (outcome.status) {
    case 'failed':
      out.push(`${mdCode(outcome.message)} (${where})`, '');
      if (outcome.diff) out.push(...details('diff', mdBlock(outcome.diff, 'diff')));
      break;
    case 'crashed':
      out.push(`Kernel crash: **${mdInline(outcome.crash.title)}** (${where})`, '');
      out.push(...details('console', mdBlock(outcome.crash.excerpt)));
      break;
    case 'timedout':
      out.push(`${mdInline(outcome.message)} (${where})`, '');
      if (outcome.crash) out.push(...details(outcome.crash.title, mdBlock(outcome.crash.excerpt)));
      break;
    case 'error':
      out.push(`${mdInline(outcome.message)} (${where})`, '');
      break;
    default:
      break;
  }
  if (last.dmesg) out.push(...details('dmesg', mdBlock(last.dmesg)));
  return out;
}

/** The judged results, regressions first (docs/baseline.md); known failures folded away. */
function verdictSections(verdict: RunVerdict, manySections: boolean): string[] {
  const out: string[] = [];
  const table = (items: TestVerdict[]) => {
    out.push('| Test | Why |', '|---|---|');
    for (const v of items) out.push(`| ${mdInline(testLabel(v.test, v.section, manySections))} | ${mdInline(v.why)} |`);
    out.push('');
  };
  if (verdict.regressions.length > 0) {
    out.push(`## Regressions (${verdict.regressions.length})`, '');
    table(verdict.regressions);
  }
  if (verdict.fixes.length > 0) {
    out.push(`## Fixed (${verdict.fixes.length})`, '');
    table(verdict.fixes);
  }
  if (verdict.possibleFixes.length > 0) {
    out.push(`## Possibly fixed (${verdict.possibleFixes.length})`, '');
    table(verdict.possibleFixes);
  }
  if (verdict.unjudged.length > 0) {
    out.push(`## Not judged: kt errors (${verdict.unjudged.length})`, '');
    table(verdict.unjudged);
  }
  if (verdict.known.length > 0) {
    out.push('<details>', `<summary>Known failures (${verdict.known.length})</summary>`, '');
    table(verdict.known);
    out.push('</details>', '');
  }
  if (verdict.sectionsNotInBaseline.length > 0) {
    out.push(`> Not in the baseline: ${verdict.sectionsNotInBaseline.map((s) => mdCode(s)).join(', ')}; every failure there counts as a regression until \`kt baseline update\` records it.`, '');
  }
  return out;
}

/** Renders report.md; with a verdict, it leads with the regressions. */
export function renderMarkdown(summary: RunSummary, judged?: RunVerdict): string {
  const manySections = summary.sections.length > 1;
  const failures = failingTests(summary);
  const out: string[] = [];
  const boots = summary.machines.booted;
  const lost = summary.machines.lost.length;
  const facts = `${plural(summary.counts.total, 'test')} in ${formatDuration(summary.wallMs)}, ${plural(boots, 'VM')} booted${lost > 0 ? `, ${lost} lost` : ''}`;
  // A run that ended in kt's own error (no VM booted) is never green (runEnd.ts).
  const runFailed = someRunFailed(summary);
  if (judged) {
    const mark = judged.regressions.length > 0 || runFailed ? '❌' : judged.unjudged.length > 0 || summary.interrupted ? '⚠️' : '✅';
    out.push(`# ${mark} kt: ${verdictCounts(judged)}`, '');
    out.push(`Against ${mdCode(judged.baseline)}. ${facts}: ${formatCounts(summary.counts)}.`, '');
    out.push(...verdictSections(judged, manySections));
  } else {
    const verdict = failures.length > 0 || runFailed ? '❌' : summary.interrupted ? '⚠️' : '✅';
    out.push(`# ${verdict} kt: ${formatCounts(summary.counts)}`, '');
    out.push(`${facts}.`, '');
  }
  if (runFailed) {
    const why = unfinishedRuns(summary).map((r) => `${r.runId}: ${whyUnfinished(r)}`).join('; ');
    out.push(`> **The run failed** (${mdInline(why)}): ${plural(summary.counts.notexecuted, 'test')} not executed.`, '');
  } else if (summary.interrupted) {
    out.push(`> **The run was interrupted:** ${plural(summary.counts.notexecuted, 'test')} not executed.`, '');
  }

  if (summary.runs.length > 0) {
    out.push('| Run | Section | Host | Kernel | FS | Accel | VMs | Status | Wall time |', '|---|---|---|---|---|---|---|---|---|');
    for (const r of summary.runs) {
      const status = r.status === 'interrupted' && r.signal ? `interrupted (${r.signal})` : r.status;
      out.push(
        `| ${mdInline(r.runId)}${r.shard ? ` (shard ${mdInline(r.shard)})` : ''} | ${mdInline(r.section)} | ${mdInline(r.hostname)} | ${mdInline(r.kernel)} | ${mdInline(r.fstyp)} | ${mdInline(r.accel)} | ${r.jobs} | ${mdInline(status)} | ${formatDuration(r.wallMs)} |`,
      );
    }
    out.push('');
  }

  if (failures.length > 0) {
    out.push(`## Failures (${failures.length})`, '');
    for (const f of failures) out.push(...failureSection(f, manySections));
  }

  if (summary.crashes.length > 0) {
    out.push(`## Kernel crashes (${summary.crashes.length} distinct)`, '');
    out.push('| Crash | Type | Frame | Count | Tests | VMs |', '|---|---|---|---|---|---|');
    for (const g of summary.crashes) {
      out.push(
        `| ${mdInline(g.crash.title)} | ${mdInline(g.crash.type)} | ${g.crash.frame ? mdCode(g.crash.frame, true) : ''} | ${g.count} | ${mdInline(g.tests.join(', '))} | ${mdInline(g.machines.join(', '))} |`,
      );
    }
    out.push('');
  }

  const flaky = summary.tests.filter((t) => t.flaky);
  if (flaky.length > 0) {
    out.push(`## Flaky (${flaky.length})`, '', '| Test | Attempts |', '|---|---|');
    for (const t of flaky) {
      const history = t.attempts.map((a) => `${STATUS_LABEL[a.outcome.status]} on ${a.machine}`).join(' → ');
      out.push(`| ${mdInline(testLabel(t.test, t.section, manySections))} | ${mdInline(history)} |`);
    }
    out.push('');
  }

  const notExecuted = summary.tests.filter((t) => t.status === 'notexecuted');
  if (notExecuted.length > 0) {
    out.push(`## Not executed (${notExecuted.length})`, '');
    for (const t of notExecuted) {
      const running = t.unfinishedOn ? `, was running on ${t.unfinishedOn}` : '';
      out.push(`- ${mdInline(testLabel(t.test, t.section, manySections))} (${mdInline(`${t.notExecutedReason ?? 'run interrupted'}${running}`)})`);
    }
    out.push('');
  }

  const notRun = summary.tests.filter((t) => t.status === 'notrun');
  if (notRun.length > 0) {
    out.push(`## Not run (${notRun.length})`, '', '| Test | Reason |', '|---|---|');
    for (const t of notRun) {
      const outcome = finalAttempt(t)?.outcome;
      out.push(`| ${mdInline(testLabel(t.test, t.section, manySections))} | ${outcome?.status === 'notrun' ? mdInline(outcome.reason) : ''} |`);
    }
    out.push('');
  }

  if (summary.slowest.length > 0) {
    out.push('## Slowest tests', '', '| Test | Duration | VM |', '|---|---|---|');
    for (const s of summary.slowest) out.push(`| ${mdInline(testLabel(s.test, s.section, manySections))} | ${formatDuration(s.durationMs)} | ${mdInline(s.machine)} |`);
    out.push('');
  }

  if (summary.machines.lost.length > 0) {
    out.push('## Lost VMs', '', '| VM | Reason | Test | Message | Console log |', '|---|---|---|---|---|');
    for (const l of summary.machines.lost) {
      out.push(`| ${mdInline(l.machine)} | ${l.reason} | ${mdInline(l.test ?? '')} | ${mdInline(l.message)} | ${mdCode(l.consoleLog, true)} |`);
    }
    out.push('');
  }

  if (summary.warnings.length > 0) {
    out.push('## Warnings', '');
    for (const w of summary.warnings) out.push(`- ${w.machine ? `${mdInline(w.machine)}: ` : ''}${mdInline(w.message)}`);
    out.push('');
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
