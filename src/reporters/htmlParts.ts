/**
 * Pieces every part of report.html uses: the rendering context (anchors, where each run's files
 * are), status chips, text blocks with diff and console highlighting, links to a test's files.
 * Run text goes through htmlEscape's `html`/`attr` here and nowhere else is it concatenated raw.
 */
import type { TestArtifacts } from '../record/events.js';
import type { RunSummary, SummaryStatus } from '../record/runSummary.js';
import { STATUS_LABEL, testLabel } from './format.js';
import { attr, cleanText, html, relativeHref } from './htmlEscape.js';
import { capText } from './textSafety.js';

/** What every part needs to know besides the summary. */
export interface HtmlContext {
  summary: RunSummary;
  /** The report has several sections: test names carry theirs. */
  manySections: boolean;
  /** Id of a test's entry in the report (its failure card), when it has one. */
  anchorOf(section: string, test: string): string | undefined;
  /** Id of a crash group's card, by fingerprint. */
  crashAnchorOf(fingerprint: string): string | undefined;
  /** Path from the report to the run directory of `runId` ('' when it is the report's own). */
  runBase(runId: string): string;
}

/** Lines of one block shown before "N more lines". */
export const BLOCK_LINES = 400;

/** `<span class="chip s-failed">failed</span>` */
export function chip(status: SummaryStatus): string {
  return `<span class="chip s-${status}">${STATUS_LABEL[status]}</span>`;
}

/** A test's name as code, linked to its entry when it has one; `bare` leaves the section out (a section's own table). */
export function testName(ctx: HtmlContext, test: string, section: string, link = true, bare = false): string {
  const label = `<code>${html(testLabel(test, section, ctx.manySections && !bare))}</code>`;
  const anchor = link ? ctx.anchorOf(section, test) : undefined;
  return anchor ? `<a href="#${attr(anchor)}">${label}</a>` : label;
}

/** 2026-11-21T23:22:27.000Z → "2026-11-21 23:22:27 UTC" (UTC: the report reads the same everywhere). */
export function utc(iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  return `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A card section with a heading and an optional count. */
export function card(id: string, title: string, body: string, count?: number | string): string {
  const n = count === undefined ? '' : ` <span class="count">${count}</span>`;
  return `<section class="card" id="${id}">\n<h2>${title}${n}</h2>\n${body}\n</section>`;
}

/** Lines that a reader of a kernel console looks for first. */
const CONSOLE_HEADLINE = /Kernel panic|BUG:|WARNING:|Oops|general protection fault|KASAN:|UBSAN:|KFENCE:|INFO: task .* blocked|soft lockup|hard LOCKUP|rcu_sched detected stall|rcu: INFO|Out of memory|Call Trace:/;

/** How a block's lines are coloured. */
export type BlockKind = 'diff' | 'console' | 'plain';

function lineClass(line: string, kind: BlockKind): string | undefined {
  if (kind === 'diff') {
    if (line.startsWith('+++') || line.startsWith('---')) return 'file';
    if (line.startsWith('@@')) return 'hunk';
    if (line.startsWith('+')) return 'add';
    if (line.startsWith('-')) return 'del';
    return undefined;
  }
  if (kind === 'console' && CONSOLE_HEADLINE.test(line)) return 'hl';
  return undefined;
}

/** Counts the lines of a text as a block shows them. */
export function lineCount(text: string): number {
  const t = cleanText(text).replace(/\n+$/, '');
  return t === '' ? 0 : t.split('\n').length;
}

/** A preformatted block of run text: capped, escaped, lines coloured by kind. */
export function block(text: string, kind: BlockKind, moreHref?: string): string {
  const lines = cleanText(capText(text)).replace(/\n+$/, '').split('\n');
  const shown = lines.slice(0, BLOCK_LINES).map((line) => {
    const cls = lineClass(line, kind);
    const safe = html(line);
    return cls ? `<span class="${cls}">${safe}</span>` : safe;
  });
  const more = lines.length - BLOCK_LINES;
  if (more > 0) shown.push(`<span class="file">… ${more} more lines${moreHref ? '' : ' in the run directory'}</span>`);
  const tail = more > 0 && moreHref ? `<div class="files"><a href="${attr(moreHref)}">the whole file</a></div>` : '';
  return `<pre class="block ${kind}">${shown.join('\n')}</pre>${tail}`;
}

/** A collapsed block: `summary` is the page's own text. */
export function foldedBlock(summary: string, text: string, kind: BlockKind, open = false, moreHref?: string): string {
  const n = lineCount(text);
  return `<details${open ? ' open' : ''}><summary>${summary} <span class="muted">(${n} line${n === 1 ? '' : 's'})</span></summary>${block(text, kind, moreHref)}</details>`;
}

const ARTIFACT_LABEL: Readonly<Record<keyof TestArtifacts, string>> = {
  outBad: 'output (.out.bad)',
  full: 'log (.full)',
  dmesg: 'dmesg',
  console: 'console',
};

/** Href of one file of a run, relative to the report. */
export function fileHref(ctx: HtmlContext, runId: string, rel: string | undefined): string | undefined {
  return rel === undefined ? undefined : relativeHref(rel, ctx.runBase(runId));
}

/** Links to the files of an attempt, in the order a reader opens them. */
export function fileLinks(ctx: HtmlContext, runId: string, artifacts: TestArtifacts, extra: [string, string | undefined][] = []): string {
  const links: string[] = [];
  for (const key of ['outBad', 'full', 'dmesg', 'console'] as const) {
    const href = fileHref(ctx, runId, artifacts[key]);
    if (href) links.push(`<span>${ARTIFACT_LABEL[key]}: <a href="${attr(href)}">${html(artifacts[key] ?? '')}</a></span>`);
  }
  for (const [label, rel] of extra) {
    const href = fileHref(ctx, runId, rel);
    if (href && rel !== undefined && !Object.values(artifacts).includes(rel)) links.push(`<span>${label}: <a href="${attr(href)}">${html(rel ?? '')}</a></span>`);
  }
  return links.length > 0 ? `<div class="files">${links.join('')}</div>` : '';
}
