import { describe, expect, it } from 'vitest';
import { findSubIdRange, nextFreeSubIdStart, parseSubIds } from '../../../src/vm/image/subIds.js';

describe('parseSubIds', () => {
  it('reads name:start:count lines and skips comments, blanks and junk', () => {
    expect(parseSubIds('# comment\nktexp:100000:65536\n\nbroken line\n1002:300000:10\n')).toEqual([
      { owner: 'ktexp', start: 100000, count: 65536 },
      { owner: '1002', start: 300000, count: 10 },
    ]);
  });
});

describe('findSubIdRange', () => {
  const text = 'other:100000:65536\nme:200000:1000\nme:300000:65536\n';

  it('takes the first range of the user that is large enough', () => {
    expect(findSubIdRange(text, { name: 'me', id: 1000 })).toEqual({ range: { start: 300000, count: 65536 } });
  });

  it('reports the largest of ranges that are all too small', () => {
    expect(findSubIdRange('me:200000:1000\nme:210000:4000\n', { name: 'me', id: 1000 })).toEqual({ largest: 4000 });
  });

  it('finds nothing for a user without an entry', () => {
    expect(findSubIdRange(text, { name: 'you', id: 1001 })).toEqual({});
  });
});

describe('nextFreeSubIdStart', () => {
  it('starts after the highest range of either file', () => {
    expect(nextFreeSubIdStart(['a:100000:65536\n', 'b:165536:65536\n'])).toBe(231072);
  });

  it('starts at 100000 (login.defs SUB_UID_MIN) when nothing is allotted', () => {
    expect(nextFreeSubIdStart(['', '# nothing\n'])).toBe(100000);
  });
});
