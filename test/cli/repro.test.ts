/**
 * `kt repro` through the real binary, up to the point where it would boot: which `kt run` it
 * starts (printed, and planned with --dry-run), and the refusals (exit 2) when what the recorded
 * run used is gone or changed. The runs themselves are in test/e2e/baseline.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent, RunStartEvent } from '../../src/record/events.js';
import { O, runEvents, type RunPlan } from '../baseline/runs.js';
import { buildFixtureTree, copyFixtureTree } from '../fstests/fixtureHelpers.js';
import { CLI_TIMEOUT_MS, kt, snapshot, writeRunDir } from './helpers.js';
import { repeatRunDir } from '../../src/cli/reproCommand.js';

let root: string;
let tree: string;
let suite: string;

const SUITE_YAML = `fstyp: xfs
default: fast
sections:
  fast:
    mkfsOptions: "-b size=4096"
  small:
    mkfsOptions: "-b size=1024"
`;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-repro-cli-'));
  tree = copyFixtureTree('kt-repro-tree-');
  buildFixtureTree(tree);
  suite = path.join(root, 'mine.yaml');
  fs.writeFileSync(suite, SUITE_YAML);
}, CLI_TIMEOUT_MS);
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(path.dirname(tree), { recursive: true, force: true });
});

const SECTIONS = {
  'mine/fast': { name: 'mine/fast', fstyp: 'xfs', mkfsOptions: '-b size=4096', mountOptions: '' },
  'mine/small': { name: 'mine/small', fstyp: 'xfs', mkfsOptions: '-b size=1024', mountOptions: '' },
};

/** A recorded run of each section's plan, one section after the other, with the run-start fields kt repro reads. */
function recordedRun(name: string, plans: Partial<Record<keyof typeof SECTIONS, RunPlan>>, start: Partial<RunStartEvent> = {}): string {
  const dir = path.join(root, 'results', name);
  fs.mkdirSync(dir, { recursive: true });
  const sections = Object.keys(plans) as (keyof typeof SECTIONS)[];
  const events: RunEvent[] = [];
  sections.forEach((section, i) => {
    for (const e of runEvents(name, plans[section]!, { section })) {
      if ((e.type === 'run-start' && i > 0) || (e.type === 'run-end' && i < sections.length - 1)) continue;
      events.push(e.type === 'test-begin' || e.type === 'test-end' ? { ...e, section } : e);
    }
  });
  Object.assign(events[0] as RunStartEvent, {
    kernel: path.join(os.homedir(), '.cache/kt/images/6eda750e9b2edd04/vmlinuz'),
    fstests: tree,
    argv: ['run', '--accel', 'tcg', '-c', `${suite}/all`, '--fstests', tree, '-j', '2', '-g', 'quick', 'selftest/002'],
    sections: sections.map((s) => SECTIONS[s]),
    ...start,
  });
  return writeRunDir(dir, events);
}

describe('kt repro', () => {
  it('prints the kt run it starts, and plans it with --dry-run (same tree, section, flags; one VM)', async () => {
    const run = recordedRun('one', { 'mine/fast': { 'selftest/002': [O.mismatch], 'selftest/001': [O.pass] } });
    const r = await kt(['repro', run, 'selftest/002', '--dry-run'], { cwd: root });
    expect(r.code).toBe(0);
    const results = path.join(root, 'results');
    expect(r.err.split('\n')[0]).toBe(
      // The record names no bootKernel: that run booted the bzImage, and so does its repro.
      `kt: repro selftest/002 [mine/fast mkfs -b size=4096]: kt run --fstests ${tree} -c ${suite}/fast --accel tcg --kernel-entry bzimage -j 1 --results ${results} --dry-run selftest/002`,
    );
    expect(r.out).toContain('\n  selftest/002\n');
    expect(r.out).not.toContain('selftest/001');
    expect(r.out.split('\n')[0]).toMatch(/^kt: plan: 1 tests, \d+ excluded, on 1 VM\(s\), section mine\/fast \(FSTYP=xfs\)$/);
  }, CLI_TIMEOUT_MS);

  it('needs --section when the test ran in several, and takes it', async () => {
    const run = recordedRun('two', { 'mine/fast': { 'selftest/002': [O.mismatch] }, 'mine/small': { 'selftest/002': [O.mismatch] } });
    const r = await kt(['repro', run, 'selftest/002', '--dry-run'], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.err).toBe(`kt: error E_REPRO_SECTION_NEEDED: selftest/002 ran in 2 sections of ${run} (mine/fast, mine/small)\n  hint: pick one: --section mine/fast`);
    const small = await kt(['repro', run, 'selftest/002', '--section', 'mine/small', '--dry-run'], { cwd: root });
    expect(small.code).toBe(0);
    expect(small.err.split('\n')[0]).toContain(` -c ${suite}/small `);
  }, CLI_TIMEOUT_MS);

  it("reads the config file of the directory the run ran in, not of the one kt repro runs in, and says which", async () => {
    const ranIn = path.join(root, 'ran-in');
    const elsewhere = path.join(root, 'elsewhere');
    fs.mkdirSync(ranIn);
    fs.mkdirSync(elsewhere);
    fs.writeFileSync(path.join(ranIn, 'kt.yaml'), 'memory: 3072\nappend: [kt.fromrun=1]\n');
    // What kt repro must not read: another directory's kt.yaml that would even leave the test out.
    fs.writeFileSync(path.join(elsewhere, 'kt.yaml'), 'append: [kt.fromelsewhere=1]\nexclude:\n  - { test: selftest/002, reason: not here }\n');
    try {
      const run = recordedRun('cwd', { 'mine/fast': { 'selftest/002': [O.mismatch] } }, { cwd: ranIn });
      const r = await kt(['repro', run, 'selftest/002', '--dry-run'], { cwd: elsewhere });
      expect(r.code).toBe(0);
      expect(r.err.split('\n')[1]).toBe(`kt: repro runs in ${ranIn}, where the run ran: config file ${path.join(ranIn, 'kt.yaml')}`);
      expect(r.out).toContain('\n  selftest/002\n');
      expect(r.out).toMatch(/ -m 3072M /);
      expect(r.out).toContain('kt.fromrun=1');
      expect(r.out).not.toContain('kt.fromelsewhere');

      // A log without the directory (an older kt) keeps the old way, and says so.
      const old = recordedRun('no-cwd', { 'mine/fast': { 'selftest/002': [O.mismatch] } });
      const o = await kt(['repro', old, 'selftest/002', '--dry-run'], { cwd: ranIn });
      expect(o.err.split('\n')[1]).toBe(`kt: repro runs in ${ranIn} (the run did not record the directory it ran in): config file ${path.join(ranIn, 'kt.yaml')}`);
    } finally {
      fs.rmSync(ranIn, { recursive: true });
      fs.rmSync(elsewhere, { recursive: true });
    }
  }, CLI_TIMEOUT_MS * 2);

  const refusals: [string, () => { args: string[]; message: string }][] = [
    [
      'a test the run did not have',
      () => {
        const run = recordedRun('unknown', { 'mine/fast': { 'selftest/002': [O.mismatch], 'selftest/001': [O.pass] } });
        return { args: [run, 'generic/999'], message: `kt: error E_REPRO_UNKNOWN_TEST: generic/999 is not a test of the run in ${run}\n  hint: its failing tests: selftest/002` };
      },
    ],
    [
      'a kernel that is gone',
      () => {
        const run = recordedRun('kernel', { 'mine/fast': { 'selftest/002': [O.mismatch] } }, { kernel: path.join(root, 'linux/arch/x86/boot/bzImage') });
        return {
          args: [run, 'selftest/002'],
          message: `kt: error E_REPRO_KERNEL_GONE: the kernel the run booted is gone: ${path.join(root, 'linux/arch/x86/boot/bzImage')}\n  hint: rebuild it (or restore it) at that path, or rerun by hand with kt run --kernel FILE`,
        };
      },
    ],
    [
      'a run that booted the image kernel, where the directory it ran in has a built kernel since',
      () => {
        const ranIn = path.join(root, 'linux-built');
        const bzImage = path.join(ranIn, 'arch/x86/boot/bzImage');
        fs.mkdirSync(path.dirname(bzImage), { recursive: true });
        // kt run only reads the boot header before refusing: a header-only bzImage will do.
        const img = Buffer.alloc(1024);
        img.write('HdrS', 0x202, 'latin1');
        fs.writeFileSync(bzImage, img);
        const run = recordedRun('image-kernel', { 'mine/fast': { 'selftest/002': [O.mismatch] } }, { cwd: ranIn });
        const image = path.join(os.homedir(), '.cache/kt/images/6eda750e9b2edd04/vmlinuz');
        return {
          args: [run, 'selftest/002', '--dry-run'],
          message:
            `kt: error E_REPRO_KERNEL_CHANGED: the run booted the image kernel ${image}, but kt run in ${ranIn} now boots ${bzImage} (the bzImage of the kernel tree it runs in): the repro would test another kernel\n` +
            `  hint: kt run has no flag for the image kernel: to rerun with it, run kt run from a directory that is no kernel tree; to test ${bzImage}, use kt run --kernel ${bzImage}`,
        };
      },
    ],
    [
      'an fstests tree that is gone',
      () => {
        const run = recordedRun('tree', { 'mine/fast': { 'selftest/002': [O.mismatch] } }, { fstests: path.join(root, 'xfstests-dev') });
        return {
          args: [run, 'selftest/002'],
          message: `kt: error E_REPRO_FSTESTS_GONE: the fstests tree the run used is gone: ${path.join(root, 'xfstests-dev')}\n  hint: restore the tree at that path, or rerun by hand with kt run --fstests DIR`,
        };
      },
    ],
    [
      'a section whose options changed since the run',
      () => {
        const run = recordedRun('changed', { 'mine/fast': { 'selftest/002': [O.mismatch] } }, { sections: [{ ...SECTIONS['mine/fast'], mkfsOptions: '-b size=2048' }] });
        return {
          args: [run, 'selftest/002'],
          message: `kt: error E_REPRO_SECTION_CHANGED: section mine/fast is not what the run ran: MKFS_OPTIONS was "-b size=2048", is now "-b size=4096"\n  hint: restore the suite file as it was for that run, or rerun by hand with kt run -c SUITE/SECTION`,
        };
      },
    ],
    [
      'an empty --results (it would mean the current directory)',
      () => {
        const run = recordedRun('empty-results', { 'mine/fast': { 'selftest/002': [O.mismatch] } });
        return {
          args: [run, 'selftest/002', '--results', ''],
          message: "kt: error E_EMPTY_VALUE: --results was given without a directory\n  hint: give a directory, e.g. --results kt-results, or drop the flag: the runs go next to the recorded one",
        };
      },
    ],
    [
      'a bad --count',
      () => {
        const run = recordedRun('count', { 'mine/fast': { 'selftest/002': [O.mismatch] } });
        return { args: [run, 'selftest/002', '--count', '0'], message: 'kt: error E_BAD_COUNT: --count 0 is not a whole number from 1 to 1000\n  hint: e.g. --count 10 reruns the test ten times, each on a fresh VM' };
      },
    ],
  ];
  for (const [what, setUp] of refusals) {
    it(`refuses ${what} (exit 2), boots nothing and writes nothing`, async () => {
      const { args, message } = setUp();
      const before = snapshot(root);
      const r = await kt(['repro', ...args], { cwd: root });
      expect(r.code).toBe(2);
      expect(r.err.endsWith(message), r.err).toBe(true);
      expect(snapshot(root)).toEqual(before);
    }, CLI_TIMEOUT_MS);
  }
});

describe('repeatRunDir (pure): a repeat\'s run directory is one this process created, never the results directory\'s latest', () => {
  it('the one created, none when the repeat stopped before making one, and an error for several', () => {
    expect(repeatRunDir(['/r/20261203-151900-aaaa'])).toBe('/r/20261203-151900-aaaa');
    // A concurrent kt's run in the same results directory (and its latest) is not looked at.
    expect(repeatRunDir([])).toBeUndefined();
    expect(() => repeatRunDir(['/r/a', '/r/b'])).toThrow(expect.objectContaining({ code: 'E_REPRO_RUN_DIR', exitCode: 3, message: 'one repeat of kt repro made 2 run directories (/r/a, /r/b), not one' }));
  });
});
