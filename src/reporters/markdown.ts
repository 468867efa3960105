/**
 * report.md: a readable report of a run, GitHub-flavoured so the same file can be appended to
 * $GITHUB_STEP_SUMMARY. Untrusted text (messages, diffs, console) is escaped: inline text
 * backslash-escapes markdown and HTML punctuation, blocks go in fences longer than any backtick
 * run they contain.
 */
import { formatCounts, formatDuration, plural, STATUS_LABEL, testLabel } from './format.js';
import { crashesOutsideTests, failingTests, finalAttempt, hasFailures, type RunSummary, type TestResult } from '../record/runSummary.js';
import type { RunVerdict, TestVerdict } from '../record/verdict.js';
import { capText, headLines, toTerminalText } from './textSafety.js';
import { verdictCounts } from './verdictWords.js';
import { someRunFailed, unfinishedRuns, whyUnfinished } from './runEnd.js';
import { renderWithinBudget, type MdList, type MdNote, type MdPart } from './mdBudget.js';

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

/**
 * report.md's size bound. GitHub drops a step summary over 1024 KiB whole, and kt appends
 * report.md to $GITHUB_STEP_SUMMARY; half of that leaves room for whatever else the step writes.
 * A larger report is shortened (mdBudget.ts): every failing test is still named.
 */
export const MARKDOWN_MAX_BYTES = 512 * 1024;

/** Options of renderMarkdown. */
export interface MarkdownOptions {
  /** Size bound in bytes (default MARKDOWN_MAX_BYTES). */
  maxBytes?: number;
}

/** A table row that stands for `n` rows left out, with as many cells as the table has columns. */
function moreRow(n: number, what: string, columns: number): string[] {
  return [`| … | ${n} more ${what} in report.html |${' |'.repeat(columns - 2)}`];
}

/** A table of judged tests; a regression keeps its name and rule when there is no room for why. */
function verdictTable(head: string[], tail: string[], items: TestVerdict[], manySections: boolean, priority: number, what: string, keepNames: boolean): MdList {
  return {
    kind: 'list',
    head: [...head, '| Test | Why |', '|---|---|'],
    items: items.map((v) => {
      const name = mdInline(testLabel(v.test, v.section, manySections));
      return { full: [`| ${name} | ${mdInline(v.why)} |`], ...(keepNames ? { short: [`| ${name} | ${mdInline(v.rule)} |`] } : {}) };
    }),
    tail: ['', ...tail],
    priority,
    more: (n) => moreRow(n, what, 2),
  };
}

/** The judged results, regressions first (docs/baseline.md); known failures folded away. */
function verdictSections(verdict: RunVerdict, manySections: boolean): MdPart[] {
  const out: MdPart[] = [];
  if (verdict.regressions.length > 0) {
    out.push(verdictTable([`## Regressions (${verdict.regressions.length})`, ''], [], verdict.regressions, manySections, 0, 'regressions', true));
  }
  if (verdict.fixes.length > 0) out.push(verdictTable([`## Fixed (${verdict.fixes.length})`, ''], [], verdict.fixes, manySections, 2, 'fixes', false));
  if (verdict.possibleFixes.length > 0) {
    out.push(verdictTable([`## Possibly fixed (${verdict.possibleFixes.length})`, ''], [], verdict.possibleFixes, manySections, 3, 'possible fixes', false));
  }
  if (verdict.unjudged.length > 0) {
    out.push(verdictTable([`## Not judged: kt errors (${verdict.unjudged.length})`, ''], [], verdict.unjudged, manySections, 4, 'tests not judged', false));
  }
  if (verdict.known.length > 0) {
    out.push(verdictTable(['<details>', `<summary>Known failures (${verdict.known.length})</summary>`, ''], ['</details>', ''], verdict.known, manySections, 7, 'known failures', false));
  }
  if (verdict.sectionsNotInBaseline.length > 0) {
    out.push([`> Not in the baseline: ${verdict.sectionsNotInBaseline.map((s) => mdCode(s)).join(', ')}; every failure there counts as a regression until \`kt baseline update\` records it.`, '']);
  }
  return out;
}

/** A list of rows (or lines) left out from the bottom, counted, when there is no room. */
function simpleList(head: string[], rows: string[], priority: number, more: (n: number) => string[]): MdList {
  return { kind: 'list', head, items: rows.map((row) => ({ full: [row] })), tail: [''], priority, more };
}

/** Renders report.md; with a verdict, it leads with the regressions. At most `maxBytes` (see MARKDOWN_MAX_BYTES). */
export function renderMarkdown(summary: RunSummary, judged?: RunVerdict, options: MarkdownOptions = {}): string {
  const manySections = summary.sections.length > 1;
  const failures = failingTests(summary);
  const parts: MdPart[] = [];
  const out: string[] = [];
  parts.push(out);
  const boots = summary.machines.booted;
  const lost = summary.machines.lost.length;
  const facts = `${plural(summary.counts.total, 'test')} in ${formatDuration(summary.wallMs)}, ${plural(boots, 'VM')} booted${lost > 0 ? `, ${lost} lost` : ''}`;
  const maxBytes = options.maxBytes ?? MARKDOWN_MAX_BYTES;
  // A run that ended in kt's own error (no VM booted) is never green (runEnd.ts).
  const runFailed = someRunFailed(summary);
  const alert: string[] = [];
  if (runFailed) {
    const why = unfinishedRuns(summary).map((r) => `${r.runId}: ${whyUnfinished(r)}`).join('; ');
    alert.push(`> **The run failed** (${mdInline(why)}): ${plural(summary.counts.notexecuted, 'test')} not executed.`, '');
  } else if (summary.interrupted) {
    alert.push(`> **The run was interrupted:** ${plural(summary.counts.notexecuted, 'test')} not executed.`, '');
  }
  // A panic between tests fails the run (record/verdict.ts exitCodeFor) though every test passed.
  const outside = crashesOutsideTests(summary);
  if (outside.length > 0) {
    alert.push(`> **Kernel crash outside any test** (it fails the run): ${outside.map((g) => `${mdInline(g.crash.title)} on ${mdInline(g.machines.join(', '))}`).join('; ')}.`, '');
  }
  const shortened: MdNote = {
    kind: 'note',
    lines: [
      `> **Shortened** to ${Math.round(maxBytes / 1024)} KiB (GitHub drops a step summary over 1 MiB): every failure in full is in \`report.html\`, every result in \`summary.json\`, in the run directory.`,
      '',
    ],
  };
  if (judged) {
    const mark = judged.regressions.length > 0 || outside.length > 0 || runFailed ? '❌' : judged.unjudged.length > 0 || summary.interrupted ? '⚠️' : '✅';
    out.push(`# ${mark} kt: ${verdictCounts(judged)}`, '');
    out.push(`Against ${mdCode(judged.baseline)}. ${facts}: ${formatCounts(summary.counts)}.`, '');
    parts.push(shortened, ...verdictSections(judged, manySections), alert);
  } else {
    const verdict = hasFailures(summary) || runFailed ? '❌' : summary.interrupted ? '⚠️' : '✅';
    out.push(`# ${verdict} kt: ${formatCounts(summary.counts)}`, '');
    out.push(`${facts}.`, '');
    parts.push(shortened, alert);
  }

  const rest: string[] = [];
  parts.push(rest);
  if (summary.runs.length > 0) {
    rest.push('| Run | Section | Host | Kernel | FS | Accel | VMs | Status | Wall time |', '|---|---|---|---|---|---|---|---|---|');
    for (const r of summary.runs) {
      const status = r.status === 'interrupted' && r.signal ? `interrupted (${r.signal})` : r.status;
      rest.push(
        `| ${mdInline(r.runId)}${r.shard ? ` (shard ${mdInline(r.shard)})` : ''} | ${mdInline(r.section)} | ${mdInline(r.hostname)} | ${mdInline(r.kernel)} | ${mdInline(r.fstyp)} | ${mdInline(r.accel)} | ${r.jobs} | ${mdInline(status)} | ${formatDuration(r.wallMs)} |`,
      );
    }
    rest.push('');
  }

  if (failures.length > 0) {
    // Each failure keeps its name when its section does not fit: every failing test is named.
    parts.push({
      kind: 'list',
      head: [`## Failures (${failures.length})`, ''],
      items: failures.map((f) => ({
        full: failureSection(f, manySections),
        short: [`- ${mdInline(testLabel(f.test, f.section, manySections))}: ${STATUS_LABEL[f.status]}`],
      })),
      shortHead: ['Shown here by name only, in full in `report.html`:', ''],
      shortTail: [''],
      tail: [],
      priority: 1,
      more: (n) => [`${n} more failing tests: see \`report.html\`.`, ''],
    });
  }

  if (summary.crashes.length > 0) {
    parts.push(
      simpleList(
        [`## Kernel crashes (${summary.crashes.length} distinct)`, '', '| Crash | Type | Frame | Count | Tests | VMs |', '|---|---|---|---|---|---|'],
        summary.crashes.map(
          (g) =>
            `| ${mdInline(g.crash.title)} | ${mdInline(g.crash.type)} | ${g.crash.frame ? mdCode(g.crash.frame, true) : ''} | ${g.count} | ${mdInline(g.tests.join(', '))} | ${mdInline(g.machines.join(', '))} |`,
        ),
        5,
        (n) => moreRow(n, 'crashes', 6),
      ),
    );
  }

  const flaky = summary.tests.filter((t) => t.flaky);
  if (flaky.length > 0) {
    const rows = flaky.map((t) => {
      const history = t.attempts.map((a) => `${STATUS_LABEL[a.outcome.status]} on ${a.machine}`).join(' → ');
      return `| ${mdInline(testLabel(t.test, t.section, manySections))} | ${mdInline(history)} |`;
    });
    parts.push(simpleList([`## Flaky (${flaky.length})`, '', '| Test | Attempts |', '|---|---|'], rows, 6, (n) => moreRow(n, 'flaky tests', 2)));
  }

  const notExecuted = summary.tests.filter((t) => t.status === 'notexecuted');
  if (notExecuted.length > 0) {
    const rows = notExecuted.map((t) => {
      const running = t.unfinishedOn ? `, was running on ${t.unfinishedOn}` : '';
      return `- ${mdInline(testLabel(t.test, t.section, manySections))} (${mdInline(`${t.notExecutedReason ?? 'run interrupted'}${running}`)})`;
    });
    parts.push(simpleList([`## Not executed (${notExecuted.length})`, ''], rows, 9, (n) => [`- … ${n} more in report.html`]));
  }

  const notRun = summary.tests.filter((t) => t.status === 'notrun');
  if (notRun.length > 0) {
    const rows = notRun.map((t) => {
      const outcome = finalAttempt(t)?.outcome;
      return `| ${mdInline(testLabel(t.test, t.section, manySections))} | ${outcome?.status === 'notrun' ? mdInline(outcome.reason) : ''} |`;
    });
    parts.push(simpleList([`## Not run (${notRun.length})`, '', '| Test | Reason |', '|---|---|'], rows, 10, (n) => moreRow(n, 'tests not run', 2)));
  }

  if (summary.slowest.length > 0) {
    const slowest = ['## Slowest tests', '', '| Test | Duration | VM |', '|---|---|---|'];
    for (const s of summary.slowest) slowest.push(`| ${mdInline(testLabel(s.test, s.section, manySections))} | ${formatDuration(s.durationMs)} | ${mdInline(s.machine)} |`);
    slowest.push('');
    parts.push(slowest);
  }

  if (summary.machines.lost.length > 0) {
    const rows = summary.machines.lost.map((l) => `| ${mdInline(l.machine)} | ${l.reason} | ${mdInline(l.test ?? '')} | ${mdInline(l.message)} | ${mdCode(l.consoleLog, true)} |`);
    parts.push(simpleList(['## Lost VMs', '', '| VM | Reason | Test | Message | Console log |', '|---|---|---|---|---|'], rows, 8, (n) => moreRow(n, 'lost VMs', 5)));
  }

  if (summary.warnings.length > 0) {
    const rows = summary.warnings.map((w) => `- ${w.machine ? `${mdInline(w.machine)}: ` : ''}${mdInline(w.message)}`);
    parts.push(simpleList(['## Warnings', ''], rows, 11, (n) => [`- … ${n} more in report.html`]));
  }
  return renderWithinBudget(parts, maxBytes);
}
