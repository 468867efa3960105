/**
 * Golden-file comparison: `UPDATE_GOLDEN=1 npx vitest run test/reporters` rewrites the files;
 * review the diff before committing them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { stabilize } from './stabilize.js';

/** Compares `actual` (stabilized) with fixtures/<name>. */
export function expectGolden(name: string, actual: string): void {
  const file = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const stable = stabilize(actual);
  if (process.env['UPDATE_GOLDEN']) writeFileSync(file, stable);
  expect(stable).toBe(readFileSync(file, 'utf8'));
}
