/**
 * The tabular parts of report.html: the verdict against a baseline, flaky tests, durations
 * against the previous run, the slowest tests, per-section results, not-run reasons, and the
 * runs with their lost VMs and warnings.
 */
import { finalAttempt, type RunSummary, type SummaryStatus, type TestResult } from '../record/runSummary.js';
import type { RunVerdict, TestVerdict } from '../record/verdict.js';
import type { DurationComparison } from './durationChanges.js';
import { formatDuration, plural, STATUS_LABEL, STATUS_ORDER, testLabel } from './format.js';
import { attr, html } from './htmlEscape.js';
import { card, chip, fileHref, testName, utc, type HtmlContext } from './htmlParts.js';

function verdictRows(ctx: HtmlContext, list: readonly TestVerdict[]): string {
  const rows = list.map((v) => `<tr><td>${testName(ctx, v.test, v.section)}</td><td class="why">${html(v.why)}</td></tr>`);
  return `<table><thead><tr><th>Test</th><th>Why</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The run judged against its baseline: regressions first, then fixes, known failures, the unjudged. */
export function verdictSection(ctx: HtmlContext, verdict: RunVerdict): string {
  const parts: string[] = [`<p class="muted">Judged against <code>${html(verdict.baseline)}</code>: only regressions make the run fail.</p>`];
  if (verdict.regressions.length > 0) parts.push(`<h3>Regressions (${verdict.regressions.length})</h3>`, verdictRows(ctx, verdict.regressions));
  else parts.push('<p><b>No regressions.</b></p>');
  if (verdict.fixes.length > 0) parts.push(`<h3>Fixed: known failures that now pass (${verdict.fixes.length})</h3>`, verdictRows(ctx, verdict.fixes));
  if (verdict.possibleFixes.length > 0) parts.push(`<h3>Possibly fixed (${verdict.possibleFixes.length})</h3>`, verdictRows(ctx, verdict.possibleFixes));
  if (verdict.unjudged.length > 0) parts.push(`<h3>Not judged: only kt errors, nothing known about the kernel (${verdict.unjudged.length})</h3>`, verdictRows(ctx, verdict.unjudged));
  if (verdict.known.length > 0) {
    parts.push(`<details${verdict.known.length <= 10 ? ' open' : ''}><summary>Known failures (${verdict.known.length})</summary>${verdictRows(ctx, verdict.known)}</details>`);
  }
  const notes: string[] = [];
  if (verdict.sectionsNotInBaseline.length > 0) notes.push(`the baseline has no run of ${verdict.sectionsNotInBaseline.map((s) => `<code>${html(s)}</code>`).join(', ')}`);
  if (verdict.notExecuted > 0) notes.push(`${plural(verdict.notExecuted, 'planned test')} never ran and ${verdict.notExecuted === 1 ? 'is' : 'are'} not judged`);
  if (notes.length > 0) parts.push(`<p class="muted">Note: ${notes.join('; ')}.</p>`);
  return card('verdict', 'Against the baseline', parts.join('\n'), plural(verdict.regressions.length, 'regression'));
}

/** Tests that failed and then passed on a retry. */
export function flakySection(ctx: HtmlContext): string {
  const flaky = ctx.summary.tests.filter((t) => t.flaky);
  if (flaky.length === 0) return '';
  const rows = flaky.map((t) => {
    const history = t.attempts.map((a) => `${chip(a.outcome.status)} <span class="muted">${html(a.machine)}</span>`).join(' → ');
    return `<tr><td>${testName(ctx, t.test, t.section)}</td><td>${history}</td></tr>`;
  });
  return card(
    'flaky',
    'Flaky tests',
    `<p class="muted">Failed, then passed on a retry on a fresh VM: counted as passed.</p><table><thead><tr><th>Test</th><th>Attempts</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
    flaky.length,
  );
}

function signed(ms: number): string {
  return `${ms >= 0 ? '+' : '−'}${formatDuration(Math.abs(ms))}`;
}

/** Durations against the previous run of the results directory: the tests that changed most. */
export function durationsSection(ctx: HtmlContext, cmp: DurationComparison): string {
  const wall = `${formatDuration(cmp.previousWallMs)} → <b>${formatDuration(cmp.currentWallMs)}</b> (${signed(cmp.currentWallMs - cmp.previousWallMs)})`;
  const lines = [
    `<p>Compared with <code>${html(cmp.previousRunIds.join(', '))}</code>: wall time ${wall}; the ${plural(cmp.compared, 'test')} that ran to the end in both took ${formatDuration(cmp.previousTotalMs)} → <b>${formatDuration(cmp.currentTotalMs)}</b>${
      cmp.onlyNow + cmp.onlyBefore > 0 ? `; ${cmp.onlyNow} timed only now, ${cmp.onlyBefore} only before` : ''
    }.</p>`,
  ];
  if (cmp.changes.length === 0) {
    lines.push('<p class="muted">No test\'s duration changed by more than 1 s and 10%.</p>');
  } else {
    const largest = Math.max(...cmp.changes.map((c) => Math.abs(c.deltaMs)));
    const rows = cmp.changes.map((c) => {
      const up = c.deltaMs > 0;
      const ratio = c.previousMs > 0 ? `${up ? '+' : '−'}${Math.round((Math.abs(c.deltaMs) / c.previousMs) * 100)}%` : 'new';
      const w = Math.max(2, Math.round((Math.abs(c.deltaMs) / largest) * 100));
      return `<tr><td>${testName(ctx, c.test, c.section)}</td><td class="num">${formatDuration(c.previousMs)}</td><td class="num">${formatDuration(c.currentMs)}</td><td class="num ${up ? 'delta-up' : 'delta-down'}">${signed(c.deltaMs)}</td><td class="num muted">${ratio}</td><td class="dcell"><span class="dbar ${up ? 'up' : 'down'}" style="width:${w}%"></span></td></tr>`;
    });
    lines.push(
      `<table><thead><tr><th>Test</th><th class="num">Before</th><th class="num">Now</th><th class="num">Change</th><th class="num"></th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
    );
    if (cmp.moreChanges > 0) lines.push(`<p class="muted">… and ${plural(cmp.moreChanges, 'more test')} changed by more than 1 s and 10%.</p>`);
  }
  return card('durations', 'Durations against the previous run', lines.join('\n'));
}

/** The slowest tests of the run. */
export function slowestSection(ctx: HtmlContext): string {
  const slowest = ctx.summary.slowest;
  if (slowest.length === 0) return '';
  const longest = Math.max(1, ...slowest.map((s) => s.durationMs));
  const rows = slowest.map(
    (s) =>
      `<tr><td>${testName(ctx, s.test, s.section)}</td><td class="num">${formatDuration(s.durationMs)}</td><td>${html(s.machine)}</td><td class="dcell"><span class="dbar up" style="width:${Math.max(2, Math.round((s.durationMs / longest) * 100))}%;background:#afb8c1"></span></td></tr>`,
  );
  return card('slowest', 'Slowest tests', `<table><thead><tr><th>Test</th><th class="num">Duration</th><th>VM</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>`);
}

function note(t: TestResult): string {
  const o = finalAttempt(t)?.outcome;
  if (!o) return `${t.notExecutedReason ?? 'run interrupted'}${t.unfinishedOn ? `; was running on ${t.unfinishedOn}` : ''}`;
  switch (o.status) {
    case 'notrun':
      return o.reason;
    case 'crashed':
      return o.crash.title;
    case 'failed':
    case 'timedout':
    case 'error':
      return o.message;
    case 'passed':
      return '';
  }
}

/** Section names in order: the summary's sections, then any a test names. */
function sectionNames(summary: RunSummary): string[] {
  const names = summary.sections.map((s) => s.name);
  for (const t of summary.tests) if (!names.includes(t.section)) names.push(t.section);
  return names;
}

/** Sections open by default when a report has at most this many tests. */
const OPEN_TESTS = 60;

/** One row per section with its counts, then each section's tests. */
export function sectionsSection(ctx: HtmlContext): string {
  const summary = ctx.summary;
  const names = sectionNames(summary);
  if (names.length === 0) return '';
  const statuses = STATUS_ORDER.filter((s) => summary.counts[s] > 0);
  const configOf = (name: string) => summary.runs.flatMap((r) => r.sections).find((s) => s.name === name);
  const withMkfs = names.some((n) => (configOf(n)?.mkfsOptions ?? summary.sections.find((s) => s.name === n)?.mkfsOptions ?? '') !== '');
  const withMount = names.some((n) => (configOf(n)?.mountOptions ?? summary.sections.find((s) => s.name === n)?.mountOptions ?? '') !== '');
  const head = `<tr><th>Section</th><th>FS</th>${withMkfs ? '<th>MKFS_OPTIONS</th>' : ''}${withMount ? '<th>MOUNT_OPTIONS</th>' : ''}${statuses.map((s) => `<th class="num">${STATUS_LABEL[s]}</th>`).join('')}<th class="num">Wall time</th></tr>`;
  const rows = names.map((name) => {
    const info = summary.sections.find((s) => s.name === name);
    const config = configOf(name);
    const tests = summary.tests.filter((t) => t.section === name);
    const count = (s: SummaryStatus): number => tests.filter((t) => t.status === s).length;
    return `<tr><td><code>${html(name)}</code></td><td>${html(config?.fstyp ?? info?.fstyp ?? '')}</td>${withMkfs ? `<td><code>${html(config?.mkfsOptions ?? info?.mkfsOptions ?? '')}</code></td>` : ''}${withMount ? `<td><code>${html(config?.mountOptions ?? info?.mountOptions ?? '')}</code></td>` : ''}${statuses
      .map((s) => `<td class="num">${count(s) || ''}</td>`)
      .join('')}<td class="num">${info ? formatDuration(info.wallMs) : ''}</td></tr>`;
  });
  const open = summary.tests.length <= OPEN_TESTS;
  const lists = names.map((name) => {
    const tests = summary.tests.filter((t) => t.section === name);
    const trs = tests.map((t) => {
      const last = finalAttempt(t);
      return `<tr><td>${testName(ctx, t.test, t.section, true, true)}</td><td>${chip(t.status)}${t.flaky ? ' <span class="chip flaky">flaky</span>' : ''}</td><td class="num">${last ? formatDuration(last.durationMs) : ''}</td><td>${html(last?.machine ?? t.unfinishedOn ?? '')}</td><td class="num">${t.attempts.length || ''}</td><td class="why">${html(note(t), 400)}</td></tr>`;
    });
    return `<details${open ? ' open' : ''}><summary>Tests of <code>${html(name)}</code> (${tests.length})</summary><table><thead><tr><th>Test</th><th>Result</th><th class="num">Duration</th><th>VM</th><th class="num">Attempts</th><th>Note</th></tr></thead><tbody>${trs.join('')}</tbody></table></details>`;
  });
  return card('sections', names.length > 1 ? 'Sections' : 'All tests', `<table><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>\n${lists.join('\n')}`, plural(summary.tests.length, 'test'));
}

/** Not-run tests grouped by the reason fstests gave, and tests that never got a result. */
export function notRunSection(ctx: HtmlContext): string {
  const byReason = new Map<string, TestResult[]>();
  for (const t of ctx.summary.tests) {
    const o = finalAttempt(t)?.outcome;
    if (o?.status !== 'notrun') continue;
    const list = byReason.get(o.reason) ?? [];
    list.push(t);
    byReason.set(o.reason, list);
  }
  const notExecuted = ctx.summary.tests.filter((t) => t.status === 'notexecuted');
  if (byReason.size === 0 && notExecuted.length === 0) return '';
  const parts: string[] = [];
  if (notExecuted.length > 0) {
    parts.push(
      `<h3>Not executed (${notExecuted.length})</h3><ul class="reasons">${notExecuted
        .map((t) => `<li>${testName(ctx, t.test, t.section)} <span class="muted">${html(t.notExecutedReason ?? 'run interrupted')}${t.unfinishedOn ? `; was running on ${html(t.unfinishedOn)}` : ''}</span></li>`)
        .join('')}</ul>`,
    );
  }
  if (byReason.size > 0) {
    const reasons = [...byReason.entries()].sort((a, b) => b[1].length - a[1].length);
    parts.push(
      `<h3>Not run, by reason (${[...byReason.values()].reduce((n, l) => n + l.length, 0)})</h3><ul class="reasons">${reasons
        .map(([reason, tests]) => `<li><b>${html(reason)}</b> <span class="muted">(${tests.length})</span><br><span class="tests">${tests.map((t) => html(testLabel(t.test, t.section, ctx.manySections))).join(' ')}</span></li>`)
        .join('')}</ul>`,
    );
  }
  const total = notExecuted.length + [...byReason.values()].reduce((n, l) => n + l.length, 0);
  return card('notrun', 'Not run', parts.join('\n'), total);
}

/** The runs (or CI shards), the VMs kt discarded, and the runner's warnings. */
export function runsSection(ctx: HtmlContext): string {
  const s = ctx.summary;
  const runRows = s.runs.map((r) => {
    const status = r.status === 'interrupted' && r.signal ? `interrupted (${r.signal})` : r.status === 'error' && r.message ? `error: ${r.message}` : r.status;
    return `<tr><td><code>${html(r.runId)}</code>${r.shard ? ` <span class="muted">shard ${html(r.shard)}</span>` : ''}</td><td>${html(r.hostname)}</td><td>${utc(r.startedAt)}</td><td>${html(r.sections.map((x) => x.name).join(', '))}</td><td class="mono">${html(r.kernel)}</td><td>${html(r.accel)}</td><td class="num">${r.jobs}</td><td class="num">${r.planned}</td><td>${html(status)}</td><td class="num">${formatDuration(r.wallMs)}</td></tr>`;
  });
  const parts = [
    `<table><thead><tr><th>Run</th><th>Host</th><th>Started</th><th>Sections</th><th>Kernel</th><th>Accel</th><th class="num">VMs</th><th class="num">Planned</th><th>Status</th><th class="num">Wall</th></tr></thead><tbody>${runRows.join('')}</tbody></table>`,
  ];
  const argv = s.runs.filter((r) => r.argv.length > 0);
  if (argv.length > 0) {
    parts.push(`<details><summary>Command line${argv.length > 1 ? 's' : ''}</summary><pre class="block plain">${argv.map((r) => html(['kt', ...r.argv].join(' '))).join('\n')}</pre></details>`);
  }
  if (s.machines.lost.length > 0) {
    const rows = s.machines.lost.map((l) => {
      const href = fileHref(ctx, l.runId, l.consoleLog);
      const vmcore = fileHref(ctx, l.runId, l.vmcore);
      return `<tr><td>${html(l.machine)}</td><td>${html(l.reason)}</td><td>${l.test ? testName(ctx, l.test, sectionOfTest(s, l.test)) : ''}</td><td class="why">${html(l.message, 400)}</td><td>${href ? `<a href="${attr(href)}">console</a>` : ''}${vmcore ? ` · <a href="${attr(vmcore)}">vmcore</a>` : ''}</td></tr>`;
    });
    parts.push(`<h3>VMs lost (${s.machines.lost.length} of ${s.machines.booted} booted)</h3><table><thead><tr><th>VM</th><th>Reason</th><th>Test</th><th>Message</th><th>Files</th></tr></thead><tbody>${rows.join('')}</tbody></table>`);
  }
  if (s.warnings.length > 0) {
    parts.push(`<h3>Warnings (${s.warnings.length})</h3><ul>${s.warnings.map((w) => `<li>${w.machine ? `<b>${html(w.machine)}</b>: ` : ''}${html(w.message, 1000)}</li>`).join('')}</ul>`);
  }
  return card('runs', s.runs.length > 1 ? 'Runs' : 'Run', parts.join('\n'));
}

/** A lost VM names its test without a section: the first section that has it. */
function sectionOfTest(summary: RunSummary, test: string): string {
  return summary.tests.find((t) => t.test === test)?.section ?? '';
}
