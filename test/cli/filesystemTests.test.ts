/**
 * Tests written for one filesystem (tests/xfs, tests/btrfs, …) in runs of several sections:
 * they run only in the sections of their filesystem; with none, where they were asked for, as
 * fstests' check runs them, with a warning (src/runner/plan.ts placeFilesystemTests). The real
 * CLI (dist/) on kt's fixture fstests tree, whose tests/xfs holds xfs/001.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { useBuiltFixtureTree } from '../fstests/fixtureHelpers.js';
import { CLI_TIMEOUT_MS, kt } from './helpers.js';

const fixture = useBuiltFixtureTree('kt-fstests-dirs-', CLI_TIMEOUT_MS);

const planned = (out: string) => out.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim());
const dryRun = (args: string[]) => kt(['run', '--dry-run', '--accel', 'tcg', '--fstests', fixture.tree, ...args], { cwd: fixture.root });

describe('a test of one filesystem named in a run of several', () => {
  it('runs only in the sections of its filesystem; generic tests run in every section', async () => {
    const r = await dryRun(['-c', 'xfs/4k,ext4/4k', 'xfs/001', 'generic/001']);
    expect(r.code, r.err).toBe(0);
    expect(planned(r.out).sort()).toEqual(['generic/001  [ext4/4k]', 'generic/001  [xfs/4k]', 'xfs/001  [xfs/4k]']);
    expect(r.err).not.toContain('warning');
  }, CLI_TIMEOUT_MS);

  it('with no section of its filesystem, runs where asked, as check would, and says so', async () => {
    const r = await dryRun(['-c', 'ext4/4k', 'xfs/001', 'generic/001']);
    expect(r.code, r.err).toBe(0);
    expect(planned(r.out).sort()).toEqual(['generic/001', 'xfs/001']);
    expect(r.err.split('\n').filter((l) => l.startsWith('kt: warning'))).toEqual([
      'kt: warning: xfs/001: written for xfs, run in section ext4/4k (FSTYP=ext4) as check would run it, where it is likely to fail; add a section of FSTYP=xfs (-c) to run it there',
    ]);
  }, CLI_TIMEOUT_MS);

  it('a <dir>/<group> group of another filesystem is placed the same way', async () => {
    const r = await dryRun(['-c', 'xfs/4k,ext4/4k', '-g', 'xfs/quick']);
    expect(r.code, r.err).toBe(0);
    expect(planned(r.out).every((l) => l.endsWith('[xfs/4k]')), r.out).toBe(true);
    expect(planned(r.out)).toContain('xfs/001  [xfs/4k]');
  }, CLI_TIMEOUT_MS);
});

describe('the warning for tests of a filesystem no section has', () => {
  it('is one line for all the sections they run in, and none for the tests an exclude took out', async () => {
    const r = await dryRun(['-c', 'ext4/4k,ext4/1k', 'xfs/001', 'generic/001']);
    expect(r.code, r.err).toBe(0);
    expect(r.err.split('\n').filter((l) => l.startsWith('kt: warning'))).toEqual([
      'kt: warning: xfs/001: written for xfs, run in sections ext4/4k (FSTYP=ext4), ext4/1k (FSTYP=ext4) as check would run it, where it is likely to fail; add a section of FSTYP=xfs (-c) to run it there',
    ]);
    const exclude = path.join(fixture.root, 'exclude');
    fs.writeFileSync(exclude, 'xfs/001\n');
    const excluded = await dryRun(['-c', 'ext4/4k,ext4/1k', '-E', exclude, 'xfs/001', 'generic/001']);
    expect(excluded.code, excluded.err).toBe(0);
    expect(planned(excluded.out).sort()).toEqual(['generic/001  [ext4/1k]', 'generic/001  [ext4/4k]']);
    expect(excluded.err).not.toContain('warning');
  }, CLI_TIMEOUT_MS);
});
