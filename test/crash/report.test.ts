import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { dedupeCrashes } from '../../src/crash/dedupe.js';
import { detectCrashes } from '../../src/crash/detector.js';
import { fingerprintCrash, makeSyntheticReport, type CrashReport } from '../../src/crash/report.js';

describe('makeSyntheticReport', () => {
  it('makes a fatal "no output" report with the last console lines', () => {
    const report = makeSyntheticReport('no-output', {
      test: 'selftest/006',
      seconds: 120,
      lastLines: ['selftest/006       [   45.115649] run fstests selftest/006 at 2026-11-21 23:28:19'],
    });
    expect(report).toEqual({
      title: 'no output from test machine',
      type: 'no-output',
      fingerprint: fingerprintCrash('no-output', 'no output from test machine'),
      excerpt:
        'no console output for 120s while selftest/006 ran\nlast console lines:\n' +
        'selftest/006       [   45.115649] run fstests selftest/006 at 2026-11-21 23:28:19',
      fatal: true,
      test: 'selftest/006',
      startLine: 0,
      endLine: 0,
      pattern: 'no-output',
    });
  });

  it('makes a "lost connection" report', () => {
    const report = makeSyntheticReport('lost-connection', { message: 'qemu exited with status 1' });
    expect(report).toMatchObject({
      title: 'lost connection to test machine',
      type: 'lost-connection',
      excerpt: 'lost connection to the VM: qemu exited with status 1',
      fatal: true,
    });
    expect(report.test).toBeUndefined();
  });
});

describe('dedupeCrashes', () => {
  // The real WARNING of module-warn-on.log, as two tests on two VMs would see it.
  const warnConsole = readFileSync(fileURLToPath(new URL('../crash-corpus/module-warn-on.log', import.meta.url)));
  const [realWarning] = detectCrashes(warnConsole.subarray(warnConsole.indexOf('\n\n') + 2));
  const warning = (test: string): CrashReport => ({ ...realWarning!, test });

  it('groups by fingerprint with counts, tests and machines, in order of first sighting', () => {
    const panic = makeSyntheticReport('no-output', { test: 'generic/475' });
    const groups = dedupeCrashes([
      { ...warning('generic/001'), machine: 'vm1' },
      { ...panic, machine: 'vm2' },
      { ...warning('generic/002'), machine: 'vm2' },
      { ...warning('generic/001'), machine: 'vm1' },
    ]);
    expect(groups.map(({ title, count, tests, machines, fatal }) => ({ title, count, tests, machines, fatal }))).toEqual([
      { title: 'WARNING in crashmod_warn', count: 3, tests: ['generic/001', 'generic/002'], machines: ['vm1', 'vm2'], fatal: false },
      { title: 'no output from test machine', count: 1, tests: ['generic/475'], machines: ['vm2'], fatal: true },
    ]);
    expect(groups[0]?.frame).toBe('crashmod_warn');
    expect(groups[0]?.first.test).toBe('generic/001');
  });

  it('never merges a corrupted report with another one, even with the same title', () => {
    // the same WARNING with its console cut before the call trace, on two VMs
    const text = warnConsole.subarray(warnConsole.indexOf('\n\n') + 2).toString('utf8');
    const cut = text.slice(0, text.indexOf('Call Trace:') + 'Call Trace:'.length);
    const [first] = detectCrashes(cut);
    const [second] = detectCrashes(cut.replace(/\bPID: \d+/g, 'PID: 4242'));
    expect(first).toMatchObject({ title: 'WARNING in crashmod_warn', corrupted: true });
    expect(second).toMatchObject({ title: 'WARNING in crashmod_warn', corrupted: true });
    expect(first?.fingerprint).not.toBe(second?.fingerprint);
    expect(first?.fingerprint).not.toBe(realWarning?.fingerprint);
    const groups = dedupeCrashes([
      { ...realWarning!, machine: 'vm1' },
      { ...first!, machine: 'vm1' },
      { ...second!, machine: 'vm2' },
      { ...first!, machine: 'vm1' },
      { ...realWarning!, machine: 'vm2' },
    ]);
    expect(groups.map(({ title, count, corrupted }) => ({ title, count, corrupted }))).toEqual([
      { title: 'WARNING in crashmod_warn', count: 2, corrupted: undefined },
      { title: 'WARNING in crashmod_warn', count: 1, corrupted: true },
      { title: 'WARNING in crashmod_warn', count: 1, corrupted: true },
      { title: 'WARNING in crashmod_warn', count: 1, corrupted: true },
    ]);
  });
});
