import { expect, test } from 'vitest';
import { groupNames, parseGroupList } from '../../src/fstests/groupList.js';
import { readSample } from './helpers.js';

test('reads the real generic and xfs group lists: 787 and 784 tests', () => {
  const generic = parseGroupList(readSample('group-lists', 'generic.group.list'));
  const xfs = parseGroupList(readSample('group-lists', 'xfs.group.list'));
  expect(generic.size).toBe(787);
  expect(xfs.size).toBe(784);
  expect(generic.get('001')).toEqual(['rw', 'dir', 'udf', 'auto', 'quick']);
  expect(groupNames(parseGroupList(readSample('group-lists', 'selftest.group.list')))).toEqual([
    'dangerous_selftest',
    'selftest',
  ]);
});

test('comments, blank lines, indented and invalid names are skipped like check does', () => {
  const list = parseGroupList(
    [
      '# QA groups control file, automatically generated.',
      '',
      '001 auto quick # trailing comment',
      '002-named auto',
      ' 003 auto',
      'abc auto',
      '004',
      '001 rw quick\r',
    ].join('\n'),
  );
  expect([...list]).toEqual([
    ['001', ['auto', 'quick', 'rw']],
    ['002-named', ['auto']],
    ['004', []],
  ]);
});
