/**
 * What kt warned about before a run began (its plan, the host, the history) is recorded right
 * after run-start, marked beforeRun, so the reports and summary.json keep what the terminal
 * showed; the live progress does not print it a second time (src/runner/run.ts startWarnings).
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { summarizeRun } from '../../src/record/summarize.js';
import { createProgressReporter } from '../../src/reporters/progress.js';
import { createCheckStream, createConsoleWatcher } from '../../src/runner/adapters.js';
import { createGuestSteps } from '../../src/runner/guestSetup.js';
import { executeRun, retriesPolicy } from '../../src/runner/run.js';

const SECTION = { name: 'xfs', fstyp: 'xfs', mkfsOptions: '', mountOptions: '', env: {} };
const WARNING = '-x nosuch: group "nosuch" is empty or not defined for FSTYP=xfs; nothing left out for it';

async function runWith(startWarnings?: string[]) {
  return executeRun({
    runId: 'warnings',
    // Nothing to run: no VM is made, the run starts and ends.
    work: [],
    sections: [{ name: SECTION.name, fstyp: SECTION.fstyp, mkfsOptions: '', mountOptions: '' }],
    jobs: 1,
    header: { kernel: 'k', accel: 'tcg', argv: ['run'], ktVersion: 'test' },
    sink: () => undefined,
    createMachine: () => Promise.reject(new Error('no machine is made for an empty run')),
    guest: createGuestSteps([SECTION], '/fstests'),
    createCheckStream,
    createConsoleWatcher,
    batchSize: () => 1,
    deadlineSec: () => 60,
    retryPolicy: retriesPolicy(0),
    saveArtifact: () => '',
    consoleLogOf: (m) => `console/${m.name}.log`,
    stop: new AbortController().signal,
    ...(startWarnings ? { startWarnings } : {}),
  });
}

describe('warnings said before the run began', () => {
  it('come right after run-start, marked beforeRun, and reach the summary', async () => {
    const { events, status } = await runWith([WARNING, 'second']);
    expect(status).toBe('completed');
    expect(events.map((e) => e.type)).toEqual(['run-start', 'warning', 'warning', 'run-end']);
    expect(events[1]).toMatchObject({ type: 'warning', message: WARNING, beforeRun: true });
    expect(events[1]).not.toHaveProperty('machine');
    const summary = summarizeRun(events);
    expect(summary.warnings.map((w) => [w.message, w.beforeRun])).toEqual([
      [WARNING, true],
      ['second', true],
    ]);
  });

  it('are said once for the CI shards of one run (kt report over their logs)', async () => {
    const shard1 = (await runWith([WARNING])).events;
    const shard2 = (await runWith([WARNING])).events;
    const vmWarning = { type: 'warning' as const, ts: shard1[0]!.ts, machine: 'vm1', message: 'no vmcore of vm1' };
    // A warning of a run itself is news each time it happens.
    const summary = summarizeRun([...shard1, vmWarning, ...shard2, vmWarning]);
    expect(summary.warnings.map((w) => w.message)).toEqual([WARNING, 'no vmcore of vm1', 'no vmcore of vm1']);
  });

  it('adds no event when there were none', async () => {
    const { events } = await runWith();
    expect(events.map((e) => e.type)).toEqual(['run-start', 'run-end']);
  });

  it('are not printed again by the live progress; a warning of the run itself is', async () => {
    const { events } = await runWith([WARNING]);
    const stream = new PassThrough();
    let out = '';
    stream.on('data', (c: Buffer) => (out += c.toString()));
    const progress = createProgressReporter({ stream, tty: false, color: false });
    for (const e of [...events.slice(0, -1), { type: 'warning' as const, ts: events[0]!.ts, machine: 'vm1', message: 'no vmcore of vm1' }, events.at(-1)!]) progress.onEvent(e);
    progress.close();
    expect(out).not.toContain('nosuch');
    expect(out).toContain('[vm1] warning: no vmcore of vm1');
  });
});
