/**
 * Fisher's exact test against reference values computed with SciPy 1.17.1:
 *   scipy.stats.fisher_exact([[F, N-F], [k, n-k]], alternative='less')[1]     (fisherGreater)
 *   scipy.stats.fisher_exact([[F, N-F], [k, n-k]], alternative='greater')[1]  (fisherLess)
 * and, for the first rows, by hand: the tea-tasting table [[3,1],[1,3]] gives 17/70.
 */
import { describe, expect, it } from 'vitest';
import { fisherGreater, fisherLess } from '../../src/baseline/stats.js';

// [F, N, k, n, P(observed failures ≥ k), P(observed failures ≤ k)]
const REFERENCE: [number, number, number, number, number, number][] = [
  [1, 4, 3, 4, 0.24285714285714283, 0.9857142857142858],
  [3, 4, 1, 4, 0.9857142857142858, 0.24285714285714283],
  [2, 20, 3, 3, 0.00564652738565782, 1],
  [2, 20, 2, 3, 0.06662902315076227, NaN],
  [2, 20, 1, 1, 0.14285714285714285, NaN],
  [10, 10, 0, 2, 1, 0.015151515151515152],
  [3, 3, 0, 3, 1, 0.05000000000000001],
  [3, 3, 0, 4, 1, 0.028571428571428567],
  [1, 20, 2, 2, 0.012987012987012988, 1],
  [5, 40, 4, 5, 0.0038158098282885583, 0.9998968700046409],
  [12, 12, 0, 3, 1, 0.002197802197802198],
  [0, 10, 1, 1, 0.09090909090909091, 1],
  [200, 1000, 60, 200, 0.0015438634997897366, 0.9991443611067216],
];

describe('Fisher exact test, one-sided', () => {
  for (const [F, N, k, n, greater, less] of REFERENCE) {
    it(`recorded ${F}/${N}, observed ${k}/${n}`, () => {
      expect(fisherGreater(F, N, k, n)).toBeCloseTo(greater, 9);
      if (!Number.isNaN(less)) expect(fisherLess(F, N, k, n)).toBeCloseTo(less, 9);
    });
  }

  it('the two tails overlap in exactly the observed table', () => {
    // P(X ≥ k) + P(X ≤ k) = 1 + P(X = k); for [[3,1],[1,3]], P(X = 1) = 16/70.
    expect(fisherGreater(3, 4, 1, 4) + fisherLess(3, 4, 1, 4)).toBeCloseTo(1 + 16 / 70, 12);
  });

  it('refuses what is not a table of counts', () => {
    expect(() => fisherGreater(5, 4, 1, 1)).toThrow(RangeError);
    expect(() => fisherLess(1, 4, 2, 1)).toThrow(RangeError);
    expect(() => fisherGreater(1.5, 4, 1, 1)).toThrow(RangeError);
  });
});
