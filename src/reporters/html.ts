/**
 * report.html: the report people open first. One self-contained file (inline CSS and SVG, no
 * script, no font or image to fetch; a Content-Security-Policy that forbids any fetch makes
 * that a property of the page, not a promise), rendered from the same RunSummary as every other
 * report. Order: the verdict and counts, the timeline of the VMs, the failures with their
 * evidence, crashes, kernel reports, flaky tests, durations against the previous run, slowest
 * tests, per-section results, not-run reasons, the runs.
 *
 * Pure and deterministic (no clock, no host time zone): a replayed log renders the same bytes.
 */
import { crashesOutsideTests, failingTests, type RunSummary, type SummaryStatus } from '../record/runSummary.js';
import { exitCodeFor, type RunVerdict } from '../record/verdict.js';
import { compareDurations } from './durationChanges.js';
import { formatCounts, formatDuration, plural, STATUS_LABEL, STATUS_ORDER } from './format.js';
import { attr, html } from './htmlEscape.js';
import { crashesByTitle, crashesSection, failuresSection, kernelReportsSection } from './htmlFailures.js';
import { card, utc, type HtmlContext } from './htmlParts.js';
import { HTML_STYLE } from './htmlStyle.js';
import { durationsSection, flakySection, notRunSection, runsSection, sectionsSection, slowestSection, verdictSection } from './htmlTables.js';
import { renderTimeline, timelineModel } from './htmlTimeline.js';
import { someRunFailed, unfinishedRuns, whyUnfinished } from './runEnd.js';
import { testKey } from '../record/testKey.js';

/** What renderHtml needs besides the summary. */
export interface HtmlReportOptions {
  /** The run judged against a baseline: regressions lead the report. */
  verdict?: RunVerdict;
  /** The previous run of the same results directory: durations are compared with it. */
  previous?: RunSummary;
  /**
   * Where each run's directory is, relative to the report, by run id (a merged report of CI
   * shards links into the shards' directories). Absent: the report is in the run directory.
   */
  runDirs?: Readonly<Record<string, string>>;
}

/** Where a tile links to. */
const TILE_TARGET: Partial<Record<SummaryStatus, string>> = {
  failed: 'failures',
  crashed: 'failures',
  timedout: 'failures',
  error: 'failures',
  notrun: 'notrun',
  notexecuted: 'notrun',
  passed: 'sections',
};

function favicon(tone: 'ok' | 'bad' | 'warn'): string {
  const colour = tone === 'bad' ? '%23d1242f' : tone === 'warn' ? '%23bf8700' : '%232f9e44';
  return `data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'><circle cx='8' cy='8' r='7' fill='${colour}'/></svg>`;
}

function hero(summary: RunSummary, verdict: RunVerdict | undefined): { html: string; title: string; tone: 'ok' | 'bad' | 'warn' } {
  // Exit 3 with a verdict: some test had only kt errors, so the kernel was not judged there.
  // A run that ended in kt's own error (no VM booted) is bad whatever its tests say (runEnd.ts).
  const code = exitCodeFor(summary, verdict);
  const runFailed = someRunFailed(summary);
  const tone = code !== 0 || runFailed ? 'bad' : summary.interrupted ? 'warn' : 'ok';
  const word = code === 1 ? 'failed' : runFailed ? 'run failed' : code === 3 ? 'kt errors' : summary.interrupted ? 'interrupted' : 'passed';
  const counts = formatCounts(summary.counts);
  // With a baseline the headline counts regressions; a panic no test owns fails the run beside
  // them (record/verdict.ts exitCodeFor), so the headline names it rather than leave a red
  // badge over "no regressions" unexplained.
  const outside = crashesOutsideTests(summary).length;
  const headline = verdict
    ? [
        verdict.regressions.length > 0
          ? plural(verdict.regressions.length, 'regression')
          : `no regressions${verdict.known.length > 0 ? ` (${plural(verdict.known.length, 'known failure')})` : ''}`,
        outside > 0 ? `${outside === 1 ? 'a kernel crash' : `${outside} kernel crashes`} outside any test` : '',
      ]
        .filter(Boolean)
        .join('; ')
    : counts;

  const tiles: string[] = [];
  if (verdict && verdict.regressions.length > 0) {
    tiles.push(`<a class="tile s-regression" href="#verdict"><span class="n">${verdict.regressions.length}</span><span class="l">${verdict.regressions.length === 1 ? 'regression' : 'regressions'}</span></a>`);
  }
  for (const status of STATUS_ORDER) {
    const n = summary.counts[status];
    if (n === 0 && status !== 'passed') continue;
    const target = TILE_TARGET[status] ?? 'sections';
    tiles.push(`<a class="tile s-${status}" href="#${target}"><span class="n">${n}</span><span class="l">${STATUS_LABEL[status]}</span></a>`);
  }
  if (summary.counts.flaky > 0) tiles.push(`<a class="tile s-flaky" href="#flaky"><span class="n">${summary.counts.flaky}</span><span class="l">flaky (passed on retry)</span></a>`);

  const runs = summary.runs;
  const first = runs[0];
  const unique = <T,>(xs: T[]): T[] => [...new Set(xs)];
  const facts = [
    `<span><b>${plural(summary.counts.total, 'test')}</b> in <b>${formatDuration(summary.wallMs)}</b></span>`,
    `<span><b>${plural(summary.machines.booted, 'VM')}</b> booted${summary.machines.lost.length > 0 ? `, <b>${summary.machines.lost.length}</b> lost` : ''}</span>`,
    runs.length > 1 ? `<span><b>${runs.length}</b> runs${runs.some((r) => r.shard) ? ' (shards)' : ''}</span>` : first ? `<span>run <b>${html(first.runId)}</b></span>` : '',
    first ? `<span>FS <b>${html(unique(runs.flatMap((r) => r.sections.map((s) => s.fstyp || r.fstyp))).filter(Boolean).join(', '))}</b></span>` : '',
    first ? `<span>kernel <b class="mono">${html(unique(runs.map((r) => r.kernel)).join(', '))}</b></span>` : '',
    first ? `<span>host <b>${html(unique(runs.map((r) => r.hostname)).join(', '))}</b></span>` : '',
    first ? `<span>accel <b>${html(unique(runs.map((r) => r.accel)).join(', '))}</b></span>` : '',
    summary.startedAt ? `<span>started ${utc(summary.startedAt)}</span>` : '',
  ].filter(Boolean);

  const body = [
    `<header class="hero ${tone}"><div class="wrap">`,
    `<h1><span class="badge">${word}</span> ${html(headline)}</h1>`,
    verdict ? `<div class="facts"><span>${html(counts)}</span></div>` : '',
    `<div class="facts">${facts.join('')}</div>`,
    `<div class="tiles">${tiles.join('')}</div>`,
    '<!--toc-->',
    '</div></header>',
  ].join('\n');
  const ids = runs.map((r) => r.runId).join(', ');
  return { html: body, title: `kt ${word}: ${verdict ? `${headline}; ` : ''}${counts}${ids ? ` — ${ids}` : ''}`, tone };
}

/** Renders report.html. */
export function renderHtml(summary: RunSummary, options: HtmlReportOptions = {}): string {
  const anchors = new Map<string, string>();
  failingTests(summary).forEach((t, i) => anchors.set(testKey(t.section, t.test), `t-${i + 1}`));
  const crashes = crashesByTitle(summary.crashes);
  const crashAnchors = new Map<string, string>();
  for (const c of crashes) for (const g of c.groups) if (!crashAnchors.has(g.fingerprint)) crashAnchors.set(g.fingerprint, c.id);
  const ctx: HtmlContext = {
    summary,
    manySections: new Set(summary.tests.map((t) => t.section)).size > 1 || summary.sections.length > 1,
    anchorOf: (section, test) => anchors.get(testKey(section, test)),
    crashAnchorOf: (fingerprint) => crashAnchors.get(fingerprint),
    runBase: (runId) => options.runDirs?.[runId] ?? '',
  };

  const top = hero(summary, options.verdict);
  const parts: { id: string; label: string; html: string }[] = [];
  const add = (id: string, label: string, body: string): void => {
    if (body) parts.push({ id, label, html: body });
  };
  const unfinished = unfinishedRuns(summary);
  if (unfinished.length > 0) {
    const failed = someRunFailed(summary);
    const why = unfinished.map((r) => `${r.runId}: ${whyUnfinished(r)}`).join('; ');
    const head = failed ? 'The run failed' : 'The run did not finish';
    parts.push({ id: '', label: '', html: `<div class="alert${failed ? ' bad' : ''}"><b>${head}</b> (${html(why)}): ${plural(summary.counts.notexecuted, 'test')} not executed.</div>` });
  }
  const outside = crashesOutsideTests(summary);
  if (outside.length > 0) {
    // The same line as report.md's (markdown.ts): the crash, its VM, and that it fails the run.
    const which = outside.map((g) => {
      const anchor = ctx.crashAnchorOf(g.fingerprint);
      const title = html(g.crash.title);
      return `${anchor ? `<a href="#${attr(anchor)}">${title}</a>` : title} on ${html(g.machines.join(', '))}`;
    });
    parts.push({ id: '', label: '', html: `<div class="alert bad"><b>Kernel crash outside any test</b> (it fails the run): ${which.join('; ')}.</div>` });
  }
  if (options.verdict) add('verdict', 'Regressions', verdictSection(ctx, options.verdict));
  add('timeline', 'Timeline', card('timeline', 'Timeline', renderTimeline(timelineModel(summary, ctx.anchorOf)), plural(summary.machines.booted, 'VM')));
  add('failures', 'Failures', failuresSection(ctx));
  add('crashes', 'Crashes', crashesSection(ctx, crashes));
  add('kernel-reports', 'Kernel reports', kernelReportsSection(ctx));
  add('flaky', 'Flaky', flakySection(ctx));
  if (options.previous) add('durations', 'Durations', durationsSection(ctx, compareDurations(summary, options.previous)));
  add('slowest', 'Slowest', slowestSection(ctx));
  add('sections', summary.sections.length > 1 ? 'Sections' : 'All tests', sectionsSection(ctx));
  add('notrun', 'Not run', notRunSection(ctx));
  add('runs', summary.runs.length > 1 ? 'Runs' : 'Run', runsSection(ctx));

  const toc = `<nav class="toc">${parts.filter((p) => p.id).map((p) => `<a href="#${p.id}">${p.label}</a>`).join('')}</nav>`;
  const versions = [...new Set(summary.runs.map((r) => r.ktVersion).filter((v): v is string => v !== undefined))];
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // No fetch of any kind (the report is opened from CI artifacts and mail); styles are inline.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${html(top.title, 400)}</title>`,
    `<link rel="icon" href="${attr(favicon(top.tone))}">`,
    `<style>${HTML_STYLE}</style>`,
    '</head>',
    '<body>',
    top.html.replace('<!--toc-->', toc),
    '<main class="wrap">',
    ...parts.map((p) => p.html),
    `<footer>kt${versions.length > 0 ? ` ${html(versions.join(', '))}` : ''} · rendered from events.jsonl; <code>kt report &lt;run-dir&gt; --format html</code> rebuilds it</footer>`,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
