/**
 * Sections on real VMs: two sections of the fixture tree in one run share one pool of VMs (a VM
 * re-formats TEST_DEV for the section of its next batch), and every section kt ships makes its
 * filesystem — with its devices — in a real guest.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixtureTree, ktTempDirs, qemuOf, readEvents, runIdOf, runKt, validateJunit, type EventLine } from './harness.js';

let tree: string;
beforeAll(async () => {
  tree = await fixtureTree();
}, 120_000);

const ends = (events: EventLine[]) => events.filter((e) => e.type === 'test-end').map((e) => `${String(e['section'])} ${e.test} ${e.outcome!.status}`).sort();

describe('kt run -c xfs/4k,xfs/1k -j 2', () => {
  it('runs both sections on one pool of two VMs, with results, JUnit and files per section', async () => {
    const run = await runKt(['-c', 'xfs/4k,xfs/1k', '-j', '2', '--spares', '0', '--fstests', tree, 'generic/001', 'selftest/001', 'selftest/002']);
    expect(run.stderr).not.toMatch(/internal error/);
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(1);
    const events = readEvents(run.runDir);
    expect(ends(events)).toEqual([
      'xfs/1k generic/001 passed',
      'xfs/1k selftest/001 passed',
      'xfs/1k selftest/002 failed',
      'xfs/4k generic/001 passed',
      'xfs/4k selftest/001 passed',
      'xfs/4k selftest/002 failed',
    ]);
    // One pool: two VMs for six items of two sections, none booted again for a section switch
    // (--spares 0: no warm spare is booted beside them).
    expect(events.filter((e) => e.type === 'machine-boot')).toHaveLength(2);
    const start = events.find((e) => e.type === 'run-start')!;
    expect(start['sections']).toEqual([
      { name: 'xfs/4k', fstyp: 'xfs', mkfsOptions: '-b size=4096', mountOptions: '' },
      { name: 'xfs/1k', fstyp: 'xfs', mkfsOptions: '-b size=1024', mountOptions: '' },
    ]);
    const junit = fs.readFileSync(path.join(run.runDir, 'junit.xml'), 'utf8');
    expect(junit).toContain('<testsuite name="kt.xfs/4k"');
    expect(junit).toContain('<testsuite name="kt.xfs/1k"');
    expect(junit).toContain('<property name="MKFS_OPTIONS" value="-b size=1024"/>');
    expect((await validateJunit(path.join(run.runDir, 'junit.xml'))).ok).toBe(true);
    expect(fs.existsSync(path.join(run.runDir, 'results/xfs/1k/selftest/002.out.bad'))).toBe(true);
    expect(fs.existsSync(path.join(run.runDir, 'results/xfs/4k/selftest/002.out.bad'))).toBe(true);
    expect(await qemuOf(runIdOf(run.runDir))).toEqual([]);
    expect(ktTempDirs()).toEqual([]);
  });
});

describe('every shipped section in a real guest', () => {
  it('makes each section filesystem (with logdev, rtdev and a scratch pool) and runs a test on it', async () => {
    const run = await runKt(['-c', 'xfs/all,ext4/all,btrfs/all', '-j', '1', '--fstests', tree, 'generic/001', 'generic/002']);
    expect(run.stderr).not.toMatch(/internal error/);
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
    const events = readEvents(run.runDir);
    const sections = ['xfs/4k', 'xfs/1k', 'xfs/reflink_rmapbt', 'xfs/logdev', 'xfs/realtime', 'ext4/4k', 'ext4/1k', 'ext4/bigalloc', 'ext4/nojournal', 'ext4/dioread_nolock', 'btrfs/default', 'btrfs/pool'];
    expect(ends(events)).toEqual(sections.flatMap((s) => [`${s} generic/001 passed`, `${s} generic/002 passed`]).sort());
    expect(events.filter((e) => e.type === 'machine-boot')).toHaveLength(1);
  });
});
