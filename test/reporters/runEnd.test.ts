/**
 * A run that did not complete is never reported green. The errored run here is the one the
 * runner records when no VM ever becomes ready (src/runner/supply.ts E_BOOT_FAILED, the
 * machine's E_BOOT_TIMEOUT message with its console tail): run-end status error, every planned
 * test not executed. report.md, report.html and junit.xml must all say the run failed.
 */
import { describe, expect, it } from 'vitest';
import { emptyBaseline } from '../../src/baseline/format.js';
import { judge } from '../../src/baseline/judge.js';
import { updateBaseline } from '../../src/baseline/update.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { renderHtml } from '../../src/reporters/html.js';
import { renderJunit } from '../../src/reporters/junit.js';
import { renderMarkdown } from '../../src/reporters/markdown.js';
import { renderTextSummary } from '../../src/reporters/text.js';
import { O, runSummary } from '../baseline/runs.js';
import { at, interruptedRun, RunScript } from './scenarios.js';
import { validateJunit } from './xmlSchema.js';

const BOOT_TIMEOUT = 'vm2: kernel /boot/vmlinuz-6.1.0-56-cloud-amd64 did not reach kt-init within 300 s (accel tcg)';
const RUN_FAILED = `2 VMs in a row could not be made ready; the last: ${BOOT_TIMEOUT}\n--- last console lines ---\n[    0.000000] Linux version 6.1.0-56-cloud-amd64\n[    2.113201] Run /init as init process`;

/** Every VM failed to boot: two boot failures, then the run ends in an error. */
function bootFailedRun() {
  const s = new RunScript().start({ tests: ['generic/001', 'generic/002'], runId: '20261121-232227-b00t', jobs: 1 });
  s.events.push({ type: 'machine-boot', ts: at(0.1), machine: 'vm1', argv: ['qemu-system-x86_64', '-name', 'vm1'] });
  s.lost('vm1', 300.1, 'boot-failure', BOOT_TIMEOUT.replace('vm2', 'vm1'));
  s.events.push({ type: 'machine-boot', ts: at(300.2), machine: 'vm2', argv: ['qemu-system-x86_64', '-name', 'vm2'] });
  s.lost('vm2', 600.2, 'boot-failure', BOOT_TIMEOUT);
  s.events.push({ type: 'run-end', ts: at(600.3), status: 'error', wallMs: 600_300, message: RUN_FAILED });
  return summarizeRun(s.sorted());
}

describe('a run that ended in an error', () => {
  const summary = bootFailedRun();

  it('is summarized with why its tests never ran', () => {
    expect(summary.interrupted).toBe(false);
    expect(summary.tests.map((t) => [t.status, t.notExecutedRunStatus, t.notExecutedReason])).toEqual([
      ['notexecuted', 'error', `run failed: ${RUN_FAILED}`],
      ['notexecuted', 'error', `run failed: ${RUN_FAILED}`],
    ]);
  });

  it('report.md: a red mark and the failure in an alert', () => {
    const md = renderMarkdown(summary).split('\n');
    expect(md[0]).toBe('# ❌ kt: 0 passed, 2 not executed');
    expect(md).toContain(`> **The run failed** (20261121-232227-b00t: failed: 2 VMs in a row could not be made ready; the last: ${BOOT_TIMEOUT}): 2 tests not executed.`);
  });

  it('report.md with a baseline: red, although nothing regressed', () => {
    const { baseline } = updateBaseline(emptyBaseline('kt test'), [runSummary('base', { 'generic/001': [O.pass], 'generic/002': [O.pass] })], 'kt test');
    const verdict = judge(summary, baseline, { file: 'kt-baseline.json' });
    expect(verdict.regressions).toEqual([]);
    expect(renderMarkdown(summary, verdict).split('\n')[0]).toBe('# ❌ kt: 0 regressions, 0 known failures');
  });

  it('report.html: a red bar, "run failed", and the message in a red alert', () => {
    const page = renderHtml(summary);
    expect(page).toContain('<header class="hero bad">');
    expect(page).toContain('<span class="badge">run failed</span>');
    expect(page).toMatch(/<title>kt run failed: /);
    expect(page).toContain(
      `<div class="alert bad"><b>The run failed</b> (20261121-232227-b00t: failed: 2 VMs in a row could not be made ready; the last: ${BOOT_TIMEOUT}): 2 tests not executed.</div>`,
    );
  });

  it('the terminal summary: the counts line red, with a baseline too', () => {
    const red = '\u001b[31m';
    const last = (text: string) => text.trimEnd().split('\n').at(-1) ?? '';
    expect(last(renderTextSummary(summary, { color: true }))).toContain(red);
    const { baseline } = updateBaseline(emptyBaseline('kt test'), [runSummary('base', { 'generic/001': [O.pass], 'generic/002': [O.pass] })], 'kt test');
    const verdict = judge(summary, baseline, { file: 'kt-baseline.json' });
    expect(last(renderTextSummary(summary, { color: true, verdict }))).toContain(red);
  });

  it('junit.xml: its tests are infrastructure errors, not skipped, and the file stays valid', () => {
    const xml = renderJunit(summary);
    expect(xml).toContain('<testsuites name="kt" tests="2" failures="0" errors="2">');
    expect(xml).toContain(`<error message="not executed: run failed: 2 VMs in a row could not be made ready; the last: ${BOOT_TIMEOUT}`);
    expect(xml).toContain('type="infrastructure"');
    expect(xml).not.toContain('<skipped');
    expect(validateJunit([xml])).toEqual([]);
  });
});

describe('runs that stopped without an error keep their looks', () => {
  it('an interrupted run is a warning, its unstarted tests skipped', () => {
    const summary = summarizeRun(interruptedRun());
    expect(renderMarkdown(summary).split('\n')[0]).toMatch(/^# ❌ /); // it has failures
    expect(renderMarkdown(summary)).toContain('> **The run was interrupted:** 2 tests not executed.');
    expect(renderHtml(summary)).toContain('<div class="alert"><b>The run did not finish</b> (20261121-232227-a1b2: interrupted by SIGINT): 2 tests not executed.</div>');
    expect(renderJunit(summary)).toContain('<skipped message="not executed: run interrupted"');
  });

  it('a killed run (no run-end: SIGKILL, OOM) is a warning, not green', () => {
    const s = new RunScript().start({ tests: ['generic/001', 'generic/002'] });
    s.boot('vm1', 0.1);
    s.test('generic/001', 'vm1', 8.2, 5, O.pass);
    s.begin('generic/002', 'vm1', 13.3);
    const summary = summarizeRun(s.sorted());
    expect(renderMarkdown(summary).split('\n')[0]).toBe('# ⚠️ kt: 1 passed, 1 not executed');
    expect(renderHtml(summary)).toContain('<header class="hero warn">');
    expect(renderHtml(summary)).toContain('(20261121-232227-a1b2: ended without a run-end event (killed?)): 1 test not executed.</div>');
  });

  it('the terminal summary: the counts line yellow for a killed or interrupted run (report.md ⚠️), red once a test failed', () => {
    const [red, yellow, green] = ['\u001b[31m', '\u001b[33m', '\u001b[32m'];
    const last = (text: string) => text.trimEnd().split('\n').at(-1) ?? '';
    const run = (end: 'killed' | 'interrupted' | 'completed') => {
      const s = new RunScript().start({ tests: ['generic/001', 'generic/002'] });
      s.boot('vm1', 0.1);
      s.test('generic/001', 'vm1', 8.2, 5, O.pass);
      s.begin('generic/002', 'vm1', 13.3);
      if (end === 'interrupted') s.end('interrupted', 14, 'SIGINT');
      if (end === 'completed') s.test('generic/002', 'vm1', 13.3, 2, O.pass).end('completed', 16);
      return summarizeRun(s.sorted());
    };
    const { baseline } = updateBaseline(emptyBaseline('kt test'), [runSummary('base', { 'generic/001': [O.pass], 'generic/002': [O.pass] })], 'kt test');
    for (const end of ['killed', 'interrupted'] as const) {
      const summary = run(end);
      expect(renderMarkdown(summary).split('\n')[0]).toBe('# ⚠️ kt: 1 passed, 1 not executed');
      const line = last(renderTextSummary(summary, { color: true }));
      expect(line).toContain(`${yellow}\u001b[1m1 passed, 1 not executed`);
      expect(line).not.toContain(green);
      const verdict = judge(summary, baseline, { file: 'kt-baseline.json' });
      expect(renderMarkdown(summary, verdict).split('\n')[0]).toMatch(/^# ⚠️ /);
      expect(last(renderTextSummary(summary, { color: true, verdict }))).toMatch(/^\u001b\[33m\u001b\[1mAgainst kt-baseline\.json: /);
    }
    // A completed run stays green; an interrupted run with a failure stays red.
    expect(last(renderTextSummary(run('completed'), { color: true }))).toContain(`${green}\u001b[1m2 passed`);
    const failed = last(renderTextSummary(summarizeRun(interruptedRun()), { color: true }));
    expect(failed).toContain(red);
    expect(failed).not.toContain(yellow);
  });
});
