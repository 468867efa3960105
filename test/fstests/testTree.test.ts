import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { loadTestTree } from '../../src/fstests/testTree.js';
import { errorOf } from './helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A fake tree: `files` maps relative paths to contents. */
function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-tree-'));
  dirs.push(root);
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}


const LIST = '# QA groups control file, automatically generated.\n\n001 auto quick\n';

test('a directory without check is E_FSTESTS_NOT_FOUND', () => {
  const root = tree({ 'tests/generic/group.list': LIST });
  const err = errorOf(() => loadTestTree(root, 'xfs'));
  expect(err.code).toBe('E_FSTESTS_NOT_FOUND');
  expect(err.message).toContain(root);
});

test('a tree without group lists is E_FSTESTS_NOT_BUILT, naming the dir and telling to run make', () => {
  const root = tree({ check: '#!/bin/bash\n', 'tests/generic/001': '', 'tests/xfs/001': '' });
  const err = errorOf(() => loadTestTree(root, 'xfs'));
  expect(err.code).toBe('E_FSTESTS_NOT_BUILT');
  expect(err.message).toBe(`the fstests tree in ${root} is not built: no tests/*/group.list found in ${root}/tests`);
  expect(err.hint).toBe(`run make in ${root}`);
});

test('a missing group.list in the FSTYP directory (ext3 → ext4) is E_FSTESTS_NOT_BUILT', () => {
  const root = tree({ check: '', 'tests/generic/group.list': LIST, 'tests/ext4/001': '', 'tests/xfs/group.list': LIST });
  expect(loadTestTree(root, 'xfs').dirs.size).toBe(2);
  const err = errorOf(() => loadTestTree(root, 'ext3'));
  expect(err.code).toBe('E_FSTESTS_NOT_BUILT');
  expect(err.message).toContain('tests/ext4/group.list is missing');
});

test('reads every tests/<dir>/group.list', () => {
  const root = tree({ check: '', 'tests/generic/group.list': LIST, 'tests/selftest/group.list': '001 selftest\n' });
  const t = loadTestTree(root, 'xfs');
  expect(t.root).toBe(root);
  expect([...t.dirs.keys()].sort()).toEqual(['generic', 'selftest']);
  expect(t.dirs.get('generic')?.get('001')).toEqual(['auto', 'quick']);
});
