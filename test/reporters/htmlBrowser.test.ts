/**
 * report.html in a real headless Chromium: it renders, shows the failures and the timeline (a
 * lane per VM, crash markers), logs no error, makes no request at all (a CSP forbids any fetch,
 * and hostile text from a run must not sneak one in), and runs no script. Screenshots are kept
 * in test-output/ (git-ignored) for a person to look at.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventLog } from '../../src/record/eventLog.js';
import type { RunEvent } from '../../src/record/events.js';
import { summarizeRun } from '../../src/record/summarize.js';
import type { RunVerdict } from '../../src/record/verdict.js';
import { renderHtml } from '../../src/reporters/html.js';
import { launchBrowser, openReport, TEST_OUTPUT, type Browser, type OpenedReport } from './browser.js';
import { interruptedRun, noreflinkRun, previousOfInterruptedRun, RunScript, shard, SYSRQ_CRASH } from './scenarios.js';

/** Launching Chromium and taking full-page screenshots: seconds on an idle machine, far more on a busy one. */
const BROWSER_TIMEOUT_MS = 180_000;

function realLog(name: string): RunEvent[] {
  const file = fileURLToPath(new URL(`./fixtures/real-tcg-run/${name}`, import.meta.url));
  const contents = parseEventLog(fs.readFileSync(file, 'utf8'), file);
  expect(contents.problems).toEqual([]);
  return contents.events;
}

/** The verdict shape the baseline judge fills (record/verdict.ts), for the interrupted scenario. */
const VERDICT: RunVerdict = {
  baseline: 'kt-baseline.json',
  regressions: [
    { section: 'global', test: 'selftest/005', judgement: 'regression', rule: 'new-crash', why: 'crashed; passed in all 12 recorded runs' },
    { section: 'global', test: 'selftest/002', judgement: 'regression', rule: 'new-failure', why: 'failed; passed in all 12 recorded runs' },
  ],
  known: [{ section: 'global', test: 'selftest/900', judgement: 'known', rule: 'known-failure', why: 'failed; fails in 3 of 12 recorded runs' }],
  fixes: [],
  possibleFixes: [],
  unjudged: [],
  notExecuted: 2,
  sectionsNotInBaseline: [],
  minRuns: 5,
};

let browser: Browser;
const opened: OpenedReport[] = [];

beforeAll(async () => {
  fs.mkdirSync(TEST_OUTPUT, { recursive: true });
  browser = await launchBrowser();
}, BROWSER_TIMEOUT_MS);

afterAll(async () => {
  for (const o of opened) await o.page.close();
  await browser?.close();
}, BROWSER_TIMEOUT_MS);

async function render(name: string, html: string): Promise<OpenedReport> {
  const file = path.join(TEST_OUTPUT, name);
  fs.writeFileSync(file, html);
  const o = await openReport(browser, file);
  opened.push(o);
  return o;
}

async function screenshot(o: OpenedReport, name: string): Promise<string> {
  const file = path.join(TEST_OUTPUT, name);
  await o.page.screenshot({ path: file, fullPage: true });
  console.log(`report screenshot: ${file}`);
  return file;
}

function expectQuiet(o: OpenedReport): void {
  expect(o.consoleErrors).toEqual([]);
  expect(o.pageErrors).toEqual([]);
  expect(o.dialogs).toEqual([]);
  expect(o.requests).toEqual([]);
}

/** Lane names of the timeline, per run. */
async function lanes(o: OpenedReport): Promise<string[]> {
  return o.page.$$eval('svg.timeline g.lane', (gs) => gs.map((g) => `${g.getAttribute('data-run')}/${g.getAttribute('data-lane')}`));
}

describe('report.html in Chromium', () => {
  it('renders the real TCG run (a panic in selftest/005, a replacement VM) with its failures and timeline', async () => {
    const summary = summarizeRun(realLog('events.jsonl'));
    const previous = summarizeRun(realLog('previous.events.jsonl'));
    const o = await render('report-real.html', renderHtml(summary, { previous }));
    expectQuiet(o);
    const p = o.page;
    expect(await p.title()).toBe('kt failed: 2 passed, 1 failed, 1 crashed, 1 not run — 20261202-102131-2b3b');
    expect(await p.textContent('h1')).toContain('2 passed, 1 failed, 1 crashed, 1 not run');
    // The failures, crash first, each with its evidence.
    expect(await p.$$eval('#failures article.failure h3 code', (els) => els.map((e) => e.textContent))).toEqual(['selftest/005', 'selftest/002']);
    expect(await p.textContent('#failures')).toContain('+I am intentionally broken');
    expect(await p.textContent('#crashes')).toContain('Kernel panic - not syncing: sysrq triggered crash');
    // One lane per VM: vm2 crashed, vm3 replaced it.
    expect(await lanes(o)).toEqual(['20261202-102131-2b3b/vm1', '20261202-102131-2b3b/vm2', '20261202-102131-2b3b/vm3']);
    expect(await p.$$eval('svg.timeline .marker-crash', (els) => els.map((e) => e.getAttribute('data-machine')))).toEqual(['vm2']);
    expect(await p.$$eval('svg.timeline [data-status]', (els) => els.map((e) => `${e.getAttribute('data-test')}:${e.getAttribute('data-status')}`).sort())).toEqual([
      'generic/001:passed',
      'selftest/001:passed',
      'selftest/002:failed',
      'selftest/004:notrun',
      'selftest/005:crashed',
    ]);
    // The timeline is drawn: the crashed bar has a size and sits left of vm2's crash marker.
    const bar = await p.locator('svg.timeline [data-test="selftest/005"] rect.bar').boundingBox();
    const marker = await p.locator('svg.timeline .marker-crash circle').boundingBox();
    expect(bar && bar.width > 5 && bar.height > 10).toBe(true);
    expect(bar && marker && marker.x > bar.x).toBe(true);
    // Durations against the previous real run of the same results directory.
    expect(await p.textContent('#durations')).toContain('Compared with 20261202-102008-49b1');
    await screenshot(o, 'report-real.png');
  }, BROWSER_TIMEOUT_MS);

  it('renders every outcome, a verdict and two runs; a failing bar links to its failure', async () => {
    const summary = summarizeRun([...interruptedRun(), ...noreflinkRun()]);
    const o = await render('report.html', renderHtml(summary, { verdict: VERDICT, previous: summarizeRun(previousOfInterruptedRun()) }));
    expectQuiet(o);
    const p = o.page;
    // Regressions lead.
    expect(await p.textContent('h1')).toContain('2 regressions');
    const firstCard = await p.$eval('main > section.card', (s) => s.id);
    expect(firstCard).toBe('verdict');
    expect(await p.$$eval('#verdict table', (t) => t[0]?.textContent ?? '')).toContain('crashed; passed in all 12 recorded runs');
    expect(await p.$$eval('#failures article.failure', (els) => els.length)).toBe(6);
    expect(await lanes(o)).toEqual([
      '20261121-232227-a1b2/vm1',
      '20261121-232227-a1b2/vm2',
      '20261121-232227-a1b2/vm3',
      '20261121-232227-a1b2/vm4',
      '20261121-2340-c3d4/vm1',
    ]);
    expect(await p.$$eval('svg.timeline .marker', (els) => els.map((e) => `${e.getAttribute('class')}:${e.getAttribute('data-machine')}`))).toEqual([
      'marker marker-lost:vm1',
      'marker marker-crash:vm2',
      'marker marker-hang:vm3',
    ]);
    // Clicking the crashed bar goes to its failure card.
    await p.locator('svg.timeline a[data-test="selftest/005"]').click();
    expect(new URL(p.url()).hash).toMatch(/^#t-\d+$/);
    expect(await p.$eval(':target', (e) => e.querySelector('h3 code')?.textContent)).toBe('selftest/005 [global]');
    await screenshot(o, 'report.png');
  }, BROWSER_TIMEOUT_MS);

  it('shows merged CI shards as one lane group per shard', async () => {
    const o = await render('report-shards.html', renderHtml(summarizeRun([...shard(1), ...shard(2)])));
    expectQuiet(o);
    expect(await lanes(o)).toEqual(['20261121-233010-shard1/vm1', '20261121-233020-shard2/vm1']);
    expect(await o.page.$$eval('svg.timeline .group-head', (els) => els.length)).toBe(2);
  }, BROWSER_TIMEOUT_MS);

  it('runs no script and fetches nothing whatever the run text holds', async () => {
    const evil = '<script>alert(1)</script><img src="http://127.0.0.1:9/x.png" onerror="alert(2)">';
    const s = new RunScript().start({ tests: [`generic/${evil}`, 'generic/002'], hostname: `h${evil}`, section: `s${evil}`, kernel: `k${evil}` });
    s.boot(`vm${evil}`, 0);
    s.test(`generic/${evil}`, `vm${evil}`, 9, 3, { status: 'failed', message: `m${evil}`, diff: `-a\n+${evil}\n</pre><style>body{background:url(http://127.0.0.1:9/y)}</style>` }, {
      dmesg: `[ 1.0] ${evil}\u0000\u001b[31m\ud800`,
      artifacts: { outBad: 'javascript:alert(3)', full: '../../../etc/passwd', dmesg: `results/${evil}.dmesg` },
    });
    const crash = { ...SYSRQ_CRASH, title: `BUG: ${evil}`, frame: evil, excerpt: `${evil}\n${SYSRQ_CRASH.excerpt}` };
    s.test('generic/002', `vm${evil}`, 13, 2, { status: 'crashed', message: evil, crash });
    s.lost(`vm${evil}`, 15, 'crash', evil, crash, 'generic/002');
    s.warning(evil, 16);
    s.end('completed', 17);
    const o = await render('report-hostile.html', renderHtml(summarizeRun(s.sorted())));
    expectQuiet(o);
    const p = o.page;
    expect(await p.$$eval('script, img, iframe, object, embed', (els) => els.length)).toBe(0);
    expect(await p.$$eval('body style', (els) => els.length)).toBe(0);
    // The text is there, as text.
    expect(await p.textContent('#failures article.s-failed h3 code')).toBe(`generic/${evil}`);
    expect(await p.textContent('#failures pre.diff')).toContain(`+${evil}`);
    // Links to files stay inside the run directory, percent-encoded.
    expect(await p.$$eval('#failures .files a', (as) => as.map((a) => a.getAttribute('href')))).toEqual([
      'javascript%3Aalert(3)',
      ['results', ...`${evil}.dmesg`.split('/')].filter(Boolean).map(encodeURIComponent).join('/'),
    ]);
  }, BROWSER_TIMEOUT_MS);
});
