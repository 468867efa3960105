/**
 * The fixture tree's `check`, run for real on this host: two loop devices as TEST_DEV and
 * SCRATCH_DEV, xfs, a local.config from renderLocalConfig. Its stdout is compared line by line
 * with the real fstests samples (after masking paths, devices, times), and parsed with
 * CheckOutputParser, live for the interrupt case.
 *
 * Needs root, losetup, mkfs.xfs, make and cc; skipped with the reason otherwise. selftest/005
 * (kernel crash) and 006 (hang) are never run here; the config also sets
 * KT_FIXTURE_NO_DANGEROUS=yes so they would refuse.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CheckEvent } from '../../src/fstests/checkEvents.js';
import { CheckOutputParser, parseCheckOutput } from '../../src/fstests/checkOutputParser.js';
import { renderLocalConfig } from '../../src/fstests/localConfig.js';
import { planTests } from '../../src/fstests/planTests.js';
import { loadTestTree } from '../../src/fstests/testTree.js';
import { buildFixtureTree, buildToolsMissing, copyFixtureTree } from './fixtureHelpers.js';
import { readSample } from './helpers.js';

function hostSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (check must run as root and needs loop devices)';
  if (!fs.existsSync('/dev/loop-control')) return 'no /dev/loop-control (no loop device support here)';
  for (const [tool, arg] of [
    ['losetup', '--version'],
    ['mkfs.xfs', '-V'],
    ['findmnt', '--version'],
  ] as const) {
    if (spawnSync(tool, [arg], { stdio: 'ignore' }).status !== 0) return `${tool} is not available`;
  }
  return buildToolsMissing();
}

const skipReason = hostSkipReason();

/** Runs a command, returning trimmed stdout; throws with stderr on failure. */
function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Masks what differs between our host run and the samples' guest runs. */
function normalize(text: string, subs: Array<[string | RegExp, string]>): string[] {
  let t = text.replace(/\r\n/g, '\n');
  // Longest first, so /dev/loop1 cannot eat the start of /dev/loop10.
  const ordered = [...subs].sort((a, b) => String(b[0]).length - String(a[0]).length);
  for (const [from, to] of ordered) t = typeof from === 'string' ? t.split(from).join(to) : t.replace(from, to);
  return t
    .replace(/\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ [+-]\d{4}/g, '\t<mtime>') // diff -u headers
    .replace(/\[\d\d:\d\d:\d\d\]/g, '[T]') // -T stamps
    .replace(/ \d+s \.\.\. /g, ' Ns ... ') // previous time from check.time
    .replace(/ \d+s$/gm, ' Ns') // pass time
    .replace(/^PLATFORM {6}-- .*$/m, 'PLATFORM      -- <platform>')
    .split('\n')
    .filter((l) => !l.startsWith('=== ') && !l.startsWith('Xunit report: '));
}

describe.skipIf(skipReason !== undefined)(
  `fixture check on loop devices${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let work = '';
    let tree = '';
    let results = '';
    const loops: string[] = [];
    let testDev = '';
    let scratchDev = '';
    let testDir = '';
    let scratchMnt = '';

    /** The sample runs' names for our devices, paths and tests. */
    const ours = (): Array<[string | RegExp, string]> => [
      [results, '<R>'],
      [tree, '<HERE>'],
      [scratchMnt, '<SMNT>'],
      [testDev, '<TDEV>'],
      [scratchDev, '<SDEV>'],
    ];
    const sample = (resultDir: string): Array<[string | RegExp, string]> => [
      [resultDir, '<R>'],
      ['/var/lib/xfstests', '<HERE>'],
      ['/mnt/scratch', '<SMNT>'],
      ['/dev/vdb', '<TDEV>'],
      ['/dev/vdc', '<SDEV>'],
      // Run A used the real generic/455; the fixture's log-writes test is generic/004.
      ['generic/455', 'generic/004'],
    ];

    const check = (args: string[], config = 'local.config') =>
      execa('./check', args, {
        cwd: tree,
        reject: false,
        stripFinalNewline: false,
        env: { HOST_OPTIONS: config },
        timeout: 120_000,
      });

    beforeAll(() => {
      tree = copyFixtureTree('kt-fixture-check-');
      work = path.dirname(tree);
      buildFixtureTree(tree);
      results = path.join(work, 'results');
      testDir = path.join(work, 'mnt/test');
      scratchMnt = path.join(work, 'mnt/scratch');
      fs.mkdirSync(testDir, { recursive: true });
      fs.mkdirSync(scratchMnt, { recursive: true });
      for (const name of ['test.img', 'scratch.img']) {
        const img = path.join(work, name);
        fs.writeFileSync(img, '');
        fs.truncateSync(img, 1024 ** 3);
        loops.push(run('losetup', ['-f', '--show', img]));
      }
      [testDev = '', scratchDev = ''] = loops;
      run('mkfs.xfs', ['-q', '-f', testDev]);
      const config = (resultBase: string) =>
        renderLocalConfig({
          fstyp: 'xfs',
          testDev,
          testDir,
          scratchDev,
          scratchMnt,
          resultBase,
          extra: { KT_FIXTURE_NO_DANGEROUS: 'yes' },
        });
      fs.writeFileSync(path.join(tree, 'local.config'), config(results));
      fs.writeFileSync(path.join(tree, 'dump.config'), config(path.join(work, 'results-d')));
    }, 60_000);

    afterAll(() => {
      // Always: unmount what check mounted, detach our loops, remove the scratch dir.
      for (const mnt of [testDir, scratchMnt]) {
        if (mnt && spawnSync('findmnt', ['--mountpoint', mnt], { stdio: 'ignore' }).status === 0) {
          spawnSync('umount', [mnt]);
        }
      }
      for (const dev of loops) spawnSync('losetup', ['-d', dev]);
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    test('like run A: pass, mismatch, _fail, notrun, expunged, dmesg WARNING, exit status 3', async () => {
      const r = await check(['-e', 'selftest/007', '-g', 'selftest/selftest', 'generic/004']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toBe('');
      // Line by line against the real sample, with paths, devices and times masked.
      const expected = normalize(readSample('selftests-fail-notrun-dmesg-expunge', 'check-stdout.txt'), sample('/job/results'));
      expect(normalize(r.stdout, ours())).toEqual(expected);

      // The parser sees the same outcomes as in the sample's golden.
      const outcomes = (events: CheckEvent[]) =>
        events.flatMap((e) => (e.type === 'test-result' ? [[e.test, e.outcome.status, e.exitStatus ?? null]] : []));
      expect(outcomes(parseCheckOutput(r.stdout).events)).toEqual([
        ['generic/004', 'notrun', null],
        ['selftest/001', 'passed', null],
        ['selftest/002', 'failed', null],
        ['selftest/003', 'failed', 1],
        ['selftest/004', 'notrun', null],
        ['selftest/007', 'notrun', null],
        ['selftest/900', 'failed', null],
        ['selftest/901', 'failed', 3],
      ]);

      // Result files as fstests writes them (docs/fstests.md §3).
      const read = (f: string) => fs.readFileSync(path.join(results, f), 'utf8');
      expect(read('selftest/002.out.bad')).toBe('QA output created by 002\nI am intentionally broken\n');
      expect(read('selftest/003.full')).toBe("I have _fail'ed\n");
      expect(read('selftest/004.notrun')).toBe('Always skip me\n');
      expect(read('generic/004.notrun')).toBe('This test requires a valid $LOGWRITES_DEV\n');
      const dmesg = read('selftest/900.dmesg').split('\n');
      expect(dmesg[0]).toMatch(/^\[ *\d+\.\d+\] run fstests selftest\/900 at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(dmesg.some((l) => l.endsWith('] WARNING: CPU: 0 PID: 1 at fs/fake.c:42 fake_warning+0x0/0x10 [injected by selftest/900]'))).toBe(true);
      expect(fs.existsSync(path.join(results, 'selftest/001.dmesg'))).toBe(false);
      expect(read('check.time')).toMatch(/^selftest\/001 \d+\n$/);
      expect(read('check.log').split('\n').slice(3)).toEqual([
        'Ran: generic/004 selftest/001 selftest/002 selftest/003 selftest/004 selftest/900 selftest/901',
        'Not run: generic/004 selftest/004',
        'Failures: selftest/002 selftest/003 selftest/900 selftest/901',
        'Failed 4 of 7 tests',
        '',
      ]);
    }, 120_000);

    test('like run B: -T timestamps, previous time from check.time, -T not-run form', async () => {
      const r = await check(['-T', 'selftest/001', 'selftest/002', 'selftest/004']);
      expect(r.exitCode).toBe(1);
      // Section xfs_noreflink of run B, without its -L rerun lines (the fixture has no -L).
      const b = normalize(readSample('two-sections-timestamps-loop', 'check-stdout.txt'), sample('/job/results/xfs_noreflink'));
      const from = b.findIndex((l) => l.startsWith('selftest/001 Ns ... '));
      const section = b.slice(from, b.indexOf('Failed 1 of 3 tests', from) + 1);
      const rerun = section.findIndex((l, i) => i > 1 && l.startsWith('selftest/002 '));
      const aggregate = section.findIndex((l) => l.includes('aggregate results'));
      section.splice(rerun, aggregate - rerun + 1);
      const got = normalize(r.stdout, ours());
      expect(got.slice(got.indexOf('') + 1)).toEqual([...section, '', '']);
      const events = parseCheckOutput(r.stdout).events;
      expect(events.find((e) => e.type === 'test-result')).toMatchObject({ test: 'selftest/001', previousSeconds: expect.any(Number) });
      expect(events.filter((e) => e.type === 'test-result').map((e) => [e.test, e.outcome])).toEqual([
        ['selftest/001', { status: 'passed' }],
        ['selftest/002', expect.objectContaining({ status: 'failed' })],
        ['selftest/004', { status: 'notrun', reason: 'Always skip me' }],
      ]);
    }, 120_000);

    test('like run C: -d streams the test output between name and outcome', async () => {
      const r = await check(['-d', 'selftest/001', 'selftest/004'], 'dump.config');
      expect(r.exitCode).toBe(0);
      const c = normalize(readSample('kernel-panic-sysrq', 'check-stdout.txt'), sample('/job/results'));
      const tests = c.slice(c.indexOf('') + 1, c.findIndex((l) => l.startsWith('selftest/005')));
      const got = normalize(r.stdout, [...ours(), [path.join(work, 'results-d'), '<R>']]);
      expect(got.slice(got.indexOf('') + 1)).toEqual([...tests, 'Ran: selftest/001 selftest/004', 'Not run: selftest/004', 'Passed all 2 tests', '', '']);
    }, 120_000);

    test('generic tests really use TEST_DIR/SCRATCH_DEV and take about 1, 3 and 6 s', async () => {
      const r = await check(['-g', 'auto']);
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
      const results = parseCheckOutput(r.stdout).events.filter((e) => e.type === 'test-result');
      const byTest = new Map(results.map((e) => [e.test, e]));
      expect([...byTest.keys()]).toEqual(['generic/001', 'generic/002', 'generic/003', 'generic/004', 'xfs/001']);
      expect(byTest.get('generic/001')?.seconds).toBeGreaterThanOrEqual(1);
      expect(byTest.get('generic/002')?.seconds).toBeGreaterThanOrEqual(3);
      expect(byTest.get('generic/003')?.seconds).toBeGreaterThanOrEqual(6);
      expect(byTest.get('generic/004')?.outcome).toEqual({ status: 'notrun', reason: 'This test requires a valid $LOGWRITES_DEV' });
      expect(byTest.get('xfs/001')?.outcome).toEqual({ status: 'passed' });
      expect(r.stdout).toMatch(/\nRan: generic\/001 generic\/002 generic\/003 generic\/004 xfs\/001\nNot run: generic\/004\nPassed all 5 tests\n\n$/);
    }, 120_000);

    test("check -n lists what kt's planner computes for the same -g/-x/-e", async () => {
      const r = await check(['-n', '-g', 'auto,selftest/selftest', '-x', 'stress', '-e', 'generic/002,selftest/900']);
      expect(r.exitCode).toBe(0);
      const events = parseCheckOutput(r.stdout).events;
      const listed = events.flatMap((e) => (e.type === 'test-start' ? [e.test] : []));
      const expunged = events.flatMap((e) => (e.type === 'test-result' && e.expunged ? [e.test] : []));
      const plan = planTests({
        tree: loadTestTree(tree, 'xfs'),
        fstyp: 'xfs',
        groups: ['auto,selftest/selftest'],
        excludeGroups: ['stress'],
        expungeLines: ['generic/002', 'selftest/900'],
      });
      expect(listed.filter((t) => !expunged.includes(t))).toEqual(plan.tests);
      expect(expunged).toEqual(plan.expunged);
    }, 120_000);

    test('selftest/007 is flaky: fails on its first run on a TEST_DEV, passes on the next', async () => {
      const first = parseCheckOutput((await check(['selftest/007'])).stdout).events;
      const second = parseCheckOutput((await check(['selftest/007'])).stdout).events;
      const status = (events: CheckEvent[]) => events.flatMap((e) => (e.type === 'test-result' ? [e.outcome.status] : []));
      expect([...status(first), ...status(second)]).toEqual(['failed', 'passed']);
    }, 120_000);

    test('unknown tests and groups get check\'s messages', async () => {
      const r = await check(['-n', 'xfs/999', 'selftest/001']);
      expect(r.stdout.split('\n')[0]).toBe('xfs/999 - unknown test, ignored');
      const g = await check(['-g', 'nosuch']);
      expect([g.exitCode, g.stdout]).toEqual([1, 'Group "nosuch" is empty or not defined?\n']);
    }, 120_000);

    test('SIGTERM to check\'s process group during a test: the stream stops after the name, exit 0', async () => {
      const parser = new CheckOutputParser();
      const seen: CheckEvent[] = [];
      let currentAtStart: string | undefined;
      const sub = execa('./check', ['generic/003'], {
        cwd: tree,
        reject: false,
        stripFinalNewline: false,
        detached: true, // own process group, so the signal reaches the test too (as in run E)
        env: { HOST_OPTIONS: 'local.config' },
        timeout: 60_000,
      });
      const started = new Promise<void>((resolve) => {
        sub.stdout?.on('data', (chunk: Buffer) => {
          seen.push(...parser.push(chunk));
          if (currentAtStart === undefined && parser.currentTest()) {
            currentAtStart = parser.currentTest();
            resolve();
          }
        });
      });
      await started;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      if (sub.pid !== undefined) process.kill(-sub.pid, 'SIGTERM');
      const r = await sub;
      seen.push(...parser.end());
      expect(currentAtStart).toBe('generic/003');
      expect(r.exitCode).toBe(0); // docs/fstests.md §6: interrupts return 0
      // The name and check.time's previous time, then nothing: no newline, no summary.
      expect(r.stdout).toMatch(/\n\ngeneric\/003 +(\d+s \.\.\. )?$/);
      expect(seen.filter((e) => e.type === 'test-result')).toEqual([]);
      expect(parser.currentTest()).toBe('generic/003');
      const log = fs.readFileSync(path.join(results, 'check.log'), 'utf8').trimEnd().split('\n');
      expect(log.slice(-3)).toEqual(['Ran: generic/003', 'Interrupted!', 'Passed all 1 tests']);
    }, 120_000);
  },
);
