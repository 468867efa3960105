/**
 * What the runner's tests feed their fake machines: real check output and real consoles from
 * test/fstests/samples (runs of real fstests and of kt's fixture tree), and a watch on timers.
 */
import fs from 'node:fs';
import { vi } from 'vitest';

const SAMPLES = new URL('../fstests/samples/', import.meta.url);

/** check's stdout of a sample without kt's harness lines. */
export function checkStdout(dir: string): string {
  return fs
    .readFileSync(new URL(`${dir}/check-stdout.txt`, SAMPLES), 'utf8')
    .split(/(?<=\n)/)
    .filter((l) => !l.startsWith('==='))
    .join('');
}

/** A sample's console without the host's timestamps. */
export function consoleText(dir: string): string {
  return fs.readFileSync(new URL(`${dir}/console.log`, SAMPLES), 'utf8').replace(/^ *\d+\.\d+ /gm, '');
}

/**
 * Tracks the timers set from now on, until restore(): `pending` holds those neither fired nor
 * cleared, so a test can show that whoever started a timer also disposed of it.
 */
export function pendingTimers(): { pending: Set<NodeJS.Timeout>; restore: () => void } {
  const pending = new Set<NodeJS.Timeout>();
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const setSpy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
    const handle: NodeJS.Timeout = realSet(() => {
      pending.delete(handle);
      fn();
    }, ms);
    pending.add(handle);
    return handle;
  }) as typeof setTimeout);
  const clearSpy = vi.spyOn(globalThis, 'clearTimeout').mockImplementation(((handle: NodeJS.Timeout | undefined) => {
    if (handle) pending.delete(handle);
    realClear(handle);
  }) as typeof clearTimeout);
  return {
    pending,
    restore: () => {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    },
  };
}
