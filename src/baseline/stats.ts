/**
 * Fisher's exact test on a 2×2 table, one-sided: is the failure count of the judged run higher
 * (or lower) than the recorded failure rate allows? docs/baseline.md says why this test: both
 * the recorded rate and the run's are small samples, and the test is exact for small counts (no
 * normal approximation), conditioning on the total number of failures seen.
 *
 *                 failed   passed
 *   recorded        F       N − F
 *   observed        k       n − k
 *
 * Under "same failure probability", the observed failures follow a hypergeometric law: n draws
 * from N + n runs of which F + k failed.
 */

const logFactorials: number[] = [0];

function logFactorial(n: number): number {
  for (let i = logFactorials.length; i <= n; i++) logFactorials.push(logFactorials[i - 1]! + Math.log(i));
  return logFactorials[n]!;
}

function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

/** True when recorded F of N and observed k of n are counts of a 2×2 table (F ≤ N, k ≤ n). */
export function isCountTable(F: number, N: number, k: number, n: number): boolean {
  return [F, N, k, n].every((v) => Number.isInteger(v) && v >= 0) && F <= N && k <= n;
}

function checkTable(F: number, N: number, k: number, n: number): void {
  if (!isCountTable(F, N, k, n)) throw new RangeError(`not a 2x2 table of counts: recorded ${F}/${N}, observed ${k}/${n}`);
}

/** P(X = x) for X ~ Hypergeometric(population, successes, draws). */
function hypergeometric(x: number, population: number, successes: number, draws: number): number {
  return Math.exp(logChoose(successes, x) + logChoose(population - successes, draws - x) - logChoose(population, draws));
}

/** The support of the observed row's failure count. */
function support(F: number, N: number, k: number, n: number): { lo: number; hi: number; population: number; successes: number } {
  const population = N + n;
  const successes = F + k;
  return { lo: Math.max(0, n - (population - successes)), hi: Math.min(n, successes), population, successes };
}

/** One-sided p-value: P(observed failures ≥ k) when both rows fail alike. */
export function fisherGreater(F: number, N: number, k: number, n: number): number {
  checkTable(F, N, k, n);
  const s = support(F, N, k, n);
  let p = 0;
  for (let x = Math.max(k, s.lo); x <= s.hi; x++) p += hypergeometric(x, s.population, s.successes, n);
  return Math.min(1, p);
}

/** One-sided p-value: P(observed failures ≤ k) when both rows fail alike. */
export function fisherLess(F: number, N: number, k: number, n: number): number {
  checkTable(F, N, k, n);
  const s = support(F, N, k, n);
  let p = 0;
  for (let x = s.lo; x <= Math.min(k, s.hi); x++) p += hypergeometric(x, s.population, s.successes, n);
  return Math.min(1, p);
}
