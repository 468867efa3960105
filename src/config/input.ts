/**
 * Checking raw values from the command line and the config file. Every value carries the name
 * the user gave it (`-j`, `--test-size`, or `kt.yaml: jobs`), so an error names the place to fix;
 * every error echoes the value as given, made printable.
 */
import { UsageError, printable } from '../errors.js';

/** A raw value and where it came from. */
export interface Sourced<T> {
  value: T;
  /** `-j`, `--scratch-size`, `/home/me/kt.yaml: jobs`. */
  source: string;
}

/** The first defined of a flag, a config-file key and a default, with its source. */
export function pick<T>(flag: { name: string; value: T | undefined }, file: { path?: string; key: string; value: T | undefined }, fallback: T): Sourced<T> {
  if (flag.value !== undefined) return { value: flag.value, source: flag.name };
  if (file.value !== undefined) return { value: file.value, source: `${file.path ?? 'config file'}: ${file.key}` };
  return { value: fallback, source: flag.name };
}

/**
 * A flag that takes one value, as a string. Given several times yargs hands over an array;
 * anything but a string (yargs' `--no-NAME` gives false) is refused naming the flag.
 */
export function single<T>(name: string, value: T | T[] | undefined): T | undefined {
  if (value === undefined) return undefined;
  const values: T[] = Array.isArray(value) ? value : [value];
  const odd = values.find((v) => typeof v !== 'string');
  if (odd !== undefined) {
    throw new UsageError('E_FLAG_VALUE', `${name} was given ${printable(JSON.stringify(odd) ?? String(odd))}, not a value`, `give ${name} VALUE`);
  }
  if (values.length === 1) return values[0];
  throw new UsageError(
    'E_FLAG_REPEATED',
    `${name} was given ${values.length} times (${values.map((v) => printable(String(v))).join(', ')})`,
    `give ${name} once`,
  );
}

/** A whole number in [min, max]; `value` may be a string as typed or a number from YAML. */
export function wholeNumber(v: Sourced<string | number>, min: number, max: number, example: string, code = 'E_BAD_NUMBER'): number {
  const text = String(v.value).trim();
  const n = typeof v.value === 'number' ? v.value : /^[+]?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(code, `${v.source} ${printable(String(v.value))} is not a whole number from ${min} to ${max}`, `give ${example}`);
  }
  return n;
}

/** Seconds as a positive number (fractions allowed) up to `max`. */
export function seconds(v: Sourced<string | number>, max: number, example: string, why: string): number {
  const text = String(v.value).trim();
  const n = typeof v.value === 'number' ? v.value : /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0 || n > max) {
    throw new UsageError('E_BAD_TIMEOUT', `${v.source} ${printable(String(v.value))} is not a number of seconds above 0 and at most ${max} (${why})`, `give ${example}`);
  }
  return n;
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(v: Sourced<string>, allowed: readonly T[], code: string, hint: string): T {
  if ((allowed as readonly string[]).includes(v.value)) return v.value as T;
  throw new UsageError(code, `${v.source} ${printable(v.value)} is not one of ${allowed.join(', ')}`, hint);
}

/** A non-empty name (a group, a section): `-g ''` or a bare `-g` is an error, not "all". */
export function nonEmpty(name: string, values: readonly string[] | undefined, what: string, example: string): string[] {
  for (const v of values ?? []) {
    if (v.trim() === '') throw new UsageError('E_EMPTY_VALUE', `${name} was given without a ${what}`, `give a ${what}, e.g. ${example}`);
  }
  return [...(values ?? [])];
}
