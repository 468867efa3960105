/**
 * Finding the kernel's message inside a console line. The console mixes kernel messages with
 * whatever userspace writes to the same serial port, and a kernel message may start in the
 * middle of a userspace line (fstests' check prints "selftest/005       " and then the kernel
 * prints its "run fstests" marker on the same line; see the console.log files of fstests-samples).
 */

/** A console line, split into the kernel's printk prefix and the message after it. */
export interface KernelLine {
  /** The message after the printk prefix, or the whole (cleaned) line when there is no prefix. */
  message: string;
  /** The line had a printk timestamp, so `message` is certainly the kernel's. */
  timestamped: boolean;
  /** Seconds since boot from the printk prefix. */
  time?: number;
  /**
   * The printing context of CONFIG_PRINTK_CALLER ("T1234" a task, "C1" a CPU in interrupt), when
   * the kernel prints it: lines of one report all carry the same one, so interleaved lines of
   * other tasks can be told apart.
   */
  caller?: string;
}

// kernel/printk/printk.c print_time(): "[%5lu.%06lu]", then with CONFIG_PRINTK_CALLER
// print_caller(): "[T%u]" / "[C%u]" padded to 6, then one space before the message.
// A syslog level "<N>" may precede it in dumps of /dev/kmsg or dmesg -r.
const PRINTK_PREFIX = /(?:<\d{1,3}>)?\[\s*(\d+\.\d+)\](?:\[\s*([TC]\d+)\])? ?/;

/** Splits a cleaned console line into printk prefix and message. */
export function parseKernelLine(text: string): KernelLine {
  const match = PRINTK_PREFIX.exec(text);
  if (!match) return { message: text, timestamped: false };
  const line: KernelLine = {
    message: text.slice(match.index + match[0].length),
    timestamped: true,
    time: Number(match[1]),
  };
  if (match[2] !== undefined) line.caller = match[2];
  return line;
}

/** A printk timestamp inside a message: a second kernel line glued onto this one (console race). */
export const EMBEDDED_TIMESTAMP = /\[\s*\d+\.\d{6}\]/;

// fstests check, _test_mount/run loop: echo "run fstests $seqnum at $date_time" > /dev/kmsg
const FSTESTS_MARKER = /^run fstests (?<test>\S+) at \d{4}-\d\d-\d\d/;

/** The test named by fstests' kmsg marker, when `message` is that marker. */
export function parseFstestsMarker(message: string): string | undefined {
  return FSTESTS_MARKER.exec(message)?.groups?.['test'];
}
