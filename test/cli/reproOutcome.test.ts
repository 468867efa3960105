/**
 * How one repeat of `kt repro` counts (src/cli/reproOutcome.ts), from summaries of the events a
 * real repeat writes: a failure, a pass, a pass followed by a panic on the VM that ran the test,
 * a panic on a VM that never ran it (a boot), a pass on a retry, a test that never ran.
 */
import { describe, expect, it } from 'vitest';
import { repeatOutcome } from '../../src/cli/reproOutcome.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { RunScript, SYSRQ_CRASH } from '../reporters/scenarios.js';

const T = 'generic/475';
const pass = { status: 'passed' } as const;
const failed = { status: 'failed', message: '- output mismatch (see generic/475.out.bad)' } as const;
const crashed = { status: 'crashed', message: SYSRQ_CRASH.title, crash: SYSRQ_CRASH } as const;
const start = () => new RunScript().start({ tests: [T] });

describe('repeatOutcome', () => {
  it('a failure counts as failed, with its message', () => {
    const summary = summarizeRun(start().boot('vm1', 0).test(T, 'vm1', 10, 5, failed).end('completed', 20).sorted());
    expect(repeatOutcome(summary, T)).toEqual({ status: 'failed', result: 'failed', detail: ': - output mismatch (see generic/475.out.bad)' });
  });

  it('a clean pass counts as passed', () => {
    const summary = summarizeRun(start().boot('vm1', 0).test(T, 'vm1', 10, 5, pass).end('completed', 20).sorted());
    expect(repeatOutcome(summary, T)).toEqual({ status: 'passed', result: 'passed', detail: '' });
  });

  it('a pass after which the kernel panicked on the same VM counts as failed', () => {
    const summary = summarizeRun(
      start()
        .boot('vm1', 0)
        .test(T, 'vm1', 10, 5, pass)
        .lost('vm1', 16, 'crash', `kernel panic: ${SYSRQ_CRASH.title} (after its last batch; the last test it ran: ${T})`, SYSRQ_CRASH)
        .end('completed', 20)
        .sorted(),
    );
    expect(repeatOutcome(summary, T)).toEqual({ status: 'passed', result: 'failed', detail: `, and the kernel then crashed outside the test on vm1: ${SYSRQ_CRASH.title}` });
  });

  it("a panic on a VM that never ran the test (its boot) is named, not counted", () => {
    const summary = summarizeRun(
      start()
        .boot('vm1', 0)
        .lost('vm1', 5, 'crash', `kernel panic while booting: ${SYSRQ_CRASH.title}`, SYSRQ_CRASH)
        .boot('vm2', 5)
        .test(T, 'vm2', 14, 5, pass)
        .end('completed', 20)
        .sorted(),
    );
    expect(repeatOutcome(summary, T)).toEqual({ status: 'passed', result: 'passed', detail: ` (a kernel crash on vm1, not after the test's result, is not counted: ${SYSRQ_CRASH.title})` });
  });

  it('a pass on a retry, after a crash, counts as failed', () => {
    const summary = summarizeRun(
      start()
        .boot('vm1', 0)
        .test(T, 'vm1', 10, 5, crashed)
        .lost('vm1', 15, 'crash', SYSRQ_CRASH.title, SYSRQ_CRASH, T)
        .boot('vm2', 15)
        .test(T, 'vm2', 25, 5, pass, { attempt: 2 })
        .end('completed', 31)
        .sorted(),
    );
    expect(repeatOutcome(summary, T)).toEqual({ status: 'passed', result: 'failed', detail: ` on a retry, after attempt 1 crashed: ${SYSRQ_CRASH.title}` });
  });

  it('a test that never ran is not executed; a notrun is notrun', () => {
    const never = summarizeRun(start().boot('vm1', 0).end('interrupted', 5, 'SIGINT').sorted());
    expect(repeatOutcome(never, T)).toEqual({ status: 'notexecuted', result: 'notexecuted', detail: '' });
    const notrun = summarizeRun(start().boot('vm1', 0).test(T, 'vm1', 10, 1, { status: 'notrun', reason: 'Reflink not supported by scratch filesystem type: ext4' }).end('completed', 12).sorted());
    expect(repeatOutcome(notrun, T)).toEqual({ status: 'notrun', result: 'notrun', detail: ': Reflink not supported by scratch filesystem type: ext4' });
  });
});
