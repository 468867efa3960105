import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseEventLog } from '../../src/record/eventLog.js';
import type { RunEvent } from '../../src/record/events.js';
import { summarizeRun } from '../../src/record/summarize.js';
import type { RunVerdict } from '../../src/record/verdict.js';
import { compareDurations } from '../../src/reporters/durationChanges.js';
import { renderHtml } from '../../src/reporters/html.js';
import { attr, cleanText, html, relativeHref } from '../../src/reporters/htmlEscape.js';
import { HTML_STYLE } from '../../src/reporters/htmlStyle.js';
import { clock, timelineModel } from '../../src/reporters/htmlTimeline.js';
import { earlierRunNames } from '../../src/reporters/previousRun.js';
import { expectGolden } from './golden.js';
import { hostileRun } from './hostileText.js';
import { interruptedRun, noreflinkRun, previousOfInterruptedRun, RunScript, shard, SYSRQ_CRASH } from './scenarios.js';

const VERDICT: RunVerdict = {
  baseline: 'kt-baseline.json',
  regressions: [{ section: 'global', test: 'selftest/005', judgement: 'regression', rule: 'new-crash', why: 'crashed; passed in all 12 recorded runs' }],
  known: [{ section: 'global', test: 'selftest/900', judgement: 'known', rule: 'known-failure', why: 'failed; fails in 3 of 12 recorded runs' }],
  fixes: [{ section: 'global', test: 'selftest/003', judgement: 'fix', rule: 'fixed', why: 'passed; failed in 4 of 12 recorded runs' }],
  possibleFixes: [],
  unjudged: [{ section: 'global', test: 'generic/001', judgement: 'unjudged', rule: 'kt-error', why: 'only kt errors (transport lost)' }],
  notExecuted: 2,
  sectionsNotInBaseline: ['xfs_noreflink'],
  minRuns: 5,
};

function realLog(name: string): RunEvent[] {
  const file = fileURLToPath(new URL(`./fixtures/real-tcg-run/${name}`, import.meta.url));
  return parseEventLog(fs.readFileSync(file, 'utf8'), file).events;
}

describe('renderHtml', () => {
  const summary = summarizeRun([...interruptedRun(), ...noreflinkRun()]);
  const previous = summarizeRun(previousOfInterruptedRun());

  it('matches the golden report.html (every outcome, a verdict, two runs, a previous run)', () => {
    expectGolden('report.golden.html', renderHtml(summary, { verdict: VERDICT, previous }));
  });

  it('matches the golden report.html of a real TCG run (a panic, a replacement VM)', () => {
    expectGolden('report-real.golden.html', renderHtml(summarizeRun(realLog('events.jsonl')), { previous: summarizeRun(realLog('previous.events.jsonl')) }));
  });

  it('is the same bytes for the same events (no clock, no host time zone)', () => {
    const before = process.env['TZ'];
    process.env['TZ'] = 'Pacific/Kiritimati';
    try {
      expect(renderHtml(summarizeRun([...interruptedRun(), ...noreflinkRun()]))).toBe(renderHtml(summary));
    } finally {
      if (before === undefined) delete process.env['TZ'];
      else process.env['TZ'] = before;
    }
  });

  it('leads with the regressions when judged against a baseline', () => {
    const page = renderHtml(summary, { verdict: VERDICT });
    expect(page).toContain('<h1><span class="badge">failed</span> 1 regression</h1>');
    expect(page.indexOf('id="verdict"')).toBeLessThan(page.indexOf('id="timeline"'));
    expect(page.indexOf('id="timeline"')).toBeLessThan(page.indexOf('id="failures"'));
    const passing = renderHtml(summary, { verdict: { ...VERDICT, regressions: [], unjudged: [] } });
    expect(passing).toContain('<h1><span class="badge">interrupted</span> no regressions (1 known failure)</h1>');
    // Only kt errors left: exit 3, the kernel was not judged there.
    expect(renderHtml(summary, { verdict: { ...VERDICT, regressions: [] } })).toContain('<h1><span class="badge">kt errors</span> no regressions (1 known failure)</h1>');
  });

  it('links each failure to its files, relative to the run directory (or the shard directory of a merged report)', () => {
    expect(renderHtml(summary)).toContain('<a href="global/selftest/002.out.bad">global/selftest/002.out.bad</a>');
    const merged = summarizeRun([...shard(1), ...shard(2)]);
    const page = renderHtml(merged, { runDirs: { '20261121-233010-shard1': '../a', '20261121-233020-shard2': '../b b' } });
    expect(page).toContain('<a href="../a/console/vm1.log">console</a>');
    expect(page).toContain('<a href="../b%20b/console/vm1.log">console</a>');
  });

  it('renders an empty log as a page that says so', () => {
    const page = renderHtml(summarizeRun([]));
    expect(page).toContain('<h1><span class="badge">passed</span> 0 passed</h1>');
    expect(page).toContain('No VM time was recorded.');
  });

  it('groups crashes by title and marks a corrupted report', () => {
    const s = new RunScript().start({ tests: ['generic/001', 'generic/002', 'generic/003'] });
    s.boot('vm1', 0).boot('vm2', 0);
    const other = { ...SYSRQ_CRASH, frame: 'other_frame', fingerprint: 'panic-other' };
    s.test('generic/001', 'vm1', 9, 1, { status: 'crashed', message: 'm', crash: SYSRQ_CRASH });
    s.test('generic/002', 'vm2', 9, 1, { status: 'crashed', message: 'm', crash: other });
    s.test('generic/003', 'vm2', 12, 1, { status: 'crashed', message: 'm', crash: { ...SYSRQ_CRASH, title: 'BUG: garbled', fingerprint: 'x', corrupted: true } });
    const page = renderHtml(summarizeRun(s.sorted()));
    expect(page).toContain('<span class="count">2 distinct</span>');
    expect(page).toContain('frame <b><code>sysrq_handle_crash</code>, <code>other_frame</code></b>');
    expect(page).toContain('report corrupted: title and grouping may be wrong');
  });
});

describe('the timeline model', () => {
  it('has a lane per VM in boot order, with boots, tests and where each VM was lost', () => {
    const model = timelineModel(summarizeRun(interruptedRun()), () => undefined);
    expect(model.groups).toHaveLength(1);
    const lanes = model.groups[0]?.lanes ?? [];
    expect(lanes.map((l) => [l.machine, l.bootStartMs, l.bootEndMs, l.lost?.reason, l.lost?.test, l.bars.map((b) => `${b.test}:${b.status}`)])).toEqual([
      ['vm1', 100, 8100, 'transport', 'generic/001', ['generic/455:notrun', 'selftest/002:failed', 'selftest/003:failed', 'selftest/900:failed', 'selftest/901:failed', 'selftest/004:notrun', 'generic/001:error']],
      ['vm2', 100, 9100, 'crash', 'selftest/005', ['selftest/001:passed', 'selftest/005:crashed']],
      ['vm3', 18_000, 26_000, 'hang', 'selftest/006', ['selftest/003:passed', 'selftest/006:timedout']],
      ['vm4', 41_200, 49_200, undefined, undefined, []],
    ]);
    // A lost VM's lane ends where it died; the others run to the end of the run.
    expect(lanes.map((l) => l.aliveEndMs)).toEqual([41_100, 17_900, 151_200, 170_000]);
    // Replacements continue on the row of the VM they replaced: two rows, as with -j 2.
    expect([lanes.map((l) => l.row), model.groups[0]?.rows]).toEqual([[0, 1, 1, 0], 2]);
    expect(model.maxExtentMs).toBe(170_000);
    const bar = lanes[2]?.bars[1];
    expect(bar && [bar.startMs, bar.endMs]).toEqual([31_100, 151_100]);
  });

  it('has one lane group per shard, each on its own origin', () => {
    const model = timelineModel(summarizeRun([...shard(1), ...shard(2)]), () => undefined);
    expect(model.groups.map((g) => [g.run.runId, g.originIso, g.extentMs, g.lanes.map((l) => l.machine)])).toEqual([
      ['20261121-233010-shard1', '2026-11-21T23:22:28.000Z', 25_000, ['vm1']],
      ['20261121-233020-shard2', '2026-11-21T23:22:29.000Z', 36_000, ['vm1']],
    ]);
  });

  it('places a real run: vm2 crashed in selftest/005 and vm3 took over', () => {
    const model = timelineModel(summarizeRun(realLog('events.jsonl')), (_s, t) => `#${t}`);
    const lanes = model.groups[0]?.lanes ?? [];
    expect(lanes.map((l) => [l.machine, l.bootMs, l.lost?.reason ?? '', l.bars.map((b) => b.test).join(' ')])).toEqual([
      ['vm1', 27_047, '', 'generic/001 selftest/002 selftest/004'],
      ['vm2', 19_302, 'crash', 'selftest/005'],
      ['vm3', 17_904, '', 'selftest/001'],
    ]);
    expect(lanes[1]?.bars[0]?.href).toBe('#selftest/005');
    // vm3 booted after vm2 was lost, on its row.
    expect((lanes[2]?.bootStartMs ?? 0) >= (lanes[1]?.lost?.atMs ?? Infinity)).toBe(true);
    expect(lanes.map((l) => l.row)).toEqual([0, 1, 1]);
  });

  it('writes times after the start as m:ss or h:mm:ss', () => {
    expect([clock(0), clock(75_000), clock(3_725_000), clock(-5)]).toEqual(['0:00', '1:15', '1:02:05', '0:00']);
  });
});

describe('durations against the previous run', () => {
  it('lists the tests that ran to the end in both, largest change first, leaving out noise', () => {
    const cmp = compareDurations(summarizeRun(interruptedRun()), summarizeRun(previousOfInterruptedRun()));
    expect(cmp.changes.map((c) => [c.test, c.previousMs, c.currentMs, c.deltaMs])).toEqual([
      ['selftest/900', 30_000, 5000, -25_000],
      ['selftest/001', 12_000, 5000, -7000],
      ['selftest/002', 3000, 5000, 2000],
    ]);
    // selftest/003 (4.9 s both times) and selftest/901 (5.2 → 5 s) are noise; generic/002 never ended now.
    expect([cmp.compared, cmp.onlyNow, cmp.onlyBefore]).toEqual([5, 0, 1]);
    expect(cmp.previousRunIds).toEqual(['20261121-221500-9f8e']);
  });

  it('finds the previous run directory by run id, newest first, ignoring other names', () => {
    expect(earlierRunNames(['latest', '20261202-102131-2b3b', 'merged', '20261202-102008-49b1', '20261130-090000-0000', 'kt-history.json'], '20261202-102131-2b3b')).toEqual([
      '20261202-102008-49b1',
      '20261130-090000-0000',
    ]);
  });
});

describe('html escaping', () => {
  it('escapes markup and drops what HTML must not carry', () => {
    expect(html('<b a="1">&\'</b>')).toBe('&lt;b a=&quot;1&quot;&gt;&amp;&#39;&lt;/b&gt;');
    expect(cleanText('a\u0000b\u001b[31mc\u001b[0m\r\nd\u202ee\ud800f\u0085g')).toBe('abc\nde\ufffdfg');
    expect(attr('two\nlines "q"')).toBe('two lines &quot;q&quot;');
  });

  it('makes hrefs that stay inside the run directory', () => {
    expect(relativeHref('results/generic/001.out.bad')).toBe('results/generic/001.out.bad');
    expect(relativeHref('results/a b#c?.full')).toBe('results/a%20b%23c%3F.full');
    expect(relativeHref('javascript:alert(1)')).toBe('javascript%3Aalert(1)');
    expect(relativeHref('console/vm1.log', '../shard1')).toBe('../shard1/console/vm1.log');
    for (const bad of ['/etc/passwd', '../x', 'a/../../x', '', 'a\\b', './']) expect(relativeHref(bad)).toBeUndefined();
  });
});

/** Elements and attributes report.html is made of; anything else came from run text. */
const TAGS = new Set([
  'html', 'head', 'meta', 'title', 'link', 'style', 'body', 'header', 'main', 'footer', 'nav', 'section', 'article', 'div', 'span', 'p', 'h1', 'h2', 'h3',
  'a', 'b', 'i', 'code', 'pre', 'details', 'summary', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'ul', 'li', 'br',
  'svg', 'defs', 'pattern', 'rect', 'line', 'g', 'text', 'tspan', 'path', 'circle',
]);
const ATTRS = new Set([
  'lang', 'charset', 'http-equiv', 'content', 'name', 'rel', 'href', 'class', 'id', 'open', 'style', 'role', 'aria-label', 'xmlns', 'viewBox',
  'width', 'height', 'x', 'y', 'x1', 'x2', 'y1', 'y2', 'rx', 'cx', 'cy', 'r', 'd', 'patternUnits', 'patternTransform',
  'data-lane', 'data-run', 'data-test', 'data-status', 'data-machine',
]);
const TAG = /<(\/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z][a-zA-Z0-9:-]*(?:="[^"<>]*")?)*)\s*\/?>/y;

/** Every problem with a page's structure: a `<` that starts no known tag, an unknown attribute, a foreign href. */
function structureProblems(page: string): string[] {
  const problems: string[] = [];
  const body = page.replace(/^<!DOCTYPE html>\n/, '').replace(/<style>[^<]*<\/style>/, (s) => (s === `<style>${HTML_STYLE}</style>` ? '<style></style>' : s));
  let at = body.indexOf('<');
  while (at !== -1) {
    TAG.lastIndex = at;
    const m = TAG.exec(body);
    if (!m) {
      problems.push(`stray "<" at ${at}: ${JSON.stringify(body.slice(at, at + 60))}`);
      at = body.indexOf('<', at + 1);
      continue;
    }
    const [, , tag = '', attrs = ''] = m;
    if (!TAGS.has(tag)) problems.push(`unknown element <${tag}>`);
    for (const a of attrs.matchAll(/([a-zA-Z][a-zA-Z0-9:-]*)(?:="([^"]*)")?/g)) {
      const [, name = '', value = ''] = a;
      if (!ATTRS.has(name)) problems.push(`unknown attribute ${name} on <${tag}>`);
      if (name === 'href' && !(tag === 'link' && value.startsWith('data:image/svg+xml,')) && /^[a-zA-Z][a-zA-Z0-9+.-]*:|^\/|(^|\/)\.\.\/(?!shard)/.test(value)) {
        problems.push(`href leaves the run directory: ${value}`);
      }
    }
    at = body.indexOf('<', at + m[0].length);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffe\uffff]|[\ud800-\udfff]/u.test(page)) problems.push('control character or lone surrogate');
  return problems;
}

describe('renderHtml on hostile text (fuzz)', () => {
  it('uses a structure check that catches injected markup (so a pass means something)', () => {
    expect(structureProblems('<p>a<script>x</script><b onclick="y">z</b><a href="javascript:q">r</a> 1 < 2</p>')).toEqual([
      'unknown element <script>',
      'unknown element <script>',
      'unknown attribute onclick on <b>',
      'href leaves the run directory: javascript:q',
      'stray "<" at 73: "< 2</p>"',
    ]);
  });

  it('keeps the page structure whatever the run text, over 200 seeded runs', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const page = renderHtml(summarizeRun(hostileRun(seed)), { previous: summarizeRun(hostileRun(seed + 1000)) });
      const problems = structureProblems(page);
      if ((page.match(/<style>/g) ?? []).length !== 1) problems.push('more than one <style>');
      if (problems.length > 0) throw new Error(`seed ${seed}: ${problems.slice(0, 5).join('; ')}`);
    }
  });

  it('caps huge texts', () => {
    const s = new RunScript().start({ tests: ['generic/001'] });
    s.test('generic/001', 'vm1', 1, 1, { status: 'failed', message: 'm'.repeat(10_000), diff: 'd'.repeat(1_000_000) }, { dmesg: 'x\n'.repeat(500_000) });
    const page = renderHtml(summarizeRun(s.sorted()));
    expect(page.length).toBeLessThan(400_000);
    expect(page).toContain('characters ...]');
  });
});
