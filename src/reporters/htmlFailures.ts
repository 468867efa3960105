/**
 * The parts of report.html a developer debugs from: one card per failing test (message, diff,
 * crash title and console, dmesg, tail of .full, links to the files, earlier attempts), kernel
 * crashes grouped by title, and the non-fatal kernel reports of each attempt.
 */
import type { CrashInfo } from '../record/outcome.js';
import { failingTests, finalAttempt, type CrashGroup, type TestAttempt, type TestResult } from '../record/runSummary.js';
import { formatDuration, plural, STATUS_LABEL } from './format.js';
import { attr, html } from './htmlEscape.js';
import { block, card, chip, fileHref, fileLinks, foldedBlock, testName, type HtmlContext } from './htmlParts.js';
import { clock } from './htmlTimeline.js';

/** "vm1 · attempt 2 · 4.8s · at +0:15" */
function where(ctx: HtmlContext, a: TestAttempt): string {
  const run = ctx.summary.runs.find((r) => r.runId === a.runId);
  const start = a.startedAt ?? a.endedAt;
  const after = run ? Date.parse(start) - Date.parse(run.startedAt) - (a.startedAt ? 0 : a.durationMs) : Number.NaN;
  const parts = [
    html(a.machine),
    ...(a.attempt > 1 ? [`attempt ${a.attempt}`] : []),
    formatDuration(a.durationMs),
    ...(Number.isFinite(after) ? [`started +${clock(after)}`] : []),
    ...(ctx.summary.runs.length > 1 ? [html(a.runId)] : []),
  ];
  return `<span class="where">${parts.join(' · ')}</span>`;
}

function crashLink(ctx: HtmlContext, crash: CrashInfo): string {
  const anchor = ctx.crashAnchorOf(crash.fingerprint);
  const corrupted = crash.corrupted ? ' <span class="chip corrupted">report corrupted: title may be wrong</span>' : '';
  const title = html(crash.title);
  return `<div class="crash-title">${anchor ? `<a href="#${attr(anchor)}">${title}</a>` : title}${corrupted}</div>`;
}

function reportsOf(attempt: TestAttempt): string {
  if (attempt.reports.length === 0) return '';
  return attempt.reports
    .map((r) => foldedBlock(`<span class="chip warn">kernel report</span> ${html(r.title)}`, r.excerpt, 'console'))
    .join('');
}

/** What one attempt says: message, crash, diff, console, dmesg, .full, files. */
function attemptBody(ctx: HtmlContext, a: TestAttempt, primary: boolean): string {
  const o = a.outcome;
  const out: string[] = [];
  switch (o.status) {
    case 'failed':
      out.push(`<div class="message">${html(o.message)}</div>`);
      if (o.diff) out.push(primary ? block(o.diff, 'diff', fileHref(ctx, a.runId, a.artifacts.outBad)) : foldedBlock('diff', o.diff, 'diff'));
      break;
    case 'crashed':
      out.push(crashLink(ctx, o.crash));
      if (o.message && o.message !== o.crash.title) out.push(`<div class="message">${html(o.message)}</div>`);
      // Folded: the crash's own card (linked by the title) shows the console open.
      out.push(foldedBlock('console', o.crash.excerpt, 'console', false, fileHref(ctx, a.runId, a.artifacts.console)));
      break;
    case 'timedout':
      out.push(`<div class="message">${html(o.message)}</div>`);
      if (o.crash) {
        out.push(crashLink(ctx, o.crash));
        out.push(foldedBlock('console', o.crash.excerpt, 'console', false, fileHref(ctx, a.runId, a.artifacts.console)));
      }
      break;
    case 'error':
      out.push(`<div class="message">${html(o.message)}</div>`);
      break;
    case 'notrun':
      out.push(`<div class="message">${html(o.reason)}</div>`);
      break;
    case 'passed':
      break;
  }
  out.push(reportsOf(a));
  // _check_dmesg failures have no diff: their dmesg is the evidence, shown open.
  const dmesgFirst = o.status === 'failed' && !o.diff;
  if (a.dmesg) out.push(foldedBlock('dmesg', a.dmesg, 'console', primary && dmesgFirst, fileHref(ctx, a.runId, a.artifacts.dmesg)));
  if (a.fullTail) out.push(foldedBlock('tail of .full', a.fullTail, 'plain', false, fileHref(ctx, a.runId, a.artifacts.full)));
  out.push(fileLinks(ctx, a.runId, a.artifacts));
  return out.join('\n');
}

function failureCard(ctx: HtmlContext, result: TestResult): string {
  const last = finalAttempt(result);
  if (!last) return '';
  const id = ctx.anchorOf(result.section, result.test);
  const earlier = result.attempts.slice(0, -1);
  const history =
    earlier.length > 0
      ? `<details class="attempts"><summary>${plural(earlier.length, 'earlier attempt')}: ${earlier
          .map((a) => `${STATUS_LABEL[a.outcome.status]} on ${html(a.machine)}`)
          .join(', ')}</summary>${earlier.map((a) => `<h3>Attempt ${a.attempt} ${chip(a.outcome.status)} ${where(ctx, a)}</h3>${attemptBody(ctx, a, false)}`).join('\n')}</details>`
      : '';
  return [
    `<article class="failure s-${last.outcome.status}"${id ? ` id="${attr(id)}"` : ''}>`,
    `<h3>${testName(ctx, result.test, result.section, false)} ${chip(last.outcome.status)} ${where(ctx, last)}</h3>`,
    attemptBody(ctx, last, true),
    history,
    '</article>',
  ].join('\n');
}

/** Failing tests, each a card (crashes and hangs first: they cost a VM). */
export function failuresSection(ctx: HtmlContext): string {
  const failures = failingTests(ctx.summary);
  if (failures.length === 0) return '';
  const rank: Record<string, number> = { crashed: 0, timedout: 1, failed: 2, error: 3 };
  const ordered = [...failures].sort((a, b) => (rank[a.status] ?? 9) - (rank[b.status] ?? 9));
  return card('failures', 'Failures', ordered.map((f) => failureCard(ctx, f)).join('\n'), failures.length);
}

/** Crash groups with the same title (their fingerprints differ by frame) are one entry; corrupted reports stay apart. */
export interface CrashByTitle {
  /** Id of the card. */
  id: string;
  groups: CrashGroup[];
  title: string;
  count: number;
  fatal: boolean;
  corrupted: boolean;
  tests: string[];
  machines: string[];
}

/** Groups summary.crashes by title, first seen first. */
export function crashesByTitle(groups: readonly CrashGroup[]): CrashByTitle[] {
  const byTitle = new Map<string, CrashByTitle>();
  groups.forEach((g, i) => {
    const key = g.crash.corrupted ? `corrupted\u0000${i}` : g.crash.title;
    let entry = byTitle.get(key);
    if (!entry) {
      entry = { id: `c-${byTitle.size + 1}`, groups: [], title: g.crash.title, count: 0, fatal: false, corrupted: g.crash.corrupted === true, tests: [], machines: [] };
      byTitle.set(key, entry);
    }
    entry.groups.push(g);
    entry.count += g.count;
    entry.fatal ||= g.fatal;
    for (const t of g.tests) if (!entry.tests.includes(t)) entry.tests.push(t);
    for (const m of g.machines) if (!entry.machines.includes(m)) entry.machines.push(m);
  });
  return [...byTitle.values()];
}

/** Kernel crashes grouped by title, fatal ones first, with their console excerpts. */
export function crashesSection(ctx: HtmlContext, crashes: readonly CrashByTitle[]): string {
  if (crashes.length === 0) return '';
  const ordered = [...crashes].sort((a, b) => Number(b.fatal) - Number(a.fatal));
  const cards = ordered.map((c) => {
    const first = c.groups[0]?.crash;
    if (!first) return '';
    const frames = [...new Set(c.groups.map((g) => g.crash.frame).filter((f): f is string => f !== undefined))];
    const meta = [
      `<span>type <b>${html(first.type)}</b></span>`,
      frames.length > 0 ? `<span>frame <b>${frames.map((f) => `<code>${html(f)}</code>`).join(', ')}</b></span>` : '',
      c.tests.length > 0 ? `<span>${c.tests.length === 1 ? 'test' : 'tests'} ${c.tests.map((t) => testNameAnywhere(ctx, t)).join(', ')}</span>` : '',
      `<span>${c.machines.length === 1 ? 'VM' : 'VMs'} <b>${html(c.machines.join(', '))}</b></span>`,
      `<span>fingerprint <code>${html(c.groups.map((g) => g.fingerprint).join(', '))}</code></span>`,
    ].join('');
    const chips = [
      c.fatal ? '<span class="chip fatal">fatal</span>' : '<span class="chip warn">non-fatal</span>',
      `<span class="chip">${c.count}×</span>`,
      c.corrupted ? '<span class="chip corrupted">report corrupted: title and grouping may be wrong</span>' : '',
    ].join(' ');
    return [
      `<article class="crash${c.fatal ? '' : ' nonfatal'}" id="${c.id}">`,
      `<h3>${html(c.title)} ${chips}</h3>`,
      `<div class="meta">${meta}</div>`,
      block(first.excerpt, 'console'),
      '</article>',
    ].join('\n');
  });
  const distinct = crashes.length === 1 ? '1 distinct' : `${crashes.length} distinct`;
  return card('crashes', 'Kernel crashes and reports', cards.join('\n'), distinct);
}

/** A test named without its section (crash groups record names only): linked when one section has it failing. */
function testNameAnywhere(ctx: HtmlContext, test: string): string {
  const result = ctx.summary.tests.find((t) => t.test === test && ctx.anchorOf(t.section, t.test) !== undefined);
  return result ? testName(ctx, result.test, result.section) : `<code>${html(test)}</code>`;
}

/** Every attempt that left a non-fatal kernel report (WARNING, KASAN, ...), also on passing tests. */
export function kernelReportsSection(ctx: HtmlContext): string {
  const rows: string[] = [];
  for (const t of ctx.summary.tests) {
    for (const a of t.attempts) {
      for (const r of a.reports) {
        rows.push(
          `<tr><td>${testName(ctx, t.test, t.section)}</td><td>${chip(a.outcome.status)}</td><td>${html(a.machine)}${a.attempt > 1 ? `, attempt ${a.attempt}` : ''}</td><td>${foldedBlock(html(r.title), r.excerpt, 'console')}</td></tr>`,
        );
      }
    }
  }
  if (rows.length === 0) return '';
  return card(
    'kernel-reports',
    'Kernel reports during tests',
    `<p class="muted">Reports that did not end the VM, by the test that was running.</p><table><thead><tr><th>Test</th><th>Result</th><th>VM</th><th>Report</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
    rows.length,
  );
}
