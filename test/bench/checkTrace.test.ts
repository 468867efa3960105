/**
 * The checkPhases row's reading of check's xtrace (src/bench/checkTrace.ts): the steps of a
 * trace shaped like the one kt's guest gave on kdave/xfstests v2026.01.05 (docs/speed.md, "Where
 * check's start-up goes on a real tree": the stamps below are that run's), missing steps, lines
 * of other files and shapes; and the rendered command run by dash and bash on this host against a
 * stand-in `check` with check's step commands, so the quoting, the PS4 and the redirections are
 * the real shells' doing.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_STEPS, parseCheckTrace, renderCheckTraceCommand, traceReachedTest } from '../../src/bench/checkTrace.js';

/** The step commands of that run, at their stamps (s since the epoch), among other lines. */
const REAL_SHAPE = [
  '+1796356787.462599 :1: source ./check generic/001',
  '++1796356787.469509 check:7: tmp=/tmp/111',
  '++1796356787.545000 check:361: . ./common/rc',
  '+++1796356788.100000 rc:1674 /usr/bin/df -T -P',
  '++1796356789.045000 check:365: init_rc',
  '++1796356789.100000 rc:293: /usr/bin/mount -t xfs /dev/vdb /mnt/test',
  '++1796356790.695000 check:717: _prepare_test_list',
  '++1796356790.955000 check:1105: run_section -no-sections-',
  '++1796356792.105000 check:824: _scratch_mkfs',
  '++1796356793.395000 check:843: _check_test_fs',
  '++1796356795.365000 check:845: loop_status=()',
  '++1796356795.825000 check:946: _try_wipe_scratch_devs',
  '++1796356797.755000 check:958: _run_seq',
  '++1796356797.760000 check:960: _try_wipe_scratch_devs',
  '',
].join('\n');

describe('parseCheckTrace', () => {
  it("cuts a real-shaped trace at check's steps, each lasting until the next", () => {
    const p = parseCheckTrace(REAL_SHAPE);
    expect(p.missing).toEqual([]);
    expect(p.stepsMs).toEqual({
      sourceCommonRc: 1500,
      initRc: 1650,
      testList: 260,
      section: 1150,
      scratchMkfs: 1290,
      checkTestFs: 1970,
      testPrep: 460,
      scratchWipe: 1930,
    });
    // From the first traced line, so the few ms before common/rc count too.
    expect(p.firstTestMs).toBe(10292);
  });

  it('leaves a missing step out, its time going to the step before it', () => {
    const p = parseCheckTrace(REAL_SHAPE.replace(/^.*_prepare_test_list\n/m, ''));
    expect(p.missing).toEqual(['testList']);
    expect(p.stepsMs.initRc).toBe(1650 + 260);
    expect(p.stepsMs.testList).toBeUndefined();
  });

  it('reads only lines of check itself: a function of the same name called from common/rc is not a step', () => {
    const p = parseCheckTrace(REAL_SHAPE.replace('check:824: _scratch_mkfs', 'rc:824: _scratch_mkfs'));
    expect(p.missing).toEqual(['scratchMkfs']);
    expect(p.stepsMs.section).toBe(1150 + 1290);
  });

  it('gives no first-test time, and no length for the last step, when the test never started', () => {
    const p = parseCheckTrace(REAL_SHAPE.split('\n').slice(0, 11).join('\n'));
    expect(p.firstTestMs).toBeUndefined();
    expect(p.stepsMs.testPrep).toBeUndefined();
    expect(p.stepsMs.checkTestFs).toBe(1970);
    expect(p.missing).toEqual(['scratchWipe']);
  });

  it('finds nothing in output that is no trace', () => {
    expect(parseCheckTrace('FSTYP -- xfs\ngeneric/001 5s\n')).toEqual({ stepsMs: {}, missing: CHECK_STEPS.map((s) => s.name) });
  });

  it('sees the first test start only at check\'s own _run_seq line', () => {
    expect(traceReachedTest(REAL_SHAPE)).toBe(true);
    expect(traceReachedTest(REAL_SHAPE.replace(/check:958: _run_seq/, 'rc:958: _run_seq'))).toBe(false);
    expect(traceReachedTest('++1796356797.755000 check:958: _run_seq_helper\n')).toBe(false);
  });
});

describe('renderCheckTraceCommand, run by the shells of this host', () => {
  let dir: string;
  beforeAll(() => {
    // A directory name a shell must quote, and a test name with a shell character.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kt-trace it's-"));
    fs.mkdirSync(path.join(dir, 'common'));
    fs.writeFileSync(path.join(dir, 'common', 'rc'), 'init_rc() { :; }\n_prepare_test_list() { :; }\n_scratch_mkfs() { :; }\n_check_test_fs() { :; }\n_try_wipe_scratch_devs() { :; }\n');
    fs.writeFileSync(
      path.join(dir, 'check'),
      [
        '#!/bin/bash',
        'echo "FSTYP -- stdout, not on the channel"',
        '. ./common/rc',
        'init_rc',
        '_prepare_test_list',
        'run_section() { echo "section $1 args: $*"; _scratch_mkfs; _check_test_fs; loop_status=(); _try_wipe_scratch_devs; _run_seq; }',
        '_run_seq() { echo "ran $last"; }',
        'for a in "$@"; do last=$a; done',
        'run_section -no-sections-',
        'exit 0',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const shell of ['dash', 'bash']) {
    it(`${shell}: only the trace comes back, every step in it, the test's name passed as one word`, () => {
      const r = spawnSync(shell, ['-c', renderCheckTraceCommand('xfs/4k', "generic/0'1 x", dir)], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      // The echo shows as a traced command; its output line must not come back.
      expect(r.stdout.split('\n')).not.toContain('FSTYP -- stdout, not on the channel');
      expect(r.stdout).toContain('check:2: echo');
      expect(r.stdout).toContain("check:5: _prepare_test_list");
      expect(r.stdout).toMatch(/last='generic\/0'\\''1 x'/);
      const p = parseCheckTrace(r.stdout);
      expect(p.missing).toEqual([]);
      expect(traceReachedTest(r.stdout)).toBe(true);
      const sum = Object.values(p.stepsMs).reduce((a, b) => a + b, 0);
      expect(p.firstTestMs).toBeGreaterThanOrEqual(sum);
    });
  }
});
