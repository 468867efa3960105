/**
 * Where `check`'s start-up goes (the checkPhases row, docs/speed.md "Where check's start-up goes
 * on a real tree"): check runs under bash's xtrace with every line stamped by PS4 with
 * $EPOCHREALTIME, and the trace is cut at the steps of fstests' `check` (kdave/xfstests
 * v2026.01.05: its main body, `run_section` and the test loop). Pure: the command to run and the
 * trace's reading; bootBench.ts runs it.
 */
import { GUEST_ENV, GUEST_FSTESTS_DIR, guestConfigPath } from '../runner/guestCommands.js';
import { shellJoin, shellQuote } from '../util/shell.js';

/** Each traced line: `+<epoch seconds> <file>:<line>: <command>` (bash 5's EPOCHREALTIME). */
export const CHECK_TRACE_PS4 = '+$EPOCHREALTIME ${BASH_SOURCE##*/}:$LINENO: ';

/**
 * The steps, in check's order, each begun by a command of check's own file. A step lasts until
 * the next step found (or the first test); a step whose command is not in the trace (another
 * fstests version, or kt's fixture check) is left out and its time goes to the step before it.
 */
export const CHECK_STEPS = [
  // `. ./common/rc`: common/rc and what it sources (common/config, common/<fstyp>, ...).
  { name: 'sourceCommonRc', command: /^\. \.\/common\/rc$/ },
  // init_rc, then check's argument handling (the test names against tests/*/group.list).
  { name: 'initRc', command: /^init_rc$/ },
  { name: 'testList', command: /^_prepare_test_list$/ },
  // run_section: the section's config, init_rc again, the FSTYP/PLATFORM/MKFS_OPTIONS header.
  { name: 'section', command: /^run_section( |$)/ },
  // SCRATCH_DEV made and mounted once "to make sure" the options work, then unmounted.
  { name: 'scratchMkfs', command: /^_scratch_mkfs$/ },
  // TEST_DEV checked before the first test (xfs: xfs_scrub -n, xfs_logprint, xfs_repair -n).
  { name: 'checkTestFs', command: /^_check_test_fs$/ },
  // The test loop's first lines: result directory, logger, the dmesg marker.
  { name: 'testPrep', command: /^loop_status=\(\)$/ },
  // Every test's wipe of the scratch devices (common/rc _try_wipe_scratch_devs).
  { name: 'scratchWipe', command: /^_try_wipe_scratch_devs$/ },
] as const;
export type CheckStep = (typeof CHECK_STEPS)[number]['name'];

/** The first test's own script starts here (check's _run_seq). */
const TEST_STARTS = /^_run_seq( |$)/;
const TRACE_LINE = /^\++(\d+\.\d+) ([^:\s]*):\d+: (.*)$/;

export interface CheckTracePhases {
  /** First traced line → the first test's script started; undefined when it never did. */
  firstTestMs?: number;
  /** ms per step found, in check's order. */
  stepsMs: Partial<Record<CheckStep, number>>;
  /** Steps whose command the trace does not hold. */
  missing: CheckStep[];
}

/** Reads a trace of `check` written with CHECK_TRACE_PS4; lines of other shapes are ignored. */
export function parseCheckTrace(trace: string): CheckTracePhases {
  let t0: number | undefined;
  let testAt: number | undefined;
  const found: { name: CheckStep; at: number }[] = [];
  let next = 0;
  for (const line of trace.split('\n')) {
    const m = TRACE_LINE.exec(line);
    if (!m) continue;
    const at = Number(m[1]) * 1000;
    t0 ??= at;
    if (m[2] !== 'check') continue;
    const command = m[3]!;
    if (TEST_STARTS.test(command)) {
      testAt = at;
      break;
    }
    // Steps come in order; one may be missing, so any later step also matches.
    for (let i = next; i < CHECK_STEPS.length; i++) {
      if (CHECK_STEPS[i]!.command.test(command)) {
        found.push({ name: CHECK_STEPS[i]!.name, at });
        next = i + 1;
        break;
      }
    }
  }
  const stepsMs: Partial<Record<CheckStep, number>> = {};
  found.forEach((step, i) => {
    const end = found[i + 1]?.at ?? testAt;
    if (end !== undefined) stepsMs[step.name] = Math.round(end - step.at);
  });
  return {
    ...(testAt !== undefined && t0 !== undefined ? { firstTestMs: Math.round(testAt - t0) } : {}),
    stepsMs,
    missing: CHECK_STEPS.map((s) => s.name).filter((n) => !found.some((f) => f.name === n)),
  };
}

/**
 * check of one test under xtrace, as renderCheckCommand runs it (the guest's environment, the
 * section's config in HOST_OPTIONS), with only the trace on the channel: check's stdout goes to
 * /dev/null. `source`, not `bash -x ./check`: bash ignores a PS4 from the environment when run
 * as root. POSIX sh outside the inner bash (root's shell in kt's image is dash).
 */
export function renderCheckTraceCommand(section: string, test: string, fstestsDir = GUEST_FSTESTS_DIR): string {
  const inner = `PS4=${shellQuote(CHECK_TRACE_PS4)}; set -x; source ./check "$@"`;
  return `${GUEST_ENV} && cd ${shellQuote(fstestsDir)} && HOST_OPTIONS=${shellQuote(guestConfigPath(section))} exec bash -c ${shellQuote(inner)} check ${shellJoin(['--exact-order', test])} 2>&1 >/dev/null`;
}

/** Whether the trace so far shows the first test started (the caller may stop check then). */
export function traceReachedTest(trace: string): boolean {
  return /^\++\d+\.\d+ check:\d+: _run_seq( |$)/m.test(trace);
}
