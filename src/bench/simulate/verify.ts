/**
 * What must hold for any simulated run, checked over kt's own event record: every planned test
 * ends with exactly one final outcome; each attempt begins and ends once (a test is never run
 * twice, except as a retry); only the injected tests crash or time out (or a test that runs
 * past kt's deadline for it), and each of them does; a test the guest does not run ends not run
 * (or timed out, past its deadline);
 * a passing test reports the duration its guest took; the run completes. Pure: returns the
 * violations, empty when the record is sound.
 */
import type { RunEvent, WorkSpec } from '../../record/events.js';
import type { Injections } from './injections.js';
import { testKey } from '../../record/testKey.js';

export interface FinalOutcomes {
  /** Per test key, the status of its last attempt. */
  final: Map<string, string>;
  /** Counts of the final statuses. */
  counts: Record<string, number>;
  /** Attempts beyond the first (retries). */
  retries: number;
}

export function finalOutcomes(events: readonly RunEvent[]): FinalOutcomes {
  const final = new Map<string, { attempt: number; status: string }>();
  let retries = 0;
  for (const e of events) {
    if (e.type !== 'test-end') continue;
    if (e.attempt > 1) retries++;
    const k = testKey(e.section ?? '', e.test);
    const prev = final.get(k);
    if (!prev || e.attempt > prev.attempt) final.set(k, { attempt: e.attempt, status: e.outcome.status });
  }
  const counts: Record<string, number> = {};
  for (const { status } of final.values()) counts[status] = (counts[status] ?? 0) + 1;
  return { final: new Map([...final].map(([k, v]) => [k, v.status])), counts, retries };
}

export function verifyRun(input: {
  events: readonly RunEvent[];
  work: readonly WorkSpec[];
  injections: Injections;
  /** Tests whose guest reports them not run (--notrun): each must end `notrun`, and only they. */
  notrun?: ReadonlySet<string>;
  durationSec: (test: string) => number;
  /** kt's deadline of a test: a test that runs longer is rightly ended as timed out. */
  deadlineSec: (test: string) => number;
  retries: number;
}): string[] {
  const { events, work, injections } = input;
  const problems: string[] = [];
  const begins = new Map<string, number>();
  const ends = new Map<string, number>();
  const attempts = new Map<string, number[]>();
  const crashedOrHung = new Map<string, string>();
  /** Per machine, the begin with no end yet. */
  const open = new Map<string, string>();
  for (const e of events) {
    if (e.type === 'machine-lost') {
      // A begin whose VM was lost without blaming it: the crash came before the test's own work,
      // and it runs again (docs/architecture.md, the event rules). Not a begin of its own.
      const k = open.get(e.machine);
      if (k !== undefined && e.test === undefined) begins.set(k, (begins.get(k) ?? 1) - 1);
      open.delete(e.machine);
    } else if (e.type === 'test-begin') {
      const k = `${testKey(e.section ?? '', e.test)}#${e.attempt}`;
      begins.set(k, (begins.get(k) ?? 0) + 1);
      open.set(e.machine, k);
    } else if (e.type === 'test-end') {
      open.delete(e.machine);
      const k = `${testKey(e.section ?? '', e.test)}#${e.attempt}`;
      ends.set(k, (ends.get(k) ?? 0) + 1);
      const list = attempts.get(testKey(e.section ?? '', e.test)) ?? [];
      list.push(e.attempt);
      attempts.set(testKey(e.section ?? '', e.test), list);
      const status = e.outcome.status;
      if (status === 'crashed' || status === 'timedout') crashedOrHung.set(`${e.test}#${e.attempt}`, status);
      if (status === 'passed' && e.checkSeconds !== input.durationSec(e.test)) {
        problems.push(`${e.test} passed in ${e.checkSeconds} s, its guest took ${input.durationSec(e.test)} s`);
      }
      const notrunExpected = input.notrun?.has(e.test) ?? false;
      // A test not run may still outlast its deadline (--test-timeout) before it says so.
      const timedOutFirst = notrunExpected && status === 'timedout';
      if (notrunExpected !== (status === 'notrun') && !timedOutFirst) {
        problems.push(`${e.test} attempt ${e.attempt} ended ${status}${notrunExpected ? ', its guest said not run' : ''}`);
      } else if (status !== 'passed' && status !== 'notrun' && status !== 'crashed' && status !== 'timedout') {
        problems.push(`${e.test} attempt ${e.attempt} ended ${status}: ${'message' in e.outcome ? e.outcome.message : ''}`);
      }
    }
  }
  for (const [k, n] of begins) if (n !== 1) problems.push(`${k.replace('\u0000', ' ')} began ${n} times`);
  for (const [k, n] of ends) if (n !== 1) problems.push(`${k.replace('\u0000', ' ')} ended ${n} times`);
  for (const k of begins.keys()) if (!ends.has(k)) problems.push(`${k.replace('\u0000', ' ')} began and never ended`);
  for (const w of work) {
    const list = (attempts.get(testKey(w.section, w.test)) ?? []).sort((a, b) => a - b);
    if (list.length === 0) problems.push(`${w.test} has no outcome`);
    else if (list.some((a, i) => a !== i + 1)) problems.push(`${w.test} has attempts ${list.join(',')}`);
    else if (list.length > 1 + input.retries) problems.push(`${w.test} ran ${list.length} times with --retries ${input.retries}`);
  }
  const planned = new Set(work.map((w) => testKey(w.section, w.test)));
  for (const k of attempts.keys()) if (!planned.has(k)) problems.push(`${k.replace('\u0000', ' ')} ran but was not planned`);
  for (const [k, status] of crashedOrHung) {
    const test = k.slice(0, k.lastIndexOf('#'));
    const overDeadline = status === 'timedout' && input.durationSec(test) >= input.deadlineSec(test);
    const injected = (status === 'crashed' ? injections.crash.has(test) : injections.hang.has(test)) && k.endsWith('#1');
    if (!injected && !overDeadline) problems.push(`${k} ${status} but no ${status === 'crashed' ? 'crash' : 'hang'} was injected there`);
  }
  for (const test of injections.crash) if (crashedOrHung.get(`${test}#1`) !== 'crashed') problems.push(`injected crash in ${test} was not reported as crashed`);
  for (const test of injections.hang) if (crashedOrHung.get(`${test}#1`) !== 'timedout') problems.push(`injected hang in ${test} was not reported as timed out`);
  const end = events.at(-1);
  if (end?.type !== 'run-end' || end.status !== 'completed') problems.push(`the run did not complete: ${JSON.stringify(end)}`);
  return problems;
}
