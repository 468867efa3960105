import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLogWriter, readEventLog } from '../../src/record/eventLog.js';
import type { RunEvent } from '../../src/record/events.js';
import type { CrashInfo } from '../../src/record/outcome.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { crashesOutsideTests, hasFailures } from '../../src/record/runSummary.js';
import { exitCodeFor, type RunVerdict } from '../../src/record/verdict.js';
import { renderMarkdown } from '../../src/reporters/markdown.js';
import { renderHtml } from '../../src/reporters/html.js';
import { renderTextSummary } from '../../src/reporters/text.js';
import { renderJunit } from '../../src/reporters/junit.js';
import { validateJunit } from '../reporters/xmlSchema.js';
import { collectAnnotations } from '../../src/reporters/github.js';
import { describeTestcase } from '../../src/reporters/junit.js';
import { O, runEvents, type RunPlan } from '../baseline/runs.js';
import { at, interruptedRun, noreflinkRun, PLAN, RunScript, shard, SYSRQ_CRASH } from '../reporters/scenarios.js';

describe('summarizeRun on an interrupted run with every outcome', () => {
  const summary = summarizeRun(interruptedRun());
  const byName = new Map(summary.tests.map((t) => [t.test, t]));

  it('lists every planned test once, in plan order', () => {
    expect(summary.tests.map((t) => t.test)).toEqual(PLAN);
  });

  it('counts final statuses; the flaky test counts as passed', () => {
    expect(summary.counts).toEqual({
      passed: 2,
      failed: 3,
      notrun: 2,
      crashed: 1,
      timedout: 1,
      error: 1,
      notexecuted: 2,
      flaky: 1,
      total: 12,
    });
    expect(hasFailures(summary)).toBe(true);
  });

  it('keeps all attempts of a retried test and marks a fail-then-pass as flaky', () => {
    const t = byName.get('selftest/003');
    expect(t?.status).toBe('passed');
    expect(t?.flaky).toBe(true);
    expect(t?.attempts.map((a) => [a.attempt, a.machine, a.outcome.status])).toEqual([
      [1, 'vm1', 'failed'],
      [2, 'vm3', 'passed'],
    ]);
  });

  it('shows tests that never finished as not executed, with the VM that was running one', () => {
    expect(byName.get('generic/002')).toMatchObject({ status: 'notexecuted', unfinishedOn: 'vm4', notExecutedReason: 'run interrupted', attempts: [] });
    expect(byName.get('generic/003')).toMatchObject({ status: 'notexecuted', notExecutedReason: 'run interrupted' });
    expect(byName.get('generic/003')?.unfinishedOn).toBeUndefined();
    expect(summary.interrupted).toBe(true);
    expect(summary.runs[0]).toMatchObject({ status: 'interrupted', signal: 'SIGINT', wallMs: 170_000, planned: 12 });
  });

  it('counts a crash reported by both the test outcome and machine-lost once', () => {
    expect(summary.crashes).toEqual([
      { fingerprint: SYSRQ_CRASH.fingerprint, crash: SYSRQ_CRASH, count: 1, tests: ['selftest/005'], machines: ['vm2'], fatal: true },
    ]);
  });

  it('records booted and lost machines with the test each was running', () => {
    expect(summary.machines.booted).toBe(4);
    expect(summary.machines.lost.map((l) => [l.machine, l.reason, l.test, l.crashFingerprint])).toEqual([
      ['vm2', 'crash', 'selftest/005', SYSRQ_CRASH.fingerprint],
      ['vm1', 'transport', 'generic/001', undefined],
      ['vm3', 'hang', 'selftest/006', undefined],
    ]);
  });

  it('lists the slowest tests by their final attempt, ties in plan order', () => {
    expect(summary.slowest.slice(0, 4).map((s) => [s.test, s.durationMs])).toEqual([
      ['selftest/006', 120_000],
      ['generic/455', 7000],
      ['selftest/001', 5000],
      ['selftest/002', 5000],
    ]);
    expect(summary.slowest.length).toBe(10);
  });

  it('keeps runner warnings and wall time', () => {
    expect(summary.warnings).toHaveLength(1);
    expect(summary.wallMs).toBe(170_000);
    expect(summary.startedAt).toBe('2026-11-21T23:22:27.000Z');
  });
});

describe('summarizeRun and kernel reports', () => {
  const WARN: CrashInfo = { title: 'WARNING in xfs_trans_cancel', type: 'warning', frame: 'xfs_trans_cancel', fingerprint: 'warn-1', excerpt: 'WARNING: CPU: 0 PID: 1 at fs/xfs/xfs_trans.c:1097 xfs_trans_cancel+0x1/0x2' };

  it('ties a non-fatal report to the attempt it happened in, also when it arrives after the result', () => {
    const s = new RunScript().start({ tests: ['generic/001', 'generic/002'] });
    s.boot('vm1', 0);
    s.begin('generic/001', 'vm1', 10);
    s.report('vm1', 11, 'generic/001', WARN);
    s.events.push({ type: 'test-end', ts: at(12), test: 'generic/001', machine: 'vm1', attempt: 1, outcome: { status: 'failed', message: '_check_dmesg: something found in dmesg' }, durationMs: 2000, artifacts: {} });
    s.test('generic/002', 'vm1', 12, 1, { status: 'passed' });
    // The console of generic/002's own run printed late: it still belongs to generic/002.
    s.report('vm1', 13.5, 'generic/002', { ...WARN, fingerprint: 'warn-2', title: 'WARNING in iomap_write_end' });
    const summary = summarizeRun(s.sorted());
    const reports = (test: string) => summary.tests.find((t) => t.test === test)?.attempts[0]?.reports.map((r) => r.title);
    expect(reports('generic/001')).toEqual(['WARNING in xfs_trans_cancel']);
    expect(reports('generic/002')).toEqual(['WARNING in iomap_write_end']);
    expect(summary.crashes.map((c) => [c.crash.title, c.fatal, c.tests])).toEqual([
      ['WARNING in xfs_trans_cancel', false, ['generic/001']],
      ['WARNING in iomap_write_end', false, ['generic/002']],
    ]);
  });

  it('never merges corrupted reports, even with equal fingerprints', () => {
    const bad: CrashInfo = { title: 'general protection fault', type: 'gpf', fingerprint: 'same', excerpt: '', corrupted: true };
    const s = new RunScript().start({ tests: ['generic/001', 'generic/002'] });
    s.boot('vm1', 0).boot('vm2', 0);
    s.test('generic/001', 'vm1', 10, 1, { status: 'crashed', message: bad.title, crash: bad });
    s.test('generic/002', 'vm2', 10, 1, { status: 'crashed', message: bad.title, crash: bad });
    expect(summarizeRun(s.sorted()).crashes.map((c) => c.count)).toEqual([1, 1]);
  });

  it('blames a lost VM only on the test the runner named', () => {
    const s = new RunScript().start({ tests: ['generic/001'] });
    s.boot('vm1', 0);
    s.begin('generic/001', 'vm1', 10);
    s.lost('vm1', 12, 'qemu-exit', 'qemu was killed by SIGKILL');
    const summary = summarizeRun(s.sorted());
    expect(summary.machines.lost[0]?.test).toBeUndefined();
    // Not blamed, it went back to the queue (runner/blame.ts): nothing runs on a lost VM.
    expect(summary.tests[0]).toMatchObject({ status: 'notexecuted' });
    expect(summary.tests[0]?.unfinishedOn).toBeUndefined();
  });
});

describe('summarizeRun merging logs', () => {
  it('merges CI shards: one section, crashes de-duplicated across shards, wall time is the span', () => {
    const summary = summarizeRun([...shard(1), ...shard(2)]);
    expect(summary.runs.map((r) => r.shard)).toEqual(['1/2', '2/2']);
    expect(summary.sections).toEqual([
      expect.objectContaining({ name: 'xfs_reflink', hostnames: ['ci-shard-1', 'ci-shard-2'], startedAt: '2026-11-21T23:22:28.000Z' }),
    ]);
    expect(summary.counts.total).toBe(6);
    expect(summary.crashes).toHaveLength(1);
    expect(summary.crashes[0]).toMatchObject({ count: 2, tests: ['selftest/005', 'selftest/005b'], machines: ['vm1'] });
    // shard 1: 1s..26s, shard 2: 2s..38s → 37s, not the 61s sum.
    expect(summary.wallMs).toBe(37_000);
    expect(summary.interrupted).toBe(false);
  });

  it('keeps the same test in two sections apart', () => {
    const summary = summarizeRun([...interruptedRun(), ...noreflinkRun()]);
    const generic001 = summary.tests.filter((t) => t.test === 'generic/001');
    expect(generic001.map((t) => [t.section, t.status])).toEqual([
      ['global', 'error'],
      ['xfs_noreflink', 'passed'],
    ]);
    expect(summary.sections.map((s) => s.name)).toEqual(['global', 'xfs_noreflink']);
  });
});

describe('summarizeRun merging runs of the same tests (kt report A B)', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-summarize-merge-'));
  });
  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  /**
   * A run directory holding the event log of `plan` as the runner writes it (EventLogWriter),
   * started `hoursLater` after the scenario's origin; returns the events read back from disk.
   */
  async function logOf(runId: string, plan: RunPlan, hoursLater: number): Promise<RunEvent[]> {
    const dir = path.join(root, runId);
    fs.mkdirSync(dir);
    const writer = EventLogWriter.open(dir, { durable: false });
    const shift = hoursLater * 3_600_000;
    for (const e of runEvents(runId, plan)) writer.append({ ...e, ts: new Date(Date.parse(e.ts) + shift).toISOString() });
    writer.close();
    const read = await readEventLog(path.join(dir, 'events.jsonl'));
    expect(read.problems).toEqual([]);
    return read.events;
  }

  it('takes the final status from the later run: failed, then passed on a retry, then failed again is failed', async () => {
    const a = await logOf('run-a', { 'generic/200': [O.mismatch, O.pass], 'generic/001': [O.pass] }, 0);
    const b = await logOf('run-b', { 'generic/200': [O.mismatch], 'generic/001': [O.pass] }, 1);
    const summary = summarizeRun([...a, ...b]);
    const t = summary.tests.find((r) => r.test === 'generic/200');
    expect(t?.status).toBe('failed');
    expect(t?.flaky).toBe(false);
    expect(t?.attempts.map((x) => [x.runId, x.attempt, x.outcome.status])).toEqual([
      ['run-a', 1, 'failed'],
      ['run-a', 2, 'passed'],
      ['run-b', 1, 'failed'],
    ]);
    expect(summary.counts).toMatchObject({ passed: 1, failed: 1, flaky: 0, total: 2 });
    expect(hasFailures(summary)).toBe(true);
    // JUnit agrees: a <failure>, the earlier attempts reruns of a test that still fails.
    const jcase = t ? describeTestcase(t) : undefined;
    expect(jcase?.verdict?.element).toBe('failure');
    expect(jcase?.reruns.map((r) => r.element)).toEqual(['rerunFailure']);
  });

  it('orders runs by when they started, whatever the order of the logs given', async () => {
    const a = await logOf('run-c', { 'generic/200': [O.mismatch, O.pass] }, 0);
    const b = await logOf('run-d', { 'generic/200': [O.mismatch] }, 1);
    const summary = summarizeRun([...b, ...a]);
    expect(summary.runs.map((r) => r.runId)).toEqual(['run-d', 'run-c']);
    expect(summary.tests[0]?.status).toBe('failed');
    expect(summary.tests[0]?.attempts.map((x) => x.runId)).toEqual(['run-c', 'run-c', 'run-d']);
  });

  it('decides flaky within one run: a retry that passed in the later run is flaky, a pass after another run failed is not', async () => {
    const failed = await logOf('run-e', { 'generic/200': [O.mismatch], 'generic/300': [O.exit3] }, 0);
    const later = await logOf('run-f', { 'generic/200': [O.mismatch, O.pass], 'generic/300': [O.pass] }, 1);
    const byName = new Map(summarizeRun([...failed, ...later]).tests.map((t) => [t.test, t]));
    expect([byName.get('generic/200')?.status, byName.get('generic/200')?.flaky]).toEqual(['passed', true]);
    expect([byName.get('generic/300')?.status, byName.get('generic/300')?.flaky]).toEqual(['passed', false]);
  });

  it('keeps the result of an earlier run for a test the later run planned but never started', async () => {
    const a = await logOf('run-g', { 'generic/200': [O.exit3] }, 0);
    const b = await logOf('run-h', { 'generic/200': [] }, 1);
    const t = summarizeRun([...a, ...b]).tests[0];
    expect([t?.status, t?.attempts.length]).toEqual(['failed', 1]);
  });

  it('merges CI shards (disjoint tests) the same in either order', () => {
    const forward = summarizeRun([...shard(1), ...shard(2)]);
    const backward = summarizeRun([...shard(2), ...shard(1)]);
    const results = (s: typeof forward) => new Map(s.tests.map((t) => [t.test, [t.status, t.flaky, t.attempts.length]]));
    expect(results(backward)).toEqual(results(forward));
    expect(backward.counts).toEqual(forward.counts);
  });
});

describe('summarizeRun on damaged or odd logs', () => {
  it('treats a log without run-end (SIGKILL) as interrupted and measures it to the last event', () => {
    const events = interruptedRun().filter((e) => e.type !== 'run-end');
    const summary = summarizeRun(events);
    expect(summary.runs[0]?.status).toBe('killed');
    expect(summary.interrupted).toBe(true);
    expect(summary.runs[0]?.wallMs).toBe(151_200);
    expect(summary.tests.find((t) => t.test === 'generic/002')?.notExecutedReason).toBe('run interrupted');
  });

  it('gives the failure message as the reason when the run ended in an infrastructure error', () => {
    const s = new RunScript().start({ tests: ['generic/001'] });
    s.events.push({ type: 'run-end', ts: s.events[0]?.ts ?? '', status: 'error', wallMs: 10, message: 'no VM could boot' });
    expect(summarizeRun(s.events).tests[0]?.notExecutedReason).toBe('run failed: no VM could boot');
  });

  it('does not throw on events out of order or before run-start', () => {
    const events: RunEvent[] = [
      { type: 'test-end', ts: 'not a date', test: 'generic/009', machine: 'vm9', attempt: 1, outcome: { status: 'passed' }, durationMs: 5, artifacts: {} },
      { type: 'machine-lost', ts: '2026-11-21T23:22:27.000Z', machine: 'vm7', reason: 'qemu-exit', message: 'qemu exited', consoleLog: 'c' },
      { type: 'run-end', ts: '2026-11-21T23:22:28.000Z', status: 'completed', wallMs: 1000 },
      { type: 'test-begin', ts: '2026-11-21T23:22:29.000Z', test: 'generic/010', machine: 'vm1', attempt: 1 },
    ];
    const summary = summarizeRun(events);
    expect(summary.tests.map((t) => [t.test, t.section, t.status])).toEqual([
      ['generic/009', 'global', 'passed'],
      ['generic/010', 'global', 'notexecuted'],
    ]);
    expect(summary.runs[0]?.runId).toBe('unknown');
  });

  it('summarizes an empty log', () => {
    const summary = summarizeRun([]);
    expect(summary.counts.total).toBe(0);
    expect(summary.wallMs).toBe(0);
    expect(summary.startedAt).toBe('');
  });
});

describe('a kernel crash outside every test', () => {
  const pass = { status: 'passed' } as const;
  const crashed = { status: 'crashed', message: SYSRQ_CRASH.title, crash: SYSRQ_CRASH } as const;
  const base = () => new RunScript().start({ tests: ['selftest/001', 'selftest/002'] }).boot('vm1', 0);

  it('makes kt exit 1 when a VM panicked after its last batch, though every test passed', () => {
    const events = base()
      .test('selftest/001', 'vm1', 10, 2, pass)
      .test('selftest/002', 'vm1', 12, 2, pass)
      .lost('vm1', 20, 'crash', 'kernel panic: sysrq triggered crash (after its last batch; the last test it ran: selftest/002)', SYSRQ_CRASH)
      .end('completed', 21)
      .sorted();
    const summary = summarizeRun(events);
    expect(summary.counts).toMatchObject({ passed: 2, total: 2 });
    expect(crashesOutsideTests(summary).map((g) => g.fingerprint)).toEqual([SYSRQ_CRASH.fingerprint]);
    expect(hasFailures(summary)).toBe(true);
    expect(exitCodeFor(summary)).toBe(1);
    // With a baseline too: no rate excuses a panic that no test owns.
    expect(exitCodeFor(summary, { baseline: 'b.json', regressions: [], known: [], fixes: [], possibleFixes: [], unjudged: [], notExecuted: 0, sectionsNotInBaseline: [], minRuns: 3 })).toBe(1);
    // The reports say what the exit code says.
    const md = renderMarkdown(summary);
    expect(md.split('\n')[0]).toBe('# ❌ kt: 2 passed');
    expect(md).toContain('> **Kernel crash outside any test** (it fails the run): Kernel panic - not syncing: sysrq triggered crash on vm1.');
    expect(renderTextSummary(summary, { color: false })).toContain('outside any test: it fails the run');
    const junit = renderJunit(summary);
    expect(junit).toMatch(/<testsuite name="kt\.global"[^>]* tests="3" failures="1"/);
    expect(junit).toContain(`<testcase classname="kt.kernel" name="kernel-crash/${SYSRQ_CRASH.fingerprint}">`);
    expect(junit).toContain('<failure message="Kernel panic - not syncing: sysrq triggered crash (outside any test, on vm1)" type="kernel-crash">');
    expect(validateJunit([junit])).toEqual([]);
    const withBaseline = collectAnnotations(summary, { baseline: 'b.json', regressions: [], known: [], fixes: [], possibleFixes: [], unjudged: [], notExecuted: 0, sectionsNotInBaseline: [], minRuns: 3 } satisfies RunVerdict);
    expect(withBaseline[0]).toMatchObject({ level: 'error', title: 'Kernel crash outside any test: Kernel panic - not syncing: sysrq triggered crash' });
    // report.html: a red badge, its headline says why even with a baseline, and an alert links the crash.
    const page = renderHtml(summary, { verdict: { baseline: 'b.json', regressions: [], known: [], fixes: [], possibleFixes: [], unjudged: [], notExecuted: 0, sectionsNotInBaseline: [], minRuns: 3 } });
    expect(page).toContain('<h1><span class="badge">failed</span> no regressions; a kernel crash outside any test</h1>');
    expect(page).toMatch(/<div class="alert bad"><b>Kernel crash outside any test<\/b> \(it fails the run\): <a href="#(c-\d+)">Kernel panic - not syncing: sysrq triggered crash<\/a> on vm1\.<\/div>/);
    const anchor = /<div class="alert bad">.*?href="#([^"]+)"/.exec(page)?.[1];
    expect(page).toContain(`<article class="crash" id="${anchor}">`);
    expect(renderHtml(summary)).toContain('<h1><span class="badge">failed</span> 2 passed</h1>');
  });

  it('a test begun on a VM that crashed before its own work (not blamed, requeued) runs again and counts once', () => {
    const events = base()
      .test('selftest/001', 'vm1', 10, 2, pass)
      .begin('selftest/002', 'vm1', 12)
      .lost('vm1', 13, 'crash', `${SYSRQ_CRASH.title} (after selftest/001's result, before selftest/002 began its work: check's lines between the two, or selftest/001's delayed work; selftest/002 runs again on a fresh VM)`, SYSRQ_CRASH)
      .boot('vm2', 13)
      .test('selftest/002', 'vm2', 22, 2, pass)
      .end('completed', 25)
      .sorted();
    const summary = summarizeRun(events);
    expect(summary.tests.map((t) => [t.test, t.status, t.attempts.length, t.unfinishedOn])).toEqual([
      ['selftest/001', 'passed', 1, undefined],
      ['selftest/002', 'passed', 1, undefined],
    ]);
    expect(crashesOutsideTests(summary).map((g) => g.fingerprint)).toEqual([SYSRQ_CRASH.fingerprint]);
    expect(exitCodeFor(summary)).toBe(1);
    // Interrupted before it ran again: not executed, and not "running on vm1" either.
    const cut = summarizeRun(base().test('selftest/001', 'vm1', 10, 2, pass).begin('selftest/002', 'vm1', 12).lost('vm1', 13, 'crash', SYSRQ_CRASH.title, SYSRQ_CRASH).end('interrupted', 14, 'SIGINT').sorted());
    expect(cut.tests.find((t) => t.test === 'selftest/002')).toMatchObject({ status: 'notexecuted', attempts: [] });
    expect(cut.tests.find((t) => t.test === 'selftest/002')?.unfinishedOn).toBeUndefined();
  });

  it("is not counted again for a crash that is a test's outcome, even when that test passed on a retry", () => {
    const events = base()
      .test('selftest/001', 'vm1', 10, 2, crashed)
      .lost('vm1', 12, 'crash', SYSRQ_CRASH.title, SYSRQ_CRASH, 'selftest/001')
      .boot('vm2', 12)
      .test('selftest/001', 'vm2', 21, 2, pass, { attempt: 2 })
      .test('selftest/002', 'vm2', 23, 2, pass)
      .end('completed', 30)
      .sorted();
    const summary = summarizeRun(events);
    expect(summary.tests.find((t) => t.test === 'selftest/001')).toMatchObject({ status: 'passed', flaky: true });
    expect(summary.crashes).toHaveLength(1);
    expect(crashesOutsideTests(summary)).toEqual([]);
    expect(hasFailures(summary)).toBe(false);
    expect(renderMarkdown(summary).split('\n')[0]).toMatch(/^# ✅ kt: /);
    expect(renderMarkdown(summary)).not.toContain('outside any test');
    expect(renderHtml(summary)).not.toContain('outside any test');
  });

  it('leaves a WARNING between batches (not fatal) to the reports: no exit 1 for it', () => {
    const warning = { ...SYSRQ_CRASH, title: 'WARNING in xfs_reclaim_inodes', type: 'warning', fingerprint: 'warning-1' };
    const events = base()
      .test('selftest/001', 'vm1', 10, 2, pass)
      .report('vm1', 13, 'selftest/001', warning)
      .test('selftest/002', 'vm1', 14, 2, pass)
      .end('completed', 21)
      .sorted();
    const summary = summarizeRun(events);
    expect(summary.crashes).toHaveLength(1);
    expect(hasFailures(summary)).toBe(false);
  });
});
