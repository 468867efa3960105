/**
 * The name of a cached image: a hash of its whole recipe (packages, suite, sources, guest
 * scripts, RECIPE_VERSION). Any change to an input gives a new directory, so a stale image is
 * never reused. Package versions on the mirror are not an input: `kt image build --rebuild`
 * picks up updates.
 */
import crypto from 'node:crypto';
import type { ImageRecipe } from './recipe.js';

/** JSON with object keys sorted, so the hash does not depend on property order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** 16 hex digits (64 bits) of sha256: short enough for a directory name, long enough to never collide. */
export function hashImageInputs(recipe: ImageRecipe): string {
  return crypto.createHash('sha256').update(canonicalJson(recipe)).digest('hex').slice(0, 16);
}
