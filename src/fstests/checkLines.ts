/**
 * Pure classifiers for the lines of check's stdout (docs/fstests.md §2). Each pattern cites the
 * check code that prints it; CheckOutputParser decides which one applies in which state.
 */
import type { CheckEvent, HeaderField } from './checkEvents.js';
import { TEST_ID_PATTERN } from './testNames.js';

/** A line that starts with a test id followed by blank or end of line. */
const TEST_LINE_RE = new RegExp(`^(${TEST_ID_PATTERN})(?=\\s|$)`);

/**
 * A test name recognisable before its line ends: check prints the name padded to the longest
 * name, then either 7 spaces (no previous time) or ` <N>s ... ` (check's awk over check.time),
 * and only then runs the test. Two blanks rule out `<t> aggregate ...` and `<t> - unknown test`.
 */
const EARLY_TEST_RE = new RegExp(`^(${TEST_ID_PATTERN})(?: {2,}|\\s*\\d+s \\.\\.\\. )`);

/** check: awk 'BEGIN {lasttime="       "} $1 == seqnum {lasttime=" " $2 "s ... "}' check.time */
const PREVIOUS_TIME_RE = /^\s*(\d+)s \.\.\. /;

/** check -T: _timestamp() { echo -n " [$(date +%T)]"; } */
const LEADING_STAMP_RE = /^\s*\[(\d\d:\d\d:\d\d)\]/;
const ANY_STAMP_RE = / ?\[(\d\d:\d\d:\d\d)\]/g;

// check run_section: echo "SECTION       -- $section", "RECREATING    -- $FSTYP on $TEST_DEV",
// "FSTYP         -- ...", "PLATFORM      -- ...", "MKFS_OPTIONS  -- ...", "MOUNT_OPTIONS -- ..."
const HEADER_RE = /^(SECTION|RECREATING|FSTYP|PLATFORM|MKFS_OPTIONS|MOUNT_OPTIONS) +-- ?(.*)$/;
// check _wrapup: echo "=========================" >>$tmp.summary (printed by _summary)
const RECAP_RE = /^={10,}$/;
// check _stash_test_status: printf "%s aggregate results across %d runs: " + "%s=%d (%.1f%%)"...
const AGGREGATE_RE = new RegExp(`^(${TEST_ID_PATTERN}) aggregate results across (\\d+) runs: (.*)$`);
// check test argument loop: echo "$t - unknown test, ignored"
const UNKNOWN_TEST_RE = new RegExp(`^${TEST_ID_PATTERN}\\S* - unknown test, ignored$`);
/** kt's (and the sample harness's) own marker lines in the same stream: `=== ...`. */
const HARNESS_RE = /^=== /;

/**
 * Beginnings of failure text (docs/fstests.md §2.2), in check and common/rc:
 * _dump_err_cont "[dumped core]", _dump_err_cont "[failed, exit status $sts]",
 * _dump_err "- output mismatch (see $seqres.out.bad)", _dump_err "no qualified output",
 * echo " - no such test?", _check_dmesg/_check_kmemleak/_check_<fs>_filesystem messages,
 * echo "Trying to repair broken TEST_DEV file system",
 * _dump_err "check: possible mount failures (see $seqres.mountfail)".
 */
const FAILURE_PREFIXES = [
  '[dumped core]',
  '[failed, exit status ',
  '- output mismatch',
  'no qualified output',
  '- no such test?',
  '_check_',
  'Trying to repair broken TEST_DEV file system',
  'check: possible mount failures',
];

/** The test id starting a line, unless the line is an aggregate or "unknown test" line. */
export function matchTestLine(line: string): string | undefined {
  if (AGGREGATE_RE.test(line) || UNKNOWN_TEST_RE.test(line)) return undefined;
  return TEST_LINE_RE.exec(line)?.[1];
}

/** A test name at the start of an unfinished line, once its padding makes it unambiguous. */
export function matchEarlyTestStart(partial: string): string | undefined {
  const m = EARLY_TEST_RE.exec(partial);
  return m?.[1] !== undefined && !AGGREGATE_RE.test(partial) ? m[1] : undefined;
}

/** Splits ` <N>s ... ` (time of the last pass) off the text after a test name. */
export function takePreviousTime(rest: string): { previousSeconds?: number; rest: string } {
  const m = PREVIOUS_TIME_RE.exec(rest);
  return m ? { previousSeconds: Number(m[1]), rest: rest.slice(m[0].length) } : { rest };
}

/** True for `=== ...` lines of a harness that shares check's stream. */
export function isHarnessLine(line: string): boolean {
  return HARNESS_RE.test(line);
}

/**
 * Lines that end whatever test is in flight: a new test name, a header, a summary line, the
 * recap separator or an aggregate line. `=== ` harness lines are not among them (tests print
 * `=== ...` lines themselves under -d).
 */
export function isStructuralLine(line: string): boolean {
  return (
    TEST_LINE_RE.test(line) ||
    HEADER_RE.test(line) ||
    RECAP_RE.test(line) ||
    parseSummaryLine(line) !== undefined
  );
}

/** Header, recap, summary, aggregate and "unknown test" lines as events (no state needed). */
export function parseSummaryLine(line: string): CheckEvent | undefined {
  let m: RegExpExecArray | null;
  // check _wrapup: echo "Ran: ${try[*]}" / "Not run: ${notrun[*]}" / "Failures: ${bad[*]}"
  if ((m = /^Ran:(.*)$/.exec(line))) return { type: 'summary-ran', tests: words(m[1]) };
  if ((m = /^Not run:(.*)$/.exec(line))) return { type: 'summary-not-run', tests: words(m[1]) };
  if ((m = /^Failures:(.*)$/.exec(line))) return { type: 'summary-failures', tests: words(m[1]) };
  // check _wrapup: echo "Failed ${#bad[*]} of ${#try[*]} tests" / "Passed all ${#try[*]} tests"
  if ((m = /^Failed (\d+) of (\d+) tests$/.exec(line))) {
    return { type: 'summary-failed', failed: Number(m[1]), total: Number(m[2]) };
  }
  if ((m = /^Passed all (\d+) tests$/.exec(line))) return { type: 'summary-passed', total: Number(m[1]) };
  // check _wrapup: $interrupt && echo "Interrupted!"
  if (line === 'Interrupted!') return { type: 'summary-interrupted' };
  // check _wrapup: echo "Xunit report: $out_fn"
  if ((m = /^Xunit report: (.*)$/.exec(line))) return { type: 'xunit-report', path: m[1] ?? '' };
  if ((m = AGGREGATE_RE.exec(line))) {
    const counts: Record<string, number> = {};
    for (const c of (m[3] ?? '').matchAll(/(\w+)=(\d+) \(/g)) counts[c[1] ?? ''] = Number(c[2]);
    return { type: 'aggregate', test: m[1] ?? '', runs: Number(m[2]), counts };
  }
  return undefined;
}

/** A header line (`FSTYP         -- xfs (non-debug)`). */
export function parseHeaderLine(line: string): { field: HeaderField; value: string } | undefined {
  const m = HEADER_RE.exec(line);
  return m ? { field: m[1] as HeaderField, value: m[2] ?? '' } : undefined;
}

/** The `=========================` line of check's end-of-run section recap. */
export function isRecapLine(line: string): boolean {
  return RECAP_RE.test(line);
}

/** What the text on a test's line (or a later line while it runs) says. */
export type OutcomeText =
  /** Nothing yet (only padding and -T start time). */
  | { kind: 'none' }
  /** check: echo -n " `expr $stop - $start`s" */
  | { kind: 'pass'; seconds: number }
  /** check: echo -n "[not run] "; cat $seqres.notrun. Without a reason: -T, reason follows on the next line. */
  | { kind: 'notrun'; reason?: string }
  /** check _expunge_test: echo "       [expunged]" */
  | { kind: 'expunged' }
  /** Failure text, -T stamps removed. */
  | { kind: 'failure'; message: string; exitStatus?: number }
  /** A `=== ` harness line glued to the test name. */
  | { kind: 'harness'; text: string }
  /** Anything else: the test's own output (-d). */
  | { kind: 'text'; text: string };

/**
 * Classifies text printed after a test name. `continued` is true for lines after the test's
 * own line (check -d), where a pass is only ` <N>s` with check's leading blank.
 */
export function classifyOutcomeText(text: string, continued: boolean): { outcome: OutcomeText; stamps: string[] } {
  const stamps: string[] = [];
  let s = text;
  for (let m = LEADING_STAMP_RE.exec(s); m; m = LEADING_STAMP_RE.exec(s)) {
    stamps.push(m[1] ?? '');
    s = s.slice(m[0].length);
  }
  const body = s.trim();
  let m: RegExpExecArray | null;
  if (body === '') return { outcome: { kind: 'none' }, stamps };
  if ((m = /^(\d+)s$/.exec(body)) && (!continued || /^ /.test(text))) {
    return { outcome: { kind: 'pass', seconds: Number(m[1]) }, stamps };
  }
  if (body === '[expunged]') return { outcome: { kind: 'expunged' }, stamps };
  if ((m = /^\[not run\](?:\s+([\s\S]*))?$/.exec(body))) {
    return { outcome: m[1] === undefined ? { kind: 'notrun' } : { kind: 'notrun', reason: m[1] }, stamps };
  }
  if (FAILURE_PREFIXES.some((p) => body.startsWith(p))) {
    const more = takeStamps(body);
    stamps.push(...more.stamps);
    return { outcome: failure(more.text), stamps };
  }
  if (isHarnessLine(body)) return { outcome: { kind: 'harness', text: body }, stamps };
  return { outcome: { kind: 'text', text: continued ? text : s.replace(/^\s+/, '') }, stamps };
}

/** Removes -T stamps anywhere in failure text (the stop stamp sits between failure parts). */
export function takeStamps(text: string): { text: string; stamps: string[] } {
  const stamps = [...text.matchAll(ANY_STAMP_RE)].map((m) => m[1] ?? '');
  return { text: text.replace(ANY_STAMP_RE, '').trim(), stamps };
}

/** N of `[failed, exit status N]` in failure text. */
export function exitStatusOf(text: string): number | undefined {
  const m = /\[failed, exit status (\d+)\]/.exec(text);
  return m ? Number(m[1]) : undefined;
}

function failure(message: string): OutcomeText {
  const exitStatus = exitStatusOf(message);
  return exitStatus === undefined ? { kind: 'failure', message } : { kind: 'failure', message, exitStatus };
}

function words(s: string | undefined): string[] {
  return (s ?? '').split(/\s+/).filter((w) => w !== '');
}
