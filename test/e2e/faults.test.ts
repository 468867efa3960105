/**
 * The fault matrix (README "When the kernel crashes or hangs"), each row a real run in real TCG guests with the fixture tree:
 * the faulty test gets the right outcome and title, every other test ran, JUnit validates,
 * no qemu and no VM temp files are left, and the exit code is right.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveCacheDir } from '../../src/vm/image/cacheDir.js';
import { ensureImage } from '../../src/vm/image/ensureImage.js';
import {
  e2eTempDir,
  finished,
  fixtureTree,
  ktEnv,
  ktTempDirs,
  ktTmpDir,
  lastEnd,
  outcomes,
  qemuOf,
  readEvents,
  runIdOf,
  runKt,
  startKt,
  validateJunit,
  waitForEvent,
  type KtRun,
} from './harness.js';

let tree: string;
beforeAll(async () => {
  tree = await fixtureTree();
}, 120_000);

/** What every row asserts besides its own outcome. */
async function expectCleanRun(run: KtRun, exitCode: number): Promise<void> {
  expect(run.stderr).not.toMatch(/internal error/);
  expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(exitCode);
  const v = await validateJunit(path.join(run.runDir, 'junit.xml'));
  expect(v.ok, v.output).toBe(true);
  expect(await qemuOf(runIdOf(run.runDir))).toEqual([]);
  expect(ktTempDirs()).toEqual([]);
}

describe('fault: guest kernel panic (sysrq-c) in the middle of a batch', () => {
  it('marks selftest/005 crashed with the panic title and runs the rest on a new VM', async () => {
    // Planned in check's order: selftest/001 002 004 005, then xfs/001 after the crash.
    const run = await runKt(['-j', '1', '--fstests', tree, 'selftest/001', 'selftest/005', 'selftest/002', 'selftest/004', 'xfs/001']);
    await expectCleanRun(run, 1);
    expect(outcomes(run.runDir)).toEqual({
      'selftest/001': 'passed',
      'selftest/005': 'crashed',
      'selftest/002': 'failed',
      'selftest/004': 'notrun',
      'xfs/001': 'passed',
    });
    const crash = lastEnd(run.runDir, 'selftest/005').outcome!.crash!;
    expect(crash.title).toBe('kernel panic: sysrq triggered crash');
    expect(crash.type).toBe('panic');
    const events = readEvents(run.runDir);
    expect(events.filter((e) => e.type === 'machine-up')).toHaveLength(2);
    expect(events.find((e) => e.type === 'machine-lost')).toMatchObject({ reason: 'crash', test: 'selftest/005' });
    expect(fs.readFileSync(path.join(run.runDir, 'results/selftest/005.console'), 'utf8')).toContain('Kernel panic - not syncing: sysrq triggered crash');
    expect(fs.readFileSync(path.join(run.runDir, 'junit.xml'), 'utf8')).toContain('sysrq triggered crash');
  });
});

/**
 * selftest/906 then xfs/001 at -j 1 with `--batch B`: selftest/906 passes and sets off a panic
 * once check, having printed "xfs/001", reads check.time (the fixture's README), so the report's
 * last marker is selftest/906's. Nobody is blamed (exit 1: a kernel crash no test's outcome
 * carries) and xfs/001 runs on the replacement; returns the run, its events and machine-lost's message.
 */
async function panicBeforeMarker(batch: number) {
  const run = await runKt(['-j', '1', '--batch', String(batch), '--fstests', tree, 'selftest/906', 'xfs/001']);
  await expectCleanRun(run, 1);
  expect(outcomes(run.runDir)).toEqual({ 'selftest/906': 'passed', 'xfs/001': 'passed' });
  const events = readEvents(run.runDir);
  const lost = events.find((e) => e.type === 'machine-lost');
  expect(lost).toMatchObject({ machine: expect.stringMatching(/vm1$/), reason: 'crash', crash: { title: 'kernel panic: sysrq triggered crash' } });
  expect(lost).not.toHaveProperty('test');
  expect(events.filter((e) => e.type === 'test-end' && e.test === 'xfs/001').map((e) => e.type === 'test-end' && String(e.machine).replace(/.*-/, ''))).toEqual(['vm2']);
  return { run, events, message: lost?.type === 'machine-lost' ? lost.message : '' };
}

describe("fault: a panic after check named a test and before that test's marker", () => {
  it('blames nobody, keeps the earlier result, and runs the named test again alone on a fresh VM', async () => {
    const { run, events, message } = await panicBeforeMarker(2);
    expect(message).toContain("(after selftest/906's result, before xfs/001 began its work");
    // xfs/001 began on vm1 with no end there, then ran on the replacement, as attempt 1.
    const begins = events.flatMap((e) => (e.type === 'test-begin' && e.test === 'xfs/001' ? [`${String(e.machine).replace(/.*-/, '')} ${e.attempt}`] : []));
    expect(begins).toEqual(['vm1 1', 'vm2 1']);
    const summary = JSON.parse(fs.readFileSync(path.join(run.runDir, 'summary.json'), 'utf8'));
    expect(summary.crashes).toEqual([expect.objectContaining({ tests: [], machines: [expect.stringMatching(/vm1$/)] })]);
    expect(run.stderr).toContain('started again: its start on');
  });

  it("in the next batch's check on the same VM: the marker is an earlier batch's, so nobody is blamed either", async () => {
    // --batch 1: selftest/906 is a batch of its own; the next check on its VM names xfs/001 and
    // opens check.time.
    const { message } = await panicBeforeMarker(1);
    expect(message).toContain('after selftest/906 ran in an earlier batch on this VM');
  });
});

describe('fault: a test that hangs', () => {
  it('times it out at --test-timeout, dumps blocked tasks, and runs the rest', async () => {
    const run = await runKt(['-j', '1', '--test-timeout', '40', '--fstests', tree, 'selftest/006', 'selftest/001']);
    await expectCleanRun(run, 1);
    expect(outcomes(run.runDir)).toEqual({ 'selftest/006': 'timedout', 'selftest/001': 'passed' });
    expect(lastEnd(run.runDir, 'selftest/006').outcome!.message).toContain('did not finish within 40 s');
    // sysrq-w reached the guest kernel before the VM was discarded.
    expect(fs.readFileSync(path.join(run.runDir, 'results/selftest/006.console'), 'utf8')).toMatch(/sysrq: Show Blocked State/);
  });
});

describe('fault: a hung task in the kernel', () => {
  it('reports the hung-task detector title on the timed-out test', async () => {
    const run = await runKt(['-j', '1', '--test-timeout', '60', '--fstests', tree, 'selftest/904', 'selftest/001']);
    await expectCleanRun(run, 1);
    expect(outcomes(run.runDir)).toEqual({ 'selftest/904': 'timedout', 'selftest/001': 'passed' });
    const end = lastEnd(run.runDir, 'selftest/904');
    expect(end.outcome!.crash?.type).toBe('hungtask');
    expect(end.outcome!.message).toMatch(/INFO: task hung in/);
  });
});

describe('fault: the guest powers off mid-test', () => {
  it('records an error for that test and goes on', async () => {
    const run = await runKt(['-j', '1', '--fstests', tree, 'selftest/902', 'selftest/001']);
    await expectCleanRun(run, 1);
    expect(outcomes(run.runDir)).toEqual({ 'selftest/902': 'error', 'selftest/001': 'passed' });
    expect(lastEnd(run.runDir, 'selftest/902').outcome!.message).toMatch(/powered off/);
  });
});

describe('fault: the transport connection drops', () => {
  it('records an error for that test and goes on', async () => {
    const run = await runKt(['-j', '1', '--fstests', tree, 'selftest/903', 'selftest/001']);
    await expectCleanRun(run, 1);
    expect(outcomes(run.runDir)).toEqual({ 'selftest/903': 'error', 'selftest/001': 'passed' });
    expect(lastEnd(run.runDir, 'selftest/903').outcome!.message).toMatch(/ssh connection to the guest dropped|connection/);
  });
});

describe('fault: qemu killed with SIGKILL from outside', () => {
  it('records an error for the running test and replaces the VM', async () => {
    const resultsDir = e2eTempDir('results');
    const child = startKt(['-j', '1', '--fstests', tree, 'generic/003', 'generic/001'], resultsDir);
    const begin = await waitForEvent(resultsDir, (e) => e.type === 'test-begin' && e.test === 'generic/003', 300_000);
    expect(begin).toBeDefined();
    const runDir = fs.realpathSync(path.join(resultsDir, 'latest'));
    const pids = await qemuOf(runIdOf(runDir));
    expect(pids).toHaveLength(1);
    process.kill(Number(pids[0]), 'SIGKILL');
    const run = finished(await child, resultsDir);
    await expectCleanRun(run, 1);
    expect(outcomes(run.runDir)).toEqual({ 'generic/003': 'error', 'generic/001': 'passed' });
    expect(lastEnd(run.runDir, 'generic/003').outcome!.message).toMatch(/killed by SIGKILL/);
  });
});

describe('interrupt: kt gets SIGINT, then SIGTERM in another run', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal}: stops VMs, writes every report for what ran, exits ${code}`, async () => {
      const resultsDir = e2eTempDir('results');
      // Planned order: selftest/001, selftest/006 (hangs), xfs/001 (never starts).
      const child = startKt(['-j', '1', '--fstests', tree, 'selftest/001', 'selftest/006', 'xfs/001'], resultsDir);
      await waitForEvent(resultsDir, (e) => e.type === 'test-begin' && e.test === 'selftest/006', 300_000);
      child.kill(signal);
      const run = finished(await child, resultsDir);
      await expectCleanRun(run, code);
      expect(outcomes(run.runDir)).toEqual({ 'selftest/001': 'passed' });
      const end = readEvents(run.runDir).at(-1)!;
      expect(end).toMatchObject({ type: 'run-end', status: 'interrupted', signal });
      // The hung test and the one never started are in JUnit as not executed.
      const xml = fs.readFileSync(path.join(run.runDir, 'junit.xml'), 'utf8');
      expect(xml).toContain('name="selftest/006"');
      expect(xml).toContain('name="xfs/001"');
    });
  }
});

describe('kill: kt ended by SIGKILL', () => {
  it('leaves its temp dir with its VM disks, and the next kt removes it', async () => {
    const resultsDir = e2eTempDir('results');
    // selftest/006 hangs: the run is surely in the middle of a test when it is killed.
    const child = startKt(['-j', '1', '--fstests', tree, 'selftest/006'], resultsDir);
    await waitForEvent(resultsDir, (e) => e.type === 'test-begin' && e.test === 'selftest/006', 300_000);
    child.kill('SIGKILL');
    const killed = finished(await child, resultsDir);
    // Its QEMU dies with it (setpriv --pdeathsig, src/vm/parentDeath.ts); give the kernel a moment.
    for (let i = 0; i < 50 && (await qemuOf(runIdOf(killed.runDir))).length > 0; i++) await new Promise((r) => setTimeout(r, 200));
    expect(await qemuOf(runIdOf(killed.runDir))).toEqual([]);
    const left = ktTempDirs();
    expect(left).toHaveLength(1);
    expect(fs.existsSync(path.join(ktTmpDir(), left[0]!, 'vm1', 'test.img'))).toBe(true);

    const next = await runKt(['-j', '1', '--fstests', tree, 'selftest/001']);
    await expectCleanRun(next, 0);
  });
});

describe('flaky: --retries reruns a failed test on a fresh VM', () => {
  it('reports fail-then-pass as flaky, and the run as passing', async () => {
    const run = await runKt(['-j', '1', '--retries', '1', '--fstests', tree, 'selftest/905']);
    await expectCleanRun(run, 0);
    const ends = readEvents(run.runDir).filter((e) => e.type === 'test-end');
    expect(ends.map((e) => [e.attempt, e.outcome!.status, e.machine])).toEqual([
      [1, 'failed', 'vm1'],
      [2, 'passed', 'vm2'],
    ]);
    expect(fs.readFileSync(path.join(run.runDir, 'junit.xml'), 'utf8')).toContain('<flakyFailure');
  });
});

describe('two kt runs at once on one host', () => {
  it('do not collide: both finish with their own VMs, sockets and results', async () => {
    const dirs = [0, 1].map(() => e2eTempDir('results'));
    const children = dirs.map((d) => startKt(['-j', '1', '--fstests', tree, 'selftest/001', 'generic/001'], d));
    const runs = (await Promise.all(children)).map((r, i) => finished(r, dirs[i]!));
    for (const run of runs) {
      await expectCleanRun(run, 0);
      expect(outcomes(run.runDir)).toEqual({ 'selftest/001': 'passed', 'generic/001': 'passed' });
    }
    expect(runIdOf(runs[0]!.runDir)).not.toBe(runIdOf(runs[1]!.runDir));
  });
});

describe('results directory on a full disk', () => {
  const root = process.getuid?.() === 0;
  it.skipIf(!root)('stops with E_RESULTS_WRITE (exit 3) and keeps the events written so far', async () => {
    const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-e2e-full-'));
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', mnt]);
    try {
      const r = await startKt(['-j', '1', '--fstests', tree, 'selftest/001', 'selftest/002', 'generic/001'], mnt);
      const run = finished(r, mnt);
      expect(run.exitCode, run.stderr).toBe(3);
      expect(run.stderr).toContain('E_RESULTS_WRITE');
      expect(run.stderr).toContain('ENOSPC');
      // Every line that made it to disk is a whole JSON event.
      const lines = fs.readFileSync(path.join(run.runDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean);
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
      expect(await qemuOf(runIdOf(run.runDir))).toEqual([]);
      expect(ktTempDirs()).toEqual([]);
    } finally {
      await execa('umount', [mnt]);
      fs.rmSync(mnt, { recursive: true, force: true });
    }
  });
});

describe('a guest with no way in', () => {
  it('fails the boot at once with the reason instead of waiting out the boot timeout', async () => {
    // A QEMU that drops the virtio-serial port kt.ssh from kt's argv: the guest's virtio console
    // device is there and bound, its port never appears, and the VM has no NIC either.
    const bin = e2eTempDir('qemu-no-port');
    const real = (await execa('sh', ['-c', 'command -v qemu-system-x86_64'])).stdout.trim();
    fs.writeFileSync(
      path.join(bin, 'qemu-system-x86_64'),
      `#!/bin/bash\nargs=()\nwhile [ $# -gt 0 ]; do\n  if [ "$1" = -device ] && [[ "$2" == *name=kt.ssh* ]]; then shift 2; continue; fi\n  args+=("$1"); shift\ndone\nexec ${real} "\${args[@]}"\n`,
      { mode: 0o755 },
    );
    const resultsDir = e2eTempDir('results');
    const r = await execa('node', [path.join(process.cwd(), 'bin/kt.js'), 'run', '--accel', 'tcg', '--results', resultsDir, '--fstests', tree, 'selftest/001'], {
      reject: false,
      env: { ...ktEnv(), PATH: `${bin}:${process.env.PATH ?? ''}` },
    });
    const run = finished(r, resultsDir);
    expect(run.exitCode, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/E_BOOT_NO_CHANNEL/);
    expect(run.stderr).toMatch(/kt-init: error: no virtio-serial port named kt.ssh and no NIC/);
    expect(run.stderr).not.toMatch(/E_BOOT_TIMEOUT|handshake timed out/);
    expect(await qemuOf(runIdOf(run.runDir))).toEqual([]);
    expect(ktTempDirs()).toEqual([]);
  });
});

describe('a corrupt guest image', () => {
  it('fails the boot three times and exits 3 with the console tail', async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-e2e-cache-'));
    // The image of the current recipe (a cache may hold older ones, which kt would not pick).
    const real = await ensureImage({ cacheDir: resolveCacheDir(process.env) });
    const dir = path.join(cache, 'images', path.basename(real.dir));
    fs.mkdirSync(dir, { recursive: true });
    for (const f of ['vmlinuz', 'initramfs.cpio.gz', 'manifest.json']) fs.copyFileSync(path.join(real.dir, f), path.join(dir, f));
    // A root image of zeros: no filesystem for the initramfs to mount.
    fs.writeFileSync(path.join(dir, 'root.img'), Buffer.alloc(16 * 2 ** 20));
    try {
      const resultsDir = e2eTempDir('results');
      const r = await execa('node', [path.join(process.cwd(), 'bin/kt.js'), 'run', '--accel', 'tcg', '--results', resultsDir, '--fstests', tree, 'selftest/001'], {
        reject: false,
        env: { ...ktEnv(), KT_CACHE_DIR: cache },
      });
      const run = finished(r, resultsDir);
      expect(run.exitCode, run.stderr).toBe(3);
      expect(run.stderr).toMatch(/E_BOOT_INITRAMFS/);
      expect(run.stderr).toMatch(/kt-initramfs: error/);
      expect(readEvents(run.runDir).filter((e) => e.type === 'machine-lost')).toHaveLength(3);
      expect(await qemuOf(runIdOf(run.runDir))).toEqual([]);
      expect(ktTempDirs()).toEqual([]);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});

describe('--vmcore on a guest panic', () => {
  it('takes an ELF memory dump of the panicked guest into the run directory', async () => {
    const run = await runKt(['-j', '1', '--vmcore', '--memory', '512', '--fstests', tree, 'selftest/005', 'xfs/001']);
    await expectCleanRun(run, 1);
    expect(outcomes(run.runDir)).toEqual({ 'selftest/005': 'crashed', 'xfs/001': 'passed' });
    const lost = readEvents(run.runDir).find((e) => e.type === 'machine-lost')!;
    expect(lost.vmcore).toBe('vmcore/vm1.elf');
    const file = path.join(run.runDir, 'vmcore/vm1.elf');
    const head = Buffer.alloc(64);
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, head, 0, 64, 0);
    fs.closeSync(fd);
    // An ELF core file: "\x7fELF", 64-bit, e_type ET_CORE (4) (elf(5)).
    expect(head.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(head[4]).toBe(2);
    expect(head.readUInt16LE(16)).toBe(4);
    // All of the guest's 512 MiB of memory is in it.
    expect(fs.statSync(file).size).toBeGreaterThan(512 * 2 ** 20);
  });
});
