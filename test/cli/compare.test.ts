/**
 * `kt compare` through the real binary, on event logs of real outcomes: the exact text, the
 * markdown and JSON forms, one set of runs against another, exit codes (1 regressed, 0 not, 2
 * usage, and those of `kt report --baseline` for a head that did not complete or was never
 * judged), and damaged logs refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/record/events.js';
import { NULL_DEREF, O, runEvents } from '../baseline/runs.js';
import { CLI_TIMEOUT_MS, kt, snapshot, writeRunDir } from './helpers.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-compare-cli-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function runDir(name: string, events: RunEvent[]): string {
  return writeRunDir(path.join(root, name), events);
}

const BASE = { 'selftest/001': [O.pass], 'selftest/002': [O.mismatch], 'generic/004': [O.pass], 'selftest/005': [O.pass], 'generic/001': [O.pass], 'selftest/003': [O.exit3] };
/** The branch: 001 now fails, 005 oopses, 004 is no longer run, 003 is fixed (passes 4 times on --retries), generic/001 slower. */
const HEAD = { 'selftest/001': [O.exit3], 'selftest/002': [O.mismatch], 'generic/004': [O.notrun], 'selftest/005': [O.nullDeref], 'generic/001': [O.pass], 'selftest/003': [O.pass, O.pass, O.pass, O.pass] };

describe('kt compare', () => {
  it('prints regressions first, then fixes, new crashes, newly not run, known failures and duration changes; exit 1', async () => {
    const base = [1, 2, 3].map((i) => runDir(`base-${i}`, runEvents(`base-${i}`, BASE)));
    const head = runDir('head', runEvents('head', HEAD, { seconds: 9 }));
    const r = await kt(['compare', ...base, '--', head], { cwd: root });
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    expect(r.out).toBe(
      [
        'kt compare: base 3 runs (base-1, base-2, base-3), head 1 run (head)',
        '',
        'Regressions (3):',
        '  selftest/001  failed: [failed, exit status 3]; passed in all 3 recorded runs',
        '  generic/004  not run (This test requires a valid $LOGWRITES_DEV); ran in all 3 recorded runs',
        `  selftest/005  crashed: ${NULL_DEREF.title}; a new crash for this test (3 recorded runs, no crash recorded)`,
        '',
        'Fixed (1):',
        "  selftest/003  passed 4 of 4 attempts; failed in 3 of 3 recorded runs (100%); p = 0.029 (Fisher's exact test)",
        '',
        `New crashes (1):`,
        `  ${NULL_DEREF.title}: selftest/005`,
        '',
        'Newly not run (1):',
        '  generic/004  not run (This test requires a valid $LOGWRITES_DEV); ran in all 3 recorded runs',
        '',
        'Known failures (1):',
        '  selftest/002  failed: - output mismatch (see /job/results/selftest/002.out.bad); failed in 3 of 3 recorded runs (100%)',
        '',
        'Duration changes (passed in both, largest first):',
        '    +4.0s  ×1.80  generic/001  5.0s → 9.0s',
        '',
        'Head against base: 3 regressions, 1 known failure, 1 fix',
      ].join('\n'),
    );
  }, CLI_TIMEOUT_MS);

  it('compares two run directories, as markdown and as JSON', async () => {
    const base = runDir('base', runEvents('base', BASE));
    const head = runDir('head', runEvents('head', { ...BASE, 'selftest/001': [O.exit3] }));
    const md = await kt(['compare', base, head, '--format', 'md'], { cwd: root });
    expect(md.code).toBe(1);
    expect(md.out.split('\n').slice(0, 9)).toEqual([
      '# ❌ kt compare: 1 regression, 2 known failures',
      '',
      'Base: `base`. Head: `head`.',
      '',
      '## Regressions (1)',
      '',
      '| Test | Why |',
      '|---|---|',
      '| selftest/001 | failed: \\[failed, exit status 3\\]; passed in the only recorded run (fewer than 3: a flaky test cannot be told yet) |',
    ]);
    // After the head runs, as docs/baseline.md writes it: the same report.
    const mdAfter = await kt(['compare', base, '--', head, '--format', 'md'], { cwd: root });
    expect(mdAfter.code).toBe(1);
    expect(mdAfter.out.split('\n')[0]).toBe('# ❌ kt compare: 1 regression, 2 known failures');
    const json = await kt(['compare', base, head, '--format', 'json'], { cwd: root });
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.out) as { version: number; base: { runId: string }[]; head: { runId: string }[]; verdict: { baseline: string; regressions: { test: string; rule: string }[]; known: unknown[] } };
    expect(doc.version).toBe(1);
    expect(doc.base.map((r) => r.runId)).toEqual(['base']);
    expect(doc.head.map((r) => r.runId)).toEqual(['head']);
    expect(doc.verdict.baseline).toBe(`base ${base}`);
    expect(doc.verdict.regressions.map((v) => `${v.test} ${v.rule}`)).toEqual(['selftest/001 new-failure']);
    expect(doc.verdict.known).toHaveLength(2);
  }, CLI_TIMEOUT_MS);

  it('exits 0 when the head did not regress (known failures only)', async () => {
    const base = runDir('base', runEvents('base', BASE));
    const head = runDir('head', runEvents('head', BASE));
    const r = await kt(['compare', base, head], { cwd: root });
    expect(r.code).toBe(0);
    expect(r.out.split('\n').at(-1)).toBe('Head against base: 0 regressions, 2 known failures');
  }, CLI_TIMEOUT_MS);

  describe('a head that is not a pass is never green, with the exit code of kt report --baseline', () => {
    const PASSING = { 'generic/001': [O.pass], 'generic/002': [O.pass] };
    const heads: [string, () => RunEvent[], number, string][] = [
      ['only kt errors', () => runEvents('head', { 'generic/001': [O.error], 'generic/002': [O.error] }), 3, '2 head tests had only kt errors: never judged'],
      ['killed (its log has no run-end)', () => runEvents('head', { 'generic/001': [], 'generic/002': [] }).filter((e) => e.type !== 'run-end'), 3, 'the head run head was killed (its log has no end)'],
      [
        'ended in an error (no VM booted)',
        () => [
          ...runEvents('head', { 'generic/001': [], 'generic/002': [] }).filter((e) => e.type !== 'run-end'),
          { type: 'run-end', ts: '2026-11-21T23:32:27.000Z', status: 'error', wallMs: 600_000, message: '2 VMs in a row could not be made ready; the last: vm2: kernel /boot/vmlinuz did not reach kt-init within 300 s (accel tcg)\n--- last console lines ---\n(the console printed nothing)' },
        ],
        3,
        'the head run head ended in an error: 2 VMs in a row could not be made ready; the last: vm2: kernel /boot/vmlinuz did not reach kt-init within 300 s (accel tcg)',
      ],
      [
        'interrupted by SIGTERM',
        () => [...runEvents('head', { 'generic/001': [O.pass], 'generic/002': [] }).filter((e) => e.type !== 'run-end'), { type: 'run-end', ts: '2026-11-21T23:32:27.000Z', status: 'interrupted', wallMs: 600_000, signal: 'SIGTERM' }],
        143,
        'the head run head was interrupted by SIGTERM',
      ],
    ];
    for (const [what, events, code, why] of heads) {
      it(`${what}: exit ${code}`, async () => {
        const base = runDir('base', runEvents('base', PASSING));
        const head = runDir('head', events());
        const text = await kt(['compare', base, head], { cwd: root });
        expect(text.code).toBe(code);
        expect(text.out.split('\n').slice(-2)).toEqual([`Not a pass: ${why}`, 'Head against base: 0 regressions, 0 known failures' + (what === 'only kt errors' ? ', 2 not judged (kt errors)' : '')]);
        const md = await kt(['compare', base, head, '--format', 'md'], { cwd: root });
        expect(md.code).toBe(code);
        expect(md.out.split('\n').slice(0, 3)).toEqual([`# ⚠️ kt compare: 0 regressions, 0 known failures${what === 'only kt errors' ? ', 2 not judged (kt errors)' : ''}`, '', `> **Not a pass:** ${why}.`]);
        expect(md.err).toBe(`kt: ${why}`);
        // kt report --baseline on the same logs, with the base recorded as the baseline, agrees.
        expect((await kt(['baseline', 'update', base], { cwd: root })).code).toBe(0);
        const report = await kt(['report', head, '--baseline', 'kt-baseline.json', '--format', 'json'], { cwd: root });
        expect(report.code).toBe(code);
      }, CLI_TIMEOUT_MS);
    }

    it('a head in which no test ran at all: exit 3', async () => {
      const base = runDir('base', runEvents('base', PASSING));
      const head = runDir('head', runEvents('head', { 'generic/001': [], 'generic/002': [] }));
      const r = await kt(['compare', base, head], { cwd: root });
      expect(r.code).toBe(3);
      expect(r.out.split('\n').slice(-2)).toEqual(['Not a pass: no test of the head ran: nothing was compared', 'Head against base: 0 regressions, 0 known failures']);
    }, CLI_TIMEOUT_MS);
  });

  const usage: [string, string[], string][] = [
    ['one directory', ['x'], 'kt: error E_COMPARE_ARGS: kt compare takes two run directories, or two sets separated by -- (got 1: x)'],
    ['three directories without --', ['x', 'y', 'z'], 'kt: error E_COMPARE_ARGS: kt compare takes two run directories, or two sets separated by -- (got 3: x y z)'],
    ['nothing after --', ['x', '--'], 'kt: error E_COMPARE_ARGS: kt compare needs run directories on both sides of -- (got 1 before, 0 after)'],
    ['a bad format', ['x', 'y', '--format', 'html'], 'kt: error E_BAD_FORMAT: --format html is not one of text, md, json'],
    ['another option after --', ['x', '--', 'y', '--spares', '1'], 'kt: error E_COMPARE_ARGS: --spares after -- is not a run directory, and only --format is read there'],
    ['--format before and after --', ['--format', 'md', 'x', '--', 'y', '--format', 'json'], 'kt: error E_FLAG_REPEATED: --format was given 2 times (md, json)'],
  ];
  for (const [what, args, message] of usage) {
    it(`refuses ${what} (exit 2)`, async () => {
      const r = await kt(['compare', ...args], { cwd: root });
      expect(r.code).toBe(2);
      expect(r.err.split('\n')[0]).toBe(message);
    }, CLI_TIMEOUT_MS);
  }

  it('refuses a damaged log and writes nothing (exit 2)', async () => {
    const base = runDir('base', runEvents('base', BASE));
    const head = runDir('head', runEvents('head', BASE));
    fs.appendFileSync(path.join(head, 'events.jsonl'), '\u0000\u0001garbage\n{"type":"run-end"}\n');
    const before = snapshot(root);
    const r = await kt(['compare', base, head], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toMatch(new RegExp(`^kt: error E_EVENTS_DAMAGED: ${path.join(head, 'events.jsonl')}:\\d+: not a JSON event line`));
    expect(snapshot(root)).toEqual(before);
  }, CLI_TIMEOUT_MS);
});
