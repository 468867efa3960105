/** A duration kt can count with (a history's seconds, a measured start-up): a finite number, not negative. Pure. */
export function isSeconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
