/**
 * The timeline of report.html: one lane per VM, one lane group per run (or CI shard), each test
 * a bar from its test-begin to its test-end, boots hatched, lost VMs marked where they died. It
 * is the picture of why a run took as long as it did: long boots, idle VMs, a crash that cost a
 * reboot, one slow test at the end while the other VMs wait.
 *
 * A VM booted after another was lost continues on the lost VM's row (its lane starts there,
 * named at its boot): a run with `-j 4` and thirty crashes is four rows, as it was four slots.
 *
 * `timelineModel` decides everything (pure, tested); `renderTimeline` only draws it as inline
 * SVG: no script, tooltips are SVG <title> elements, failing bars link to their entry.
 */
import type { TestStatus } from '../record/outcome.js';
import type { MachineLoss, RunInfo, RunSummary } from '../record/runSummary.js';
import { formatDuration, plural, STATUS_LABEL, testLabel } from './format.js';
import { attr, html } from './htmlEscape.js';

/** One attempt of a test on a lane. Times are ms after the group's origin (its run's start). */
export interface TimelineBar {
  test: string;
  section: string;
  /** What the bar says (the test, with its section when the report has several). */
  label: string;
  status: TestStatus;
  attempt: number;
  startMs: number;
  endMs: number;
  /** Non-fatal kernel reports of the attempt (WARNING, KASAN, ...). */
  reportTitles: string[];
  /** Anchor of the test's entry in the report (failing tests). */
  href?: string;
}

/** Why a VM was discarded (machine-lost reason). */
export type LostReason = MachineLoss['reason'];

/** One VM. */
export interface TimelineLane {
  machine: string;
  /** From QEMU's start (or the first test, when the boot is not recorded) to its loss or the run's end. */
  aliveStartMs: number;
  aliveEndMs: number;
  /** machine-boot → machine-up (or → the loss of a VM that never came up: `bootFailed`). */
  bootStartMs?: number;
  bootEndMs?: number;
  bootFailed?: boolean;
  /** Boot time the VM reported (machine-up bootMs). */
  bootMs?: number;
  /** Where the VM was lost, why, and the test blamed. */
  lost?: { atMs: number; reason: LostReason; test?: string; message: string };
  bars: TimelineBar[];
  /** Row of the drawing (VMs that follow a lost one share its row). */
  row: number;
}

/** One run (or shard) with its VMs. */
export interface TimelineGroup {
  run: RunInfo;
  /** ISO time of the group's origin (0 on its axis). */
  originIso: string;
  /** Last thing that happened, in ms after the origin. */
  extentMs: number;
  lanes: TimelineLane[];
  /** Rows the lanes are drawn on. */
  rows: number;
  /** VM time: in boots, in tests, and all of it (alive). */
  bootTotalMs: number;
  testTotalMs: number;
  aliveTotalMs: number;
}

/** What the timeline draws. */
export interface TimelineModel {
  groups: TimelineGroup[];
  /** Longest group: every group shares one scale, so shards can be compared. */
  maxExtentMs: number;
  /** Median bar length: decides how wide the drawing must be for bars to be seen. */
  medianBarMs: number;
}

// Loops, not Math.min(...xs): a long run has more values than a call can take as arguments.
function minOf(values: readonly number[]): number {
  let m = Number.POSITIVE_INFINITY;
  for (const v of values) if (v < m) m = v;
  return m;
}

function maxOf(values: readonly number[]): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const v of values) if (v > m) m = v;
  return m;
}

function ms(iso: string | undefined): number {
  const t = iso === undefined ? Number.NaN : Date.parse(iso);
  return Number.isFinite(t) ? t : Number.NaN;
}

/** Builds the timeline of a summary; `anchorOf` names the report entry of a failing test. */
export function timelineModel(summary: RunSummary, anchorOf: (section: string, test: string) => string | undefined): TimelineModel {
  const manySections = summary.sections.length > 1;
  // Runs are keyed by id; a log given twice shows once.
  const runs = new Map<string, RunInfo>();
  for (const run of summary.runs) if (!runs.has(run.runId)) runs.set(run.runId, run);

  const groups: TimelineGroup[] = [];
  const barLengths: number[] = [];
  for (const run of runs.values()) {
    const spans = summary.machines.spans.filter((s) => s.runId === run.runId);
    const attempts = summary.tests.flatMap((t) =>
      t.attempts.filter((a) => a.runId === run.runId).map((a) => ({ result: t, attempt: a })),
    );
    const losses = summary.machines.lost.filter((l) => l.runId === run.runId);

    // The origin is the run's start; a log without run-start starts at its first event.
    const times: number[] = [];
    for (const s of spans) times.push(ms(s.bootAt), ms(s.upAt), ms(s.lostAt));
    for (const { attempt } of attempts) times.push(ms(attempt.startedAt), ms(attempt.endedAt) - attempt.durationMs, ms(attempt.endedAt));
    const known = times.filter(Number.isFinite);
    let origin = ms(run.startedAt);
    if (!Number.isFinite(origin)) origin = known.length > 0 ? minOf(known) : 0;
    const runEnd = run.wallMs > 0 ? run.wallMs : 0;
    const extentMs = Math.max(runEnd, maxOf(known) - origin, 0);

    const lanes = new Map<string, TimelineLane & { firstMs: number }>();
    const laneOf = (machine: string): TimelineLane & { firstMs: number } => {
      let lane = lanes.get(machine);
      if (!lane) {
        lane = { machine, aliveStartMs: Number.NaN, aliveEndMs: Number.NaN, bars: [], row: 0, firstMs: Number.POSITIVE_INFINITY };
        lanes.set(machine, lane);
      }
      return lane;
    };
    for (const s of spans) {
      const lane = laneOf(s.machine);
      const boot = ms(s.bootAt) - origin;
      const up = ms(s.upAt) - origin;
      if (Number.isFinite(boot)) lane.bootStartMs = boot;
      if (Number.isFinite(up)) lane.bootEndMs = up;
      if (s.bootMs !== undefined) lane.bootMs = s.bootMs;
      const lostAt = ms(s.lostAt) - origin;
      if (Number.isFinite(lostAt) && s.lostReason) {
        const loss = losses.find((l) => l.machine === s.machine);
        lane.lost = {
          atMs: lostAt,
          reason: s.lostReason,
          message: loss?.message ?? '',
          ...(loss?.test !== undefined ? { test: loss.test } : {}),
        };
      }
    }
    for (const { result, attempt } of attempts) {
      const lane = laneOf(attempt.machine);
      const end = ms(attempt.endedAt) - origin;
      const begun = ms(attempt.startedAt) - origin;
      const start = Number.isFinite(begun) ? begun : end - attempt.durationMs;
      if (!Number.isFinite(start) || !Number.isFinite(end)) continue;
      const status = attempt.outcome.status;
      const failing = status === 'failed' || status === 'crashed' || status === 'timedout' || status === 'error';
      const href = failing || attempt.reports.length > 0 ? anchorOf(result.section, result.test) : undefined;
      lane.bars.push({
        test: result.test,
        section: result.section,
        label: testLabel(result.test, result.section, manySections),
        status,
        attempt: attempt.attempt,
        startMs: start,
        endMs: Math.max(start, end),
        reportTitles: attempt.reports.map((r) => r.title),
        ...(href !== undefined ? { href } : {}),
      });
      barLengths.push(Math.max(0, end - start));
    }

    let bootTotalMs = 0;
    let testTotalMs = 0;
    let aliveTotalMs = 0;
    for (const lane of lanes.values()) {
      lane.bars.sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
      const starts = [lane.bootStartMs, lane.bootEndMs, ...lane.bars.map((b) => b.startMs)].filter((t): t is number => t !== undefined && Number.isFinite(t));
      const ends = [lane.bootEndMs, lane.lost?.atMs, ...lane.bars.map((b) => b.endMs)].filter((t): t is number => t !== undefined && Number.isFinite(t));
      lane.aliveStartMs = starts.length > 0 ? minOf(starts) : 0;
      // A VM that was not lost lived until the run ended (kt shuts VMs down at the end).
      lane.aliveEndMs = Math.max(lane.lost ? lane.aliveStartMs : extentMs, maxOf(ends));
      // A VM that never came up spent its whole life booting.
      if (lane.bootEndMs === undefined && lane.bootStartMs !== undefined && lane.lost && lane.bars.length === 0) {
        lane.bootEndMs = lane.lost.atMs;
        lane.bootFailed = true;
      }
      lane.firstMs = lane.aliveStartMs;
      if (lane.bootStartMs !== undefined && lane.bootEndMs !== undefined) bootTotalMs += Math.max(0, lane.bootEndMs - lane.bootStartMs);
      for (const bar of lane.bars) testTotalMs += bar.endMs - bar.startMs;
      aliveTotalMs += Math.max(0, lane.aliveEndMs - lane.aliveStartMs);
    }
    const ordered = [...lanes.values()]
      .sort((a, b) => a.firstMs - b.firstMs || byMachine(a.machine, b.machine))
      .map(({ firstMs: _firstMs, ...lane }) => lane);
    const rows = assignRows(ordered);
    groups.push({ run, originIso: new Date(origin).toISOString(), extentMs, lanes: ordered, rows, bootTotalMs, testTotalMs, aliveTotalMs });
  }
  const sorted = [...barLengths].sort((a, b) => a - b);
  return {
    groups,
    maxExtentMs: Math.max(0, ...groups.map((g) => g.extentMs)),
    medianBarMs: sorted.length > 0 ? (sorted[Math.floor(sorted.length / 2)] ?? 0) : 0,
  };
}

/**
 * Puts each VM on the first row whose last VM was lost before it came alive (its replacement,
 * in practice), else on a new row; returns the number of rows. Lanes come in start order.
 */
function assignRows(lanes: TimelineLane[]): number {
  const lastOfRow: TimelineLane[] = [];
  for (const lane of lanes) {
    const row = lastOfRow.findIndex((prev) => prev.lost !== undefined && prev.aliveEndMs <= lane.aliveStartMs);
    lane.row = row === -1 ? lastOfRow.length : row;
    lastOfRow[lane.row] = lane;
  }
  return lastOfRow.length;
}

/** vm2 before vm10. */
function byMachine(a: string, b: string): number {
  const na = /^(.*?)(\d+)$/.exec(a);
  const nb = /^(.*?)(\d+)$/.exec(b);
  if (na && nb && na[1] === nb[1]) return Number(na[2]) - Number(nb[2]);
  return a < b ? -1 : a > b ? 1 : 0;
}

// Drawing, in SVG user units (= CSS px when the drawing is not scaled).
const LABEL_W = 150;
const RIGHT_PAD = 18;
const AXIS_H = 28;
const GROUP_HEAD_H = 26;
const LANE_H = 28;
const BAR_H = 20;
const MIN_PLOT_W = 980;
const MAX_PLOT_W = 12_000;
/** Width a median test should get, so that most bars can be seen and clicked. */
const MEDIAN_BAR_PX = 10;
/** Average advance of a character of the bar font (11px DejaVu Sans / system-ui). */
const CHAR_PX = 6.3;

/** Tick spacing in seconds: the first that leaves at least 90 px between ticks. */
const TICK_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400];

/** 75_000 → "1:15", 3_725_000 → "1:02:05": time after the run's start. */
export function clock(msAfter: number): string {
  const total = Math.max(0, Math.round(msAfter / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

function num(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

const LOST_LABEL: Readonly<Record<LostReason, string>> = {
  crash: 'crashed',
  hang: 'hung',
  'qemu-exit': 'QEMU exited',
  transport: 'connection lost',
  'boot-failure': 'did not boot',
};

function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((100 * part) / whole)}%` : '0%';
}

/** A marker where a VM was lost: a cross for a crash, a clock for a hang, a bang otherwise. */
function lostMarker(x: number, cy: number, lane: TimelineLane): string {
  const lost = lane.lost;
  if (!lost) return '';
  const tip = `${lane.machine} ${LOST_LABEL[lost.reason]}${lost.test ? ` during ${lost.test}` : ''} at +${clock(lost.atMs)}${lost.message ? `: ${lost.message}` : ''}`;
  const kind = lost.reason === 'crash' ? 'crash' : lost.reason === 'hang' ? 'hang' : 'lost';
  const glyph =
    kind === 'crash'
      ? `<path class="glyph" d="M${num(x - 3.5)} ${num(cy - 3.5)}l7 7m0 -7l-7 7"/>`
      : kind === 'hang'
        ? `<path class="glyph" d="M${num(x)} ${num(cy - 4)}v4.5h3.5"/>`
        : `<path class="glyph" d="M${num(x)} ${num(cy - 4.5)}v5m0 2.5v1"/>`;
  return `<g class="marker marker-${kind}" data-machine="${attr(lane.machine)}"><title>${html(tip)}</title><circle cx="${num(x)}" cy="${num(cy)}" r="8"/>${glyph}</g>`;
}

/** The bar's name if it fits, else the test's number (`005` of `selftest/005`), else nothing. */
function barText(bar: TimelineBar, width: number, x0: number, cy: number): string {
  const short = bar.test.slice(bar.test.lastIndexOf('/') + 1);
  const text = [bar.label, short].find((t) => t !== '' && width >= t.length * CHAR_PX + 8);
  return text === undefined ? '' : `<text class="bar-text t-${bar.status}" x="${num(x0 + 4)}" y="${num(cy + 4)}">${html(text)}</text>`;
}

/** Characters of VM names that fit the label column beside the note. */
const LABEL_CHARS = 12;

/** The label column of a row: its VM names and how the row's VMs fared. */
function rowLabel(lanes: readonly TimelineLane[], top: number): string {
  const cy = top + LANE_H / 2;
  const first = lanes[0];
  if (!first) return '';
  const last = lanes[lanes.length - 1] ?? first;
  const joined = lanes.map((l) => l.machine).join('→');
  const fitted = joined.length <= LABEL_CHARS ? joined : lanes.length > 1 ? `${first.machine}…${last.machine}` : joined;
  const name = fitted.length <= LABEL_CHARS ? fitted : `${fitted.slice(0, LABEL_CHARS - 1)}…`;
  const lost = lanes.filter((l) => l.lost);
  // One VM: how it ended, else its boot time. Several: how many of them the row lost.
  const note = lanes.length > 1 ? `${lost.length} lost` : first.lost ? LOST_LABEL[first.lost.reason] : first.bootMs !== undefined ? `boot ${formatDuration(first.bootMs)}` : '';
  const noteClass = lanes.length === 1 && first.lost ? ` lost-${first.lost.reason}` : lanes.length > 1 ? ' lost-crash' : '';
  const tip =
    lanes.length > 1
      ? `<title>${html(`${lanes.map((l) => l.machine).join(', ')}: each VM booted after the one before it was lost`)}</title>`
      : name !== joined
        ? `<title>${html(joined)}</title>`
        : '';
  return `<g class="row-label">${tip}<text class="lane-name" x="8" y="${num(cy + 4)}">${html(name)}</text>${
    note ? `<text class="lane-note${noteClass}" x="${LABEL_W - 10}" y="${num(cy + 4)}">${html(note)}</text>` : ''
  }</g>`;
}

/**
 * One VM's lane: its life, its boot and its tests; and apart, the marker of its loss (drawn last,
 * so the replacement booting right after it on the same row does not cover it). `shared`: other
 * VMs use its row, so the boot names the VM.
 */
function renderLane(lane: TimelineLane, runId: string, top: number, x: (t: number) => number, shared: boolean): { lane: string; marker: string } {
  const barTop = top + (LANE_H - BAR_H) / 2;
  const cy = top + LANE_H / 2;
  const out: string[] = [`<g class="lane" data-lane="${attr(lane.machine)}" data-run="${attr(runId)}">`];
  const a0 = x(lane.aliveStartMs);
  const a1 = x(lane.aliveEndMs);
  out.push(
    `<rect class="alive" x="${num(a0)}" y="${num(barTop)}" width="${num(Math.max(1, a1 - a0))}" height="${BAR_H}" rx="3"><title>${html(`${lane.machine}: up from +${clock(lane.aliveStartMs)} to +${clock(lane.aliveEndMs)}; the gaps between tests are check's setup (mkfs, mount) and waiting for work`)}</title></rect>`,
  );
  if (lane.bootStartMs !== undefined && lane.bootEndMs !== undefined) {
    const b0 = x(lane.bootStartMs);
    const w = Math.max(1, x(lane.bootEndMs) - b0);
    const took = formatDuration(lane.bootEndMs - lane.bootStartMs);
    const what = lane.bootFailed ? `boot failed after ${took}` : `boot ${took}`;
    const labels = shared ? [`${lane.machine} · ${what}`, lane.machine] : [what];
    const label = labels.find((l) => w >= l.length * CHAR_PX + 8);
    const tip = lane.bootFailed ? `${lane.machine} never became ready: lost ${took} after QEMU's start` : `${lane.machine} booting: ${took} from QEMU's start to ready for tests`;
    out.push(
      `<g class="boot"><title>${html(tip)}</title><rect x="${num(b0)}" y="${num(barTop)}" width="${num(w)}" height="${BAR_H}" rx="3"/>${
        label !== undefined ? `<text x="${num(b0 + w / 2)}" y="${num(cy + 4)}">${html(label)}</text>` : ''
      }</g>`,
    );
  }
  for (const bar of lane.bars) {
    const b0 = x(bar.startMs);
    const w = Math.max(1.5, x(bar.endMs) - b0);
    const tip = [
      `${bar.label}: ${STATUS_LABEL[bar.status]} in ${formatDuration(bar.endMs - bar.startMs)}`,
      `${lane.machine}${bar.attempt > 1 ? `, attempt ${bar.attempt}` : ''}, +${clock(bar.startMs)} to +${clock(bar.endMs)}`,
      ...bar.reportTitles.map((t) => `kernel report: ${t}`),
    ].join('\n');
    const inner = [
      `<title>${html(tip)}</title>`,
      `<rect class="bar b-${bar.status}" x="${num(b0)}" y="${num(barTop)}" width="${num(w)}" height="${BAR_H}" rx="2"/>`,
      barText(bar, w, b0, cy),
      bar.reportTitles.length > 0 ? `<path class="marker-report" d="M${num(b0 + Math.min(w / 2, 8))} ${num(barTop - 5)}l5 8.5h-10z"/>` : '',
    ].join('');
    const data = `data-test="${attr(bar.test)}" data-status="${bar.status}"`;
    out.push(bar.href ? `<a class="bar-link" href="#${attr(bar.href)}" ${data}>${inner}</a>` : `<g ${data}>${inner}</g>`);
  }
  out.push('</g>');
  return { lane: out.join(''), marker: lane.lost ? lostMarker(x(lane.lost.atMs), cy, lane) : '' };
}

/** Lost VMs named in the note under the drawing; the rest are counted. */
const NOTE_LOST = 5;

/** The drawing, its legend and a line saying where the VM time went. */
export function renderTimeline(model: TimelineModel): string {
  if (model.groups.length === 0 || model.maxExtentMs <= 0) return '<p class="muted">No VM time was recorded.</p>';
  const extent = model.maxExtentMs;
  const wanted = model.medianBarMs > 0 ? (MEDIAN_BAR_PX * extent) / model.medianBarMs : MIN_PLOT_W;
  const plotW = Math.round(Math.min(MAX_PLOT_W, Math.max(MIN_PLOT_W, wanted)));
  const width = LABEL_W + plotW + RIGHT_PAD;
  const x = (t: number): number => LABEL_W + (Math.max(0, t) / extent) * plotW;
  const heads = model.groups.length > 1;
  const height = AXIS_H + model.groups.reduce((h, g) => h + (heads ? GROUP_HEAD_H : 0) + Math.max(1, g.rows) * LANE_H, 0) + 6;

  const stepS = TICK_STEPS_S.find((s) => (s * 1000 * plotW) / extent >= 90) ?? (TICK_STEPS_S[TICK_STEPS_S.length - 1] as number);
  const ticks: string[] = [];
  for (let t = 0; t <= extent + 1; t += stepS * 1000) {
    const tx = num(x(t));
    ticks.push(`<line class="grid" x1="${tx}" y1="${AXIS_H - 6}" x2="${tx}" y2="${height}"/><text class="tick" x="${tx}" y="${AXIS_H - 11}">${clock(t)}</text>`);
  }

  const body: string[] = [];
  const markers: string[] = [];
  let y = AXIS_H;
  for (const group of model.groups) {
    const run = group.run;
    if (heads) {
      const facts = [run.shard ? `shard ${run.shard}` : '', run.hostname, run.sections.map((s) => s.name).join(', '), formatDuration(run.wallMs)].filter(Boolean);
      body.push(
        `<g class="group-head"><line x1="0" y1="${y + 0.5}" x2="${width}" y2="${y + 0.5}"/><text x="6" y="${y + 17}"><tspan class="run-id">${html(run.runId)}</tspan> ${html(facts.join(' · '))}</text></g>`,
      );
      y += GROUP_HEAD_H;
    }
    for (let row = 0; row < group.rows; row++) {
      const top = y + row * LANE_H;
      const onRow = group.lanes.filter((l) => l.row === row);
      const out: string[] = [];
      if (row % 2 === 1) out.push(`<rect class="stripe" x="0" y="${top}" width="${width}" height="${LANE_H}"/>`);
      out.push(rowLabel(onRow, top));
      body.push(out.join(''));
    }
    for (const lane of group.lanes) {
      const top = y + lane.row * LANE_H;
      const shared = group.lanes.some((l) => l !== lane && l.row === lane.row);
      const drawn = renderLane(lane, run.runId, top, x, shared);
      body.push(drawn.lane);
      markers.push(drawn.marker);
    }
    y += Math.max(1, group.rows) * LANE_H;
  }

  const svg = [
    `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="Timeline: which test ran on which VM, and when">`,
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-bg"/><line x1="0" y1="0" x2="0" y2="6" class="hatch-line"/></pattern></defs>',
    `<g class="axis">${ticks.join('')}</g>`,
    ...body,
    ...markers,
    '</svg>',
  ].join('');

  const notes = model.groups.map((g) => {
    const lost = g.lanes.filter((l) => l.lost);
    const parts = [
      `${heads ? `<b>${html(g.run.runId)}</b>: ` : ''}VM time ${formatDuration(g.aliveTotalMs)} on ${plural(g.lanes.length, 'VM')}: ${percent(g.testTotalMs, g.aliveTotalMs)} running tests, ${percent(g.bootTotalMs, g.aliveTotalMs)} booting, ${percent(Math.max(0, g.aliveTotalMs - g.testTotalMs - g.bootTotalMs), g.aliveTotalMs)} between tests`,
    ];
    if (lost.length > 0) {
      const named = lost.slice(0, NOTE_LOST).map((l) => html(`${l.machine} ${LOST_LABEL[l.lost?.reason ?? 'crash']}${l.lost?.test ? ` during ${l.lost.test}` : ''}`));
      if (lost.length > NOTE_LOST) named.push(`${lost.length - NOTE_LOST} more`);
      parts.push(`${plural(lost.length, 'VM')} lost (${named.join(', ')})`);
    }
    return `<li>${parts.join('; ')}.</li>`;
  });

  const legend = [
    ...(['passed', 'failed', 'crashed', 'timedout', 'error', 'notrun'] as const).map((s) => `<span><i class="sw b-${s}"></i>${STATUS_LABEL[s]}</span>`),
    '<span><i class="sw sw-boot"></i>boot</span>',
    '<span><i class="sw sw-alive"></i>VM up, between tests</span>',
    '<span><i class="mk mk-crash">✕</i>VM crashed</span>',
    '<span><i class="mk mk-hang">◷</i>VM hung</span>',
    '<span><i class="mk mk-lost">!</i>VM lost</span>',
    '<span><i class="mk-report"></i>kernel warning</span>',
  ].join('');

  return [
    `<div class="timeline-scroll">${svg}</div>`,
    `<div class="legend">${legend}</div>`,
    `<ul class="timeline-notes">${notes.join('')}</ul>`,
  ].join('\n');
}
