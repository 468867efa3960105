/**
 * Event sequences shaped the way the runner emits them (src/record/events.ts): machine-boot →
 * machine-up → test-begin/test-end pairs; on a crash or hang the running test gets its outcome,
 * then the VM's machine-lost, then a replacement VM boots under a new name; retries run on
 * another VM with attempt 2. Texts (diff, dmesg, panic console) are real fstests output.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RunEvent, RunStartEvent, TestArtifacts } from '../../src/record/events.js';
import type { CrashInfo, TestOutcome } from '../../src/record/outcome.js';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');

export const SYSRQ_CONSOLE = fixture('sysrq-panic-console.txt');
export const SELFTEST_002_DIFF = fixture('selftest-002.diff');
export const SELFTEST_900_DMESG = fixture('selftest-900.dmesg');

/** The crash report src/crash would make of kernel-panic-sysrq/console.log. */
export const SYSRQ_CRASH: CrashInfo = {
  title: 'Kernel panic - not syncing: sysrq triggered crash',
  type: 'panic',
  frame: 'sysrq_handle_crash',
  fingerprint: 'panic-5b1f0c2e9a7d',
  excerpt: SYSRQ_CONSOLE,
};

const BASE_MS = Date.parse('2026-11-21T23:22:27.000Z');

/** ISO time `seconds` after the scenario's start. */
export function at(seconds: number): string {
  return new Date(BASE_MS + Math.round(seconds * 1000)).toISOString();
}

/** Builds one run's events in time order, with the runner's bookkeeping (attempts, durations). */
export class RunScript {
  readonly events: RunEvent[] = [];

  start(fields: Partial<RunStartEvent> & { tests: string[] }, t = 0): this {
    this.events.push({
      type: 'run-start',
      v: 1,
      ts: at(t),
      runId: '20261121-232227-a1b2',
      jobs: 2,
      kernel: '/boot/vmlinuz-6.1.0-56-cloud-amd64',
      accel: 'kvm',
      fstyp: 'xfs',
      section: 'global',
      hostname: 'ci-runner-7',
      argv: ['run', '-g', 'selftest', '-j', '2'],
      ...fields,
    });
    return this;
  }

  boot(machine: string, t: number, bootSeconds = 8): this {
    this.events.push({ type: 'machine-boot', ts: at(t), machine, argv: ['qemu-system-x86_64', '-name', machine] });
    this.events.push({ type: 'machine-up', ts: at(t + bootSeconds), machine, bootMs: bootSeconds * 1000, kernelRelease: '6.1.0-56-cloud-amd64' });
    return this;
  }

  begin(test: string, machine: string, t: number, attempt = 1): this {
    this.events.push({ type: 'test-begin', ts: at(t), test, machine, attempt });
    return this;
  }

  /** test-begin at `t` and test-end `seconds` later. */
  test(
    test: string,
    machine: string,
    t: number,
    seconds: number,
    outcome: TestOutcome,
    extra: { attempt?: number; dmesg?: string; fullTail?: string; artifacts?: TestArtifacts; section?: string } = {},
  ): this {
    const attempt = extra.attempt ?? 1;
    if (extra.section) this.events.push({ type: 'test-begin', ts: at(t), test, section: extra.section, machine, attempt });
    else this.begin(test, machine, t, attempt);
    this.events.push({
      type: 'test-end',
      ts: at(t + seconds),
      test,
      ...(extra.section ? { section: extra.section } : {}),
      machine,
      attempt,
      outcome,
      durationMs: seconds * 1000,
      ...(outcome.status === 'passed' || outcome.status === 'failed' ? { checkSeconds: Math.round(seconds) } : {}),
      artifacts: extra.artifacts ?? {},
      ...(extra.dmesg !== undefined ? { dmesg: extra.dmesg } : {}),
      ...(extra.fullTail !== undefined ? { fullTail: extra.fullTail } : {}),
    });
    return this;
  }

  /** The VM is discarded; `test` is the test the runner blamed (its test-end came first). */
  lost(machine: string, t: number, reason: 'crash' | 'hang' | 'qemu-exit' | 'transport' | 'boot-failure', message: string, crash?: CrashInfo, test?: string): this {
    this.events.push({ type: 'machine-lost', ts: at(t), machine, reason, message, ...(test ? { test } : {}), ...(crash ? { crash } : {}), consoleLog: `console/${machine}.log` });
    return this;
  }

  /** A non-fatal kernel report (a WARNING) on the console while `test` ran. */
  report(machine: string, t: number, test: string, report: CrashInfo): this {
    this.events.push({ type: 'console-report', ts: at(t), machine, test, report });
    return this;
  }

  warning(message: string, t: number, machine?: string): this {
    this.events.push({ type: 'warning', ts: at(t), message, ...(machine ? { machine } : {}) });
    return this;
  }

  end(status: 'completed' | 'interrupted' | 'error', t: number, signal?: 'SIGINT' | 'SIGTERM'): this {
    const start = this.events.find((e) => e.type === 'run-start');
    const wallMs = Date.parse(at(t)) - Date.parse(start?.ts ?? at(0));
    this.events.push({ type: 'run-end', ts: at(t), status, wallMs, ...(signal ? { signal } : {}) });
    return this;
  }

  /** Events in the order the runner appends them (by time; ties keep call order). */
  sorted(): RunEvent[] {
    return this.events
      .map((e, i) => ({ e, i }))
      .sort((a, b) => Date.parse(a.e.ts) - Date.parse(b.e.ts) || a.i - b.i)
      .map(({ e }) => e);
  }
}

export const PLAN = [
  'generic/455',
  'selftest/001',
  'selftest/002',
  'selftest/003',
  'selftest/005',
  'selftest/900',
  'selftest/006',
  'selftest/901',
  'selftest/004',
  'generic/001',
  'generic/002',
  'generic/003',
];

/**
 * Every outcome in one run, interrupted by SIGINT: notrun, pass, output mismatch, a retry that
 * passes (flaky), a sysrq panic (crash + lost VM), a _check_dmesg failure, a hang (timeout + lost
 * VM), a non-zero exit, a transport loss (error), a test still running at SIGINT and one never
 * started.
 */
export function interruptedRun(): RunEvent[] {
  const s = new RunScript().start({ tests: PLAN });
  s.warning('KVM is available but /dev/kvm is not writable by this user; using TCG (tests run ~10x slower)', 0);
  s.boot('vm1', 0.1).boot('vm2', 0.1, 9);
  s.test('generic/455', 'vm1', 8.2, 7, { status: 'notrun', reason: 'This test requires a valid $LOGWRITES_DEV' });
  s.test('selftest/001', 'vm2', 9.2, 5, { status: 'passed' });
  s.test('selftest/005', 'vm2', 14.3, 3.5, { status: 'crashed', message: 'kernel panic while selftest/005 ran on vm2', crash: SYSRQ_CRASH }, {
    artifacts: { console: 'console/vm2.log' },
  });
  s.lost('vm2', 17.9, 'crash', 'kernel panic: Kernel panic - not syncing: sysrq triggered crash', SYSRQ_CRASH, 'selftest/005');
  s.boot('vm3', 18, 8);
  s.test('selftest/002', 'vm1', 15.3, 5, { status: 'failed', message: '- output mismatch (see /job/results/selftest/002.out.bad)', diff: SELFTEST_002_DIFF }, {
    artifacts: { outBad: 'global/selftest/002.out.bad', full: 'global/selftest/002.full' },
    fullTail: 'umount: /dev/vdc: not mounted.\n',
  });
  s.test('selftest/003', 'vm1', 20.4, 5, { status: 'failed', message: "[failed, exit status 1]- output mismatch (see /job/results/selftest/003.out.bad)" }, {
    fullTail: "I have _fail'ed\numount: /dev/vdc: not mounted.\n",
  });
  s.test('selftest/003', 'vm3', 26.1, 4.9, { status: 'passed' }, { attempt: 2 });
  s.test('selftest/900', 'vm1', 25.5, 5, { status: 'failed', message: '_check_dmesg: something found in dmesg (see /job/results/selftest/900.dmesg)' }, {
    dmesg: SELFTEST_900_DMESG,
    artifacts: { dmesg: 'global/selftest/900.dmesg' },
  });
  s.test('selftest/006', 'vm3', 31.1, 120, { status: 'timedout', message: 'no result after 120s (deadline 120s); VM vm3 discarded' });
  s.lost('vm3', 151.2, 'hang', 'selftest/006 exceeded its 120s deadline', undefined, 'selftest/006');
  s.test('selftest/901', 'vm1', 30.6, 5, { status: 'failed', message: '[failed, exit status 3]' });
  s.test('selftest/004', 'vm1', 35.7, 4, { status: 'notrun', reason: 'Always skip me' });
  s.test('generic/001', 'vm1', 39.8, 1.2, { status: 'error', message: 'transport lost: ssh channel closed while generic/001 ran' });
  s.lost('vm1', 41.1, 'transport', 'ssh channel closed', undefined, 'generic/001');
  s.boot('vm4', 41.2, 8);
  s.begin('generic/002', 'vm4', 49.3);
  s.end('interrupted', 170, 'SIGINT');
  return s.sorted();
}

/** One CI shard of a two-shard run: everything passes except a sysrq panic in each shard. */
export function shard(index: 1 | 2): RunEvent[] {
  const tests = index === 1 ? ['generic/001', 'generic/003', 'selftest/005'] : ['generic/002', 'generic/004', 'selftest/005b'];
  const s = new RunScript().start({ tests, shard: `${index}/2`, runId: `20261121-2330${index}0-shard${index}`, hostname: `ci-shard-${index}`, section: 'xfs_reflink' }, index);
  const t0 = index;
  s.boot('vm1', t0 + 0.1);
  s.test(tests[0] as string, 'vm1', t0 + 8.2, 11 * index, { status: 'passed' });
  s.test(tests[1] as string, 'vm1', t0 + 8.3 + 11 * index, 2, { status: 'passed' });
  s.test(tests[2] as string, 'vm1', t0 + 10.4 + 11 * index, 3, { status: 'crashed', message: 'kernel panic', crash: SYSRQ_CRASH });
  s.lost('vm1', t0 + 13.5 + 11 * index, 'crash', 'kernel panic', SYSRQ_CRASH, tests[2]);
  s.end('completed', t0 + 14 + 11 * index);
  return s.sorted();
}

/** A completed run in a second section, to check that sections stay apart. */
export function noreflinkRun(): RunEvent[] {
  const s = new RunScript().start({ tests: ['generic/001', 'selftest/004'], section: 'xfs_noreflink', runId: '20261121-2340-c3d4', jobs: 1 });
  s.boot('vm1', 0.1);
  s.test('generic/001', 'vm1', 8.2, 6, { status: 'passed' });
  s.test('selftest/004', 'vm1', 14.3, 4, { status: 'notrun', reason: 'Always skip me' });
  s.end('completed', 18.5);
  return s.sorted();
}

/** The run before interruptedRun in the same results directory: same plan, other durations. */
export function previousOfInterruptedRun(): RunEvent[] {
  const s = new RunScript().start({ tests: PLAN, runId: '20261121-221500-9f8e' }, -3600);
  s.boot('vm1', -3599.9).boot('vm2', -3599.9, 9);
  s.test('selftest/001', 'vm1', -3591, 12, { status: 'passed' });
  s.test('selftest/002', 'vm2', -3590, 3, { status: 'passed' });
  s.test('selftest/003', 'vm2', -3586, 4.9, { status: 'passed' });
  s.test('selftest/900', 'vm1', -3578, 30, { status: 'passed' });
  s.test('selftest/901', 'vm2', -3580, 5.2, { status: 'failed', message: '[failed, exit status 3]' });
  s.test('generic/002', 'vm2', -3574, 20, { status: 'passed' });
  s.end('completed', -3540);
  return s.sorted();
}
