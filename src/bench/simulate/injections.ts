/**
 * Which tests the simulated guests crash or hang in: a seeded choice, so a figure can be
 * reproduced from its command line. Pure.
 */
import { seededRandom } from '../../util/seededRandom.js';

export interface Injections {
  crash: ReadonlySet<string>;
  hang: ReadonlySet<string>;
}

/** `crashes` + `hangs` distinct tests drawn from `tests` (a partial Fisher–Yates shuffle). */
export function chooseInjections(tests: readonly string[], crashes: number, hangs: number, seed: number): Injections {
  const pool = [...tests];
  const random = seededRandom(seed);
  const want = Math.min(pool.length, crashes + hangs);
  for (let i = 0; i < want; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return { crash: new Set(pool.slice(0, Math.min(crashes, want))), hang: new Set(pool.slice(Math.min(crashes, want), want)) };
}
