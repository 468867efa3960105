/**
 * `kt run -x GROUP` over sections of different filesystems: a group that only one of them has
 * (here a group of tests/xfs) leaves its tests out there and is no error for the others, as in
 * fstests' check (`Group "x" is empty or not defined?`, and the run goes on); -g stays strict.
 * The real CLI (dist/) on a copy of kt's fixture fstests tree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtureTree, copyFixtureTree } from '../fstests/fixtureHelpers.js';
import { CLI_TIMEOUT_MS, kt } from './helpers.js';

let tree: string;

beforeAll(() => {
  tree = copyFixtureTree('kt-xgroup-');
  const test = path.join(tree, 'tests/xfs/001');
  fs.writeFileSync(test, fs.readFileSync(test, 'utf8').replace(/^_begin_fstest auto quick$/m, '_begin_fstest auto quick xonly'));
  // fstests' mkgroupfile accepts only the groups doc/group-names.txt names.
  fs.appendFileSync(path.join(tree, 'doc/group-names.txt'), 'xonly\t\t\ta group of tests/xfs only (kt test)\n');
  buildFixtureTree(tree);
  expect(fs.readFileSync(path.join(tree, 'tests/xfs/group.list'), 'utf8')).toMatch(/^001 auto quick xonly$/m);
}, CLI_TIMEOUT_MS);

afterAll(() => fs.rmSync(path.dirname(tree), { recursive: true, force: true }));

const planned = (out: string) => out.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim());

describe('kt run -x GROUP that one section lacks', () => {
  it('leaves the group out where it exists and plans the other section in full', async () => {
    const args = ['run', '--dry-run', '--accel', 'tcg', '--fstests', tree, '-c', 'xfs/4k,ext4/4k', '-g', 'quick'];
    const all = await kt(args, { cwd: path.dirname(tree) });
    expect(all.code).toBe(0);
    expect(planned(all.out)).toContain('xfs/001  [xfs/4k]');
    const r = await kt([...args, '-x', 'xonly'], { cwd: path.dirname(tree) });
    expect(r.err).not.toContain('E_UNKNOWN_GROUP');
    // Said once, as check says it: the ext4 section has no such group.
    expect(r.err.split('\n').filter((l) => l.includes('xonly'))).toEqual(['kt: warning: -x xonly: group "xonly" is empty or not defined for FSTYP=ext4; nothing left out for it']);
    expect(r.code).toBe(0);
    expect(planned(r.out)).toEqual(planned(all.out).filter((t) => t !== 'xfs/001  [xfs/4k]'));
  }, CLI_TIMEOUT_MS);

  it('-g of that group stays an error for the section without it', async () => {
    const r = await kt(['run', '--dry-run', '--accel', 'tcg', '--fstests', tree, '-c', 'xfs/4k,ext4/4k', '-g', 'xonly'], { cwd: path.dirname(tree) });
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('kt: error E_UNKNOWN_GROUP: unknown group "xonly" for FSTYP=ext4: no test in tests/generic belongs to it');
  }, CLI_TIMEOUT_MS);
});
