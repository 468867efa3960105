/**
 * Run records for baseline tests, built the way the runner emits them (test/reporters/scenarios.ts):
 * each attempt on its own VM (retries run on a fresh VM), a crash or hang followed by the VM's
 * machine-lost. Outcome texts are real: fstests check output from the fixture and sample runs,
 * crash titles found by src/crash in real console logs of test/crash-corpus.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { detectCrashes } from '../../src/crash/index.js';
import type { RunEvent } from '../../src/record/events.js';
import type { CrashInfo, TestOutcome } from '../../src/record/outcome.js';
import type { RunSummary } from '../../src/record/runSummary.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { RunScript, SELFTEST_002_DIFF, SYSRQ_CRASH } from '../reporters/scenarios.js';

/** The first report src/crash finds in a console log of the corpus, as a test outcome carries it. */
export function corpusCrash(name: string): CrashInfo {
  const log = readFileSync(fileURLToPath(new URL(`../crash-corpus/${name}`, import.meta.url)));
  const body = log.subarray(log.indexOf('\n\n') + 2);
  const report = detectCrashes(body)[0];
  if (!report) throw new Error(`no report in ${name}`);
  return { title: report.title, type: report.type, fingerprint: report.fingerprint, excerpt: report.excerpt, ...(report.frame ? { frame: report.frame } : {}), ...(report.corrupted ? { corrupted: true } : {}) };
}

export const NULL_DEREF = corpusCrash('module-null-deref-oops.log');
export const HUNG_TASK = corpusCrash('module-hung-task.log');

/** Outcomes as fstests' check printed them (fixture tree and test/fstests/samples). */
export const O = {
  pass: { status: 'passed' },
  mismatch: { status: 'failed', message: '- output mismatch (see /job/results/selftest/002.out.bad)', diff: SELFTEST_002_DIFF },
  exit3: { status: 'failed', message: '[failed, exit status 3]' },
  dmesg: { status: 'failed', message: '_check_dmesg: something found in dmesg (see /job/results/selftest/900.dmesg)' },
  notrun: { status: 'notrun', reason: 'This test requires a valid $LOGWRITES_DEV' },
  panic: { status: 'crashed', message: 'kernel panic while the test ran', crash: SYSRQ_CRASH },
  nullDeref: { status: 'crashed', message: 'kernel oops while the test ran', crash: NULL_DEREF },
  corruptedCrash: { status: 'crashed', message: 'kernel panic while the test ran', crash: { ...NULL_DEREF, title: 'BUG: unable to handle kernel NULL pointer dereference in corrupted', corrupted: true } },
  hang: { status: 'timedout', message: 'no result after 600s (deadline 600s); VM discarded' },
  hungTask: { status: 'timedout', message: 'no result after 600s (deadline 600s); VM discarded', crash: HUNG_TASK },
  error: { status: 'error', message: 'transport lost: ssh channel closed while the test ran' },
} satisfies Record<string, TestOutcome>;

/** What one run does: test → its attempts in order (an empty list: planned, never started). */
export type RunPlan = Record<string, TestOutcome[]>;

/** The event log of one run of `plan` in `section`. */
export function runEvents(runId: string, plan: RunPlan, options: { section?: string; status?: 'completed' | 'interrupted'; seconds?: number } = {}): RunEvent[] {
  const tests = Object.keys(plan);
  const section = options.section ?? 'xfs';
  const s = new RunScript().start({ tests, runId, section, sections: [{ name: section, fstyp: 'xfs', mkfsOptions: '', mountOptions: '' }] });
  let t = 0.1;
  let vm = 0;
  let machine = '';
  const fresh = () => {
    vm += 1;
    machine = `vm${vm}`;
    s.boot(machine, t);
    t += 8.1;
  };
  fresh();
  for (const test of tests) {
    (plan[test] ?? []).forEach((outcome, i) => {
      if (i > 0) fresh(); // a retry runs on a fresh VM
      const seconds = options.seconds ?? 5;
      s.test(test, machine, t, seconds, outcome, { attempt: i + 1 });
      t += seconds + 0.1;
      if (outcome.status === 'crashed' || outcome.status === 'timedout' || outcome.status === 'error') {
        const reason = outcome.status === 'crashed' ? 'crash' : outcome.status === 'timedout' ? 'hang' : 'transport';
        s.lost(machine, t, reason, outcome.message, outcome.status === 'crashed' ? outcome.crash : undefined, test);
        t += 0.1;
        fresh();
      }
    });
  }
  s.end(options.status ?? 'completed', t);
  return s.sorted();
}

/** The summary of one run. */
export function runSummary(runId: string, plan: RunPlan, options: { section?: string; status?: 'completed' | 'interrupted' } = {}): RunSummary {
  return summarizeRun(runEvents(runId, plan, options));
}

/** `count` runs with the same plan (run ids base-1, base-2, ...). */
export function repeatRuns(base: string, count: number, plan: RunPlan, section?: string): RunSummary[] {
  return Array.from({ length: count }, (_, i) => runSummary(`${base}-${i + 1}`, plan, section ? { section } : {}));
}
