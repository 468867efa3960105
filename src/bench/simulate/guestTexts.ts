/**
 * The real guest output a simulated guest replays: check's header, as fstests printed it in a
 * real run (test/fstests/samples/pass-three-real-tests/check-stdout.txt), and the kernel
 * console of a real panic (test/crash-corpus/sysrq-panic.log: selftest/005 writes `c` to
 * /proc/sysrq-trigger, kernel/panic.c prints the report). Nothing here is written by hand.
 */
import fs from 'node:fs';

export interface GuestTexts {
  /** check's lines before the first test (FSTYP, PLATFORM, MKFS_OPTIONS, MOUNT_OPTIONS, blank). */
  checkHeader: string;
  /** Kernel console lines of a panic, after the test's `run fstests <test> at` marker. */
  panicConsole: string;
}

/** The repository root, from src/bench/simulate/ or dist/bench/simulate/. */
export const REPO_ROOT = new URL('../../../', import.meta.url);

/** check's header: the lines after the harness's `=== ./check` line, up to the first test. */
export function checkHeaderOf(sampleStdout: string): string {
  const lines = sampleStdout.replace(/\r/g, '').split('\n');
  const start = lines.findIndex((l) => l.startsWith('=== ./check')) + 1;
  const out: string[] = [];
  for (const line of lines.slice(start)) {
    out.push(line);
    if (line === '') break;
  }
  return out.join('\n') + '\n';
}

/**
 * The printk lines of a corpus console after the kmsg marker of `test`: kt's console (ttyS0)
 * carries the kernel's lines, not check's stdout (which the sample's harness also sent there).
 */
export function panicConsoleOf(corpusLog: string, test: string): string {
  const body = corpusLog.slice(corpusLog.indexOf('\n\n') + 2).replace(/\r/g, '');
  const lines = body.split('\n');
  const marker = lines.findIndex((l) => l.includes(`run fstests ${test} at `));
  if (marker < 0) throw new Error(`no "run fstests ${test}" marker in the crash corpus log`);
  return lines
    .slice(marker + 1)
    .filter((l) => l.startsWith('['))
    .map((l) => `${l}\n`)
    .join('');
}

export function loadGuestTexts(root: URL = REPO_ROOT): GuestTexts {
  const read = (rel: string) => fs.readFileSync(new URL(rel, root), 'utf8');
  return {
    checkHeader: checkHeaderOf(read('test/fstests/samples/pass-three-real-tests/check-stdout.txt')),
    panicConsole: panicConsoleOf(read('test/crash-corpus/sysrq-panic.log'), 'selftest/005'),
  };
}
