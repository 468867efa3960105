import { describe, expect, it } from 'vitest';
import { blame, outcomeForFailure, type VmFailure } from '../../src/runner/blame.js';
import type { ConsoleCrash } from '../../src/runner/ports.js';
import type { WorkItem } from '../../src/runner/workQueue.js';

const item = (test: string, attempt = 1): WorkItem => ({ test, section: 'xfs', attempt, freshVm: false });
const batch = [item('generic/001'), item('generic/002'), item('generic/003')];
const base = { machine: 'vm1', batch, consolePath: 'results/generic/002.console', consoleLog: 'console/vm1.log', nowMs: 10_000, reports: [] };
const hungTask: ConsoleCrash = { title: 'INFO: task hung in xfs_ail_push_all_sync', type: 'hungtask', fingerprint: 'h1', excerpt: '', fatal: false };

describe('blame', () => {
  it('blames the running test and requeues the rest of the batch', () => {
    const failure: VmFailure = { kind: 'qemu-exit', exitCode: 1, message: 'qemu exited 1 (guest panic reported through pvpanic)' };
    const b = blame({ ...base, failure, finished: new Set(['xfs\u0000generic/001']), running: { item: batch[1]!, startedAt: 4_000 } });
    expect(b.events.map((e) => e.type)).toEqual(['test-end', 'machine-lost']);
    expect(b.events[0]).toMatchObject({ test: 'generic/002', section: 'xfs', durationMs: 6_000, outcome: { status: 'crashed' }, artifacts: { console: 'results/generic/002.console' } });
    expect(b.events[1]).toMatchObject({ reason: 'qemu-exit', test: 'generic/002', section: 'xfs' });
    expect(b.requeue.map((i) => i.test)).toEqual(['generic/003']);
    expect(b.blamed?.item.test).toBe('generic/002');
  });

  it('with no test running, blames the first test without a result, and begins it first', () => {
    const failure: VmFailure = { kind: 'transport', message: 'the ssh connection to the guest dropped' };
    const b = blame({ ...base, failure, finished: new Set(['xfs\u0000generic/001']) });
    expect(b.events.map((e) => `${e.type} ${'test' in e ? e.test : ''}`)).toEqual(['test-begin generic/002', 'test-end generic/002', 'machine-lost generic/002']);
    expect(b.events[1]).toMatchObject({ durationMs: 0, outcome: { status: 'error', message: 'the ssh connection to the guest dropped (console: results/generic/002.console)' } });
    expect(b.requeue.map((i) => i.test)).toEqual(['generic/003']);
  });

  it("with no test running, a crash whose report names a test that has its result blames nobody: the next test never began", () => {
    // fstests' check after a failed test: "_check_xfs_filesystem: ... inconsistent", "Trying to
    // repair broken TEST_DEV file system", and the repair panics the kernel before check names
    // generic/002; the kmsg marker is still generic/001's.
    const panic: ConsoleCrash = { title: 'kernel BUG at fs/xfs/xfs_trans.c:123!', type: 'bug', fingerprint: 'b1', excerpt: '', fatal: true, test: 'generic/001' };
    const b = blame({ ...base, failure: { kind: 'crash', crash: panic }, reportTest: 'generic/001', finished: new Set(['xfs\u0000generic/001']) });
    expect(b.events).toEqual([
      expect.objectContaining({ type: 'machine-lost', reason: 'crash', message: "kernel BUG at fs/xfs/xfs_trans.c:123! (after generic/001's result: check's work after that test, or its delayed work)" }),
    ]);
    expect(b.events[0]).not.toHaveProperty('test');
    expect(b.blamed).toBeUndefined();
    expect(b.requeue.map((i) => i.test)).toEqual(['generic/002', 'generic/003']);
  });

  it('a report naming a test without a result (its marker came before check\'s stdout said it began) blames that one', () => {
    const panic: ConsoleCrash = { title: 'kernel BUG at fs/xfs/xfs_trans.c:123!', type: 'bug', fingerprint: 'b1', excerpt: '', fatal: true, test: 'generic/002' };
    const b = blame({ ...base, failure: { kind: 'crash', crash: panic }, reportTest: 'generic/002', finished: new Set(['xfs\u0000generic/001']) });
    expect(b.events.map((e) => `${e.type} ${'test' in e ? e.test : ''}`)).toEqual(['test-begin generic/002', 'test-end generic/002', 'machine-lost generic/002']);
    expect(b.events[2]).toMatchObject({ message: 'kernel BUG at fs/xfs/xfs_trans.c:123!' });
    expect(b.requeue.map((i) => i.test)).toEqual(['generic/003']);
  });

  it("a crash whose report names the test before the running one blames nobody: check had named the running test, not yet written its marker", () => {
    // check prints "generic/002", then rm, the expunge check, awk over check.time, and only then
    // writes "run fstests generic/002" to /dev/kmsg: the panic came in between.
    const panic: ConsoleCrash = { title: 'BUG: unable to handle page fault for address: ffff8880deadbeef', type: 'bug', fingerprint: 'b2', excerpt: '', fatal: true, test: 'generic/001' };
    const b = blame({ ...base, failure: { kind: 'crash', crash: panic }, reportTest: 'generic/001', finished: new Set(['xfs\u0000generic/001']), running: { item: batch[1]!, startedAt: 9_900 } });
    expect(b.events).toEqual([
      expect.objectContaining({
        type: 'machine-lost',
        reason: 'crash',
        message:
          "BUG: unable to handle page fault for address: ffff8880deadbeef (after generic/001's result, before generic/002 began its work: check's lines between the two, or generic/001's delayed work; generic/002 runs again on a fresh VM)",
      }),
    ]);
    expect(b.events[0]).not.toHaveProperty('test');
    expect(b.blamed).toBeUndefined();
    expect(b.requeue.map((i) => [i.test, i.freshVm])).toEqual([
      ['generic/002', true],
      ['generic/003', false],
    ]);
    // The report's generic/002 marker is an earlier batch's (another section's run of it): not this run's either.
    const earlier = blame({ ...base, failure: { kind: 'crash', crash: { ...panic, test: 'generic/002' } }, reportTest: 'generic/002', reportMarkedHere: false, finished: new Set(['xfs\u0000generic/001']), running: { item: batch[1]!, startedAt: 9_900 } });
    expect(earlier.blamed).toBeUndefined();
    expect(earlier.requeue[0]).toMatchObject({ test: 'generic/002', freshVm: true });
    // Its marker written, the running test is blamed (and so it is when no marker names any test).
    const own = blame({ ...base, failure: { kind: 'crash', crash: { ...panic, test: 'generic/002' } }, reportTest: 'generic/002', finished: new Set(['xfs\u0000generic/001']), running: { item: batch[1]!, startedAt: 9_900 } });
    expect(own.blamed?.item.test).toBe('generic/002');
    const unmarked = blame({ ...base, failure: { kind: 'crash', crash: { ...panic, test: undefined } }, finished: new Set(['xfs\u0000generic/001']), running: { item: batch[1]!, startedAt: 9_900 } });
    expect(unmarked.blamed?.item.test).toBe('generic/002');
  });

  it("during check's start-up on a used VM, a crash whose marker is an earlier batch's blames nobody; the first test runs again on a fresh VM", () => {
    const panic: ConsoleCrash = { title: 'kernel BUG at fs/xfs/xfs_inode.c:1812!', type: 'bug', fingerprint: 'b3', excerpt: '', fatal: true, test: 'generic/001', markerSeq: 4 };
    const b = blame({ ...base, failure: { kind: 'crash', crash: panic }, reportTest: 'generic/001', reportMarkedHere: false, finished: new Set() });
    expect(b.blamed).toBeUndefined();
    expect(b.events).toEqual([
      expect.objectContaining({ type: 'machine-lost', message: "kernel BUG at fs/xfs/xfs_inode.c:1812! (during check's start-up, after generic/001 ran in an earlier batch on this VM: its delayed work, or check's own; generic/001 runs again on a fresh VM)" }),
    ]);
    expect(b.requeue.map((i) => [i.test, i.freshVm])).toEqual([
      ['generic/001', true],
      ['generic/002', false],
      ['generic/003', false],
    ]);
    // On the fresh VM no marker came before: the same crash blames the first test.
    expect(blame({ ...base, failure: { kind: 'crash', crash: { ...panic, test: undefined } }, finished: new Set() }).blamed?.item.test).toBe('generic/001');
  });

  it('with every test finished, blames nobody and requeues nothing', () => {
    const failure: VmFailure = { kind: 'transport', message: 'gone' };
    const b = blame({ ...base, failure, finished: new Set(batch.map((i) => `xfs\u0000${i.test}`)) });
    expect(b.events).toEqual([{ type: 'machine-lost', machine: 'vm1', reason: 'transport', message: 'gone', consoleLog: 'console/vm1.log' }]);
    expect(b.blamed).toBeUndefined();
    expect(b.requeue).toEqual([]);
  });
});

describe('outcomeForFailure', () => {
  it('titles a hang by the hung-task report, in one line', () => {
    const o = outcomeForFailure({ kind: 'hang', message: 'generic/002 did not finish within 600 s (test deadline)' }, [hungTask], 'results/generic/002.console');
    expect(o).toMatchObject({ status: 'timedout', message: 'generic/002 did not finish within 600 s (test deadline): INFO: task hung in xfs_ail_push_all_sync', crash: { type: 'hungtask' } });
  });

  it('points at the console instead of pasting it when nothing explains a hang', () => {
    const o = outcomeForFailure({ kind: 'hang', message: 'check made no progress for 600 s outside any test' }, [], 'results/x.console');
    expect(o).toEqual({ status: 'timedout', message: 'check made no progress for 600 s outside any test (console: results/x.console)' });
  });

  it('makes a pvpanic exit without a report a crash, and a SIGKILL an error', () => {
    expect(outcomeForFailure({ kind: 'qemu-exit', exitCode: 1, message: 'qemu exited 1' }, [], 'c').status).toBe('crashed');
    expect(outcomeForFailure({ kind: 'qemu-exit', exitCode: undefined, message: 'qemu was killed by SIGKILL' }, [], 'c').status).toBe('error');
  });
});
