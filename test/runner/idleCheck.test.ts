/**
 * idleVerdict (src/runner/idleCheck.ts): what the record says of a VM's console while no batch
 * ran on it. The reports are the crash detector's own, read from real consoles (a test module's
 * WARNING from test/crash-corpus, the pvpanic panic sample, whose report only ends at flush).
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createConsoleWatcher } from '../../src/runner/adapters.js';
import { idleVerdict, type IdleInput } from '../../src/runner/idleCheck.js';
import type { ConsoleCrash } from '../../src/runner/ports.js';

function reportsOf(consoleText: string): ConsoleCrash[] {
  const w = createConsoleWatcher();
  return [...w.push(Buffer.from(consoleText)), ...w.flush()];
}
const corpus = (name: string) => {
  const text = fs.readFileSync(new URL(`../crash-corpus/${name}`, import.meta.url), 'utf8');
  return text.slice(text.indexOf('\n\n') + 2);
};
const [warning] = reportsOf(corpus('module-warn-on.log'));
const [panic] = reportsOf(fs.readFileSync(new URL('../fstests/samples/kernel-panic-pvpanic/console.log', import.meta.url), 'utf8').replace(/^ *\d+\.\d+ /gm, ''));

const base: IdleInput = { machine: 'vm1', reports: [], ran: new Map(), transportLost: false, fatalPending: false, context: 'while the VM waited for work', consoleLog: 'console/vm1.log' };

describe('idleVerdict', () => {
  it('the real reports are what the cases below assume', () => {
    expect(warning).toMatchObject({ fatal: false, type: 'warning', test: 'crashmod/warn' });
    expect(panic).toMatchObject({ fatal: true, type: 'panic', test: 'selftest/005' });
  });

  it('records a WARNING for the test it names, with that test\'s section and attempt on this VM, and keeps the VM', () => {
    const ran = new Map([['crashmod/warn', { section: 'xfs/1k', test: 'crashmod/warn', attempt: 2, freshVm: true }]]);
    const v = idleVerdict({ ...base, reports: [warning!], ran });
    expect(v.lost).toBeUndefined();
    expect(v.events).toEqual([{ type: 'console-report', machine: 'vm1', test: 'crashmod/warn', section: 'xfs/1k', attempt: 2, report: expect.objectContaining({ title: 'WARNING in crashmod_warn' }) }]);
  });

  it('a panic explains a QEMU exit: crash, with the report, blaming no test', () => {
    const v = idleVerdict({ ...base, reports: [warning!, panic!], exit: { exitCode: 1, signal: undefined, stderr: '' }, transportLost: true });
    expect(v.events.map((e) => e.type)).toEqual(['console-report', 'machine-lost']);
    expect(v.events[1]).toEqual({
      type: 'machine-lost',
      machine: 'vm1',
      reason: 'crash',
      message: 'kernel panic: sysrq triggered crash (while the VM waited for work)',
      crash: expect.objectContaining({ type: 'panic' }),
      consoleLog: 'console/vm1.log',
    });
    expect(v.lost).toBe('kernel panic: sysrq triggered crash (while the VM waited for work)');
  });

  it('a panic after tests names the last test its report saw run (that test keeps its outcome: no test on machine-lost)', () => {
    const ran = new Map([['selftest/005', { section: 'xfs', test: 'selftest/005', attempt: 1, freshVm: false }]]);
    const v = idleVerdict({ ...base, context: 'after its last batch', reports: [panic!], ran });
    expect(v.lost).toBe('kernel panic: sysrq triggered crash (after its last batch; the last test it ran: selftest/005)');
    expect(v.events[0]).not.toHaveProperty('test');
    // A marker of a test this VM did not run (a spare's console never shows one; a guest's own
    // replay would) names nothing.
    expect(idleVerdict({ ...base, reports: [panic!] }).lost).toBe('kernel panic: sysrq triggered crash (while the VM waited for work)');
  });

  it('without a report: a failed set-up step says its own error, else the exit, else the channel', () => {
    const exit = { exitCode: undefined, signal: 'SIGKILL', stderr: '' };
    expect(idleVerdict({ ...base, failed: 'vm1 was lost while making TEST_DEV for section xfs', exit }).events).toEqual([
      expect.objectContaining({ reason: 'boot-failure', message: 'vm1 was lost while making TEST_DEV for section xfs' }),
    ]);
    expect(idleVerdict({ ...base, exit, transportLost: true }).events).toEqual([expect.objectContaining({ reason: 'qemu-exit', message: 'qemu was killed by SIGKILL (while the VM waited for work)' })]);
    expect(idleVerdict({ ...base, transportLost: true }).events).toEqual([expect.objectContaining({ reason: 'transport' })]);
  });

  it('a panic report that began and never ended still means the VM is gone', () => {
    const v = idleVerdict({ ...base, fatalPending: true });
    expect(v.events).toEqual([expect.objectContaining({ type: 'machine-lost', reason: 'crash' })]);
    expect(v.events[0]).not.toHaveProperty('crash');
  });
});
