import { describe, expect, it } from 'vitest';
import { median } from '../../src/util/median.js';

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones, whatever the input order', () => {
    // check start-ups (s) as a run measures them: one hang in check's mount among them.
    expect(median([21])).toBe(21);
    expect(median([21, 3600, 19])).toBe(21);
    expect(median([21, 3600, 19, 11])).toBe(20);
    expect(median([])).toBeNaN();
  });

  it('leaves its input as it was', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
});
