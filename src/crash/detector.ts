/**
 * CrashDetector: whole console lines in, crash reports out, one line at a time.
 *
 * A report starts at a header line (REPORT_RULES; a single regex over every rule's header
 * substring is the cheap pre-check that most lines stop at), then collects the kernel lines that
 * follow:
 * - lines of the same printing context only: with CONFIG_PRINTK_CALLER each line says which task
 *   or CPU printed it, other tasks' lines interleaved with the report are left out (except the
 *   other CPUs' backtraces after "Sending NMI from CPU"), and a report another task prints at the
 *   same time is collected beside it; userspace lines are left out too;
 * - in its body, every such line; after its call trace ("</TASK>"), "---[ end trace" or its
 *   rule's `end`, only lines that continue an oops dump (registers, "Code:", another backtrace,
 *   the panic that follows, "Kernel Offset:");
 * - a panic met in a report makes it fatal instead of starting another report
 *   (panic_on_oops: "Kernel panic - not syncing: Fatal exception"; panic_on_warn after a WARNING
 *   or KASAN report), and die() headers that follow a first line ("invalid opcode: 0000" after
 *   "kernel BUG at") belong to it; any other header ends it and starts the next report.
 * It ends at "---[ end Kernel panic", "Kernel Offset:" of a fatal report, the first line that
 * does not continue it, the next fstests test marker, a line cap, or flush(). Then it is titled
 * (titles.ts) from its lines alone: no line is ever looked at twice while streaming. Reports
 * come out in the order they started. docs/crash-titles.md describes the rules.
 */
import { fingerprintCrash, type CrashReport } from './report.js';
import { REPORT_RULES, BOOT_NOTICES, FS_MESSAGES, isPanicRule, type ReportRule } from './patterns.js';
import { parseTraceFrames } from './frames.js';
import { definedGroups, describeReport, formatTitle, sanitizeTitle, type HeaderMatch } from './titles.js';
import { parseFstestsMarker, parseKernelLine, type KernelLine } from './kernel-line.js';
import { LineSplitter, toConsoleLine, type ConsoleLine } from './line-splitter.js';

export { formatTitle, sanitizeTitle };

export interface CrashDetectorOptions {
  /** The report rules (default REPORT_RULES). */
  rules?: readonly ReportRule[];
  /** A report is cut after this many lines (default 1000). */
  maxReportLines?: number;
  /** The excerpt keeps the first this many lines of a report (default 150). */
  maxExcerptLines?: number;
}

// Lines that continue an oops dump after its call trace.
const CONTINUATION: readonly RegExp[] = [
  // arch/x86/kernel/process_64.c __show_regs(), show_ip()/show_opcodes(): "RIP: 0010:...",
  // "Code: ...", "RSP: 0018:... EFLAGS: ...", "RAX: ...", "FS:  ...", "CS:  0010 DS: ...", "CR2: ...", "DR0: ..."
  /^(?:RIP|RSP|R[A-Z0-9]{2}|FS|GS|CS|CR\d|DR\d|PKRU|Code): /,
  // arm64 __show_regs(): "pc : ...", "lr : ...", "sp : ...", "x29: ..."
  /^(?:pc|lr|sp|pstate|x\d{1,2}) ?: /,
  // kernel/module/main.c print_modules(), lib/dump_stack.c dump_stack_print_info()
  /^Modules linked in:/,
  /^CPU: \d+ (?:UID: \d+ )?(?:PID|UID): /,
  /^Hardware name: /,
  /^Workqueue: /,
  // arch/x86/kernel/dumpstack.c show_trace_log_lvl(): "Call Trace:", " <TASK>", " <IRQ>", frames
  /^Call [Tt]race:/,
  /^\s*<\/?(?:TASK|IRQ|NMI|SOFTIRQ|EOI)>/,
  /^\s+(?:\[<[0-9a-f]+>\]\s*)?(?:\? )?[\w.$]+\+0x[0-9a-f]+\/0x[0-9a-f]+/,
  // kernel/panic.c: "---[ end trace %016llx ]---", "---[ end Kernel panic - not syncing: %s ]---",
  // "Rebooting in %d seconds..", arch/x86/kernel/setup.c dump_kernel_offset(): "Kernel Offset: ..."
  /^---\[ end /,
  /^Kernel Offset: /,
  /^Rebooting in /,
  // kernel/exit.c make_task_dead(): "note: %s[%d] exited with irqs disabled", "Fixing recursive fault but reboot is needed!"
  /^note: /,
  /^Fixing recursive fault/,
  // lib/nmi_backtrace.c nmi_cpu_backtrace(): "NMI backtrace for cpu %d"; "Sending NMI from CPU %d to CPUs %*pbl:"
  /^NMI backtrace for cpu \d+/,
  /^Sending NMI from CPU /,
  // arch/x86/kernel/nmi.c nmi_check_duration(): "INFO: NMI handler (%ps) took too long to run: ..."
  /^INFO: NMI handler /,
  // kernel/sched/core.c sched_show_task(): "task:%-15.15s state:%c ..."
  /^task:\S+\s+state:/,
  // kernel/rcu/tree_stall.h: "rcu: \t%d-...", "\t(t=%lu jiffies g=%ld q=%lu ncpus=%d)"
  /^rcu: /,
  /^\t/,
  // kernel/hung_task.c: "      %s %s %.*s\n" (taint/version), "\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message."
  /^\s+(?:Not tainted|Tainted: )/,
  /^"echo 0 > \/proc\/sys\/kernel\/hung_task_timeout_secs"/,
  // kernel/panic.c panic() with crash_kexec_post_notifiers / smp_send_stop
  /^Shutting down cpus with NMI/,
  // kernel/panic.c add_taint(), after the first report's closing rule
  /^Disabling lock debugging due to kernel taint/,
];

// kernel/panic.c: "---[ end trace %016llx ]---" (print_oops_end_marker)
const END_TRACE = /^---\[ end trace\b/;
// kernel/panic.c panic(): "---[ end Kernel panic - not syncing: %s ]---"
const END_PANIC = /^---\[ end Kernel panic\b/;
// arch/x86/kernel/setup.c dump_kernel_offset(), a panic notifier: printed by panic() only
const KERNEL_OFFSET = /^Kernel Offset: /;
// arch/x86/kernel/dumpstack.c show_trace_log_lvl(): " </TASK>" closes the task stack
const END_TASK_STACK = /^\s*<\/TASK>/;
// lib/nmi_backtrace.c: from here on the other CPUs print their stacks into this report
const NMI_BACKTRACE_START = /Sending NMI from CPU/;
// kernel/printk/printk.c console_flush_all(): a record cut short is printed again after this
const REPLAYED = /\*\* replaying previous printk message \*\*/;
// Messages that print a stack of their own without being crashes: mm/page_alloc.c warn_alloc()
// ("vmalloc: allocation failure:" from mm/vmalloc.c), lib/fault-inject.c fail_dump(),
// fs/userfaultfd.c handle_userfault() (4.x: "FAULT_FLAG_ALLOW_RETRY missing %x").
const INTERLEAVED_STACK = /vmalloc: allocation failure:|FAULT_INJECTION: forcing a failure|FAULT_FLAG_ALLOW_RETRY missing/;
// kernel/panic.c add_taint(): a line every first report prints, saying nothing about it
const TAINT_NOTE = /Disabling lock debugging due to kernel taint/;
// The line that opens a report, before its header: kernel/panic.c __warn() and lib/bug.c
// "------------[ cut here ]------------", mm/kasan/report.c start_report() and the other
// sanitizers' "=====...", lockdep's "-----..." / "=====..." frame (kernel/locking/lockdep.c).
const REPORT_OPENER = /-+\[ cut here \]-+|^\s*={20,}\s*$/;
/**
 * A panic printed after this many lines of a report is the consequence of the report
 * (panic_on_warn, panic_on_oops): its own stack says nothing new about the culprit.
 */
const MIN_LINES_BEFORE_PANIC = 22;
const MIN_LINES_BEFORE_PANIC_KMSAN = 16;
const LEAD_IN_LINES = 5;

const PRECHECKS = new WeakMap<readonly ReportRule[], RegExp>();

/** All header substrings as one regex: the pre-check every line goes through (compiled once). */
function headerPrecheck(rules: readonly ReportRule[]): RegExp {
  let precheck = PRECHECKS.get(rules);
  if (!precheck) {
    const headers = [...new Set(rules.map((rule) => rule.header))];
    precheck = new RegExp(headers.map((header) => header.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'));
    PRECHECKS.set(rules, precheck);
  }
  return precheck;
}

interface ReportLine {
  /** Cleaned console line (with its printk prefix), for the excerpt. */
  text: string;
  /** Kernel message without the printk prefix. */
  message: string;
}

interface OpenReport {
  /** Rules that matched the first line, in rule order; the first opened the report. */
  headers: HeaderMatch[];
  /** Excerpt lines. */
  lines: ReportLine[];
  /** The messages titles are computed from (no unreliable frames, nothing after a late panic). */
  titleLines: string[];
  titleClosed: boolean;
  startLine: number;
  endLine: number;
  fatal: boolean;
  test: string | undefined;
  markerSeq: number;
  /** The header had a printk timestamp: lines without one are userspace, not part of the report. */
  timestamped: boolean;
  /** CONFIG_PRINTK_CALLER context of the header ("T123"), when printed. */
  caller: string | undefined;
  /** Other CPUs' backtraces belong to the report (after "Sending NMI from CPU"). */
  nmiBacktraces: boolean;
  /** 'body' until the first call trace ends, then only continuation lines ('tail'). */
  phase: 'body' | 'tail';
}

/** Finds crash reports in a console, one whole line at a time. */
export class CrashDetector {
  private readonly rules: readonly ReportRule[];
  private readonly precheck: RegExp;
  private readonly maxReportLines: number;
  private readonly maxExcerptLines: number;
  private lineNumber = 0;
  private test: string | undefined;
  /** fstests markers seen so far (CrashReport.markerSeq). */
  private markerCount = 0;
  private sawTimestamps = false;
  /** Reports being collected, in the order they started: at most one per printing context. */
  private open: OpenReport[] = [];
  /** Finished reports waiting for an earlier-started one to finish: reports come out in start order. */
  private held: CrashReport[] = [];
  /** The last few kernel lines, for the "cut here" line and message that precede a header. */
  private recent: (ReportLine & { number: number; caller: string | undefined })[] = [];

  constructor(options: CrashDetectorOptions = {}) {
    this.rules = options.rules ?? REPORT_RULES;
    this.precheck = headerPrecheck(this.rules);
    this.maxReportLines = options.maxReportLines ?? 1000;
    this.maxExcerptLines = options.maxExcerptLines ?? 150;
  }

  /** The test named by the last fstests marker (or setCurrentTest). */
  get currentTest(): string | undefined {
    return this.test;
  }

  /** How many fstests markers the console has shown so far. */
  get markers(): number {
    return this.markerCount;
  }

  /** Overrides the running test, for consoles where fstests' kmsg marker is not printed. */
  setCurrentTest(test: string | undefined): void {
    this.test = test;
  }

  /** A report is being collected (or held back) and it is already known to be fatal (a panic is under way). */
  get fatalPending(): boolean {
    return this.open.some((report) => report.fatal) || this.held.some((report) => report.fatal);
  }

  /** Some report has begun and is not complete yet. */
  get reportPending(): boolean {
    return this.open.length > 0 || this.held.length > 0;
  }

  /** Feeds one whole console line; returns the reports that it completed. */
  push(line: string | ConsoleLine): CrashReport[] {
    const { text } = toConsoleLine(line);
    this.lineNumber++;
    const kernel = parseKernelLine(text);
    if (kernel.timestamped) this.sawTimestamps = true;
    const done: CrashReport[] = [];

    const marker = parseFstestsMarker(kernel.message);
    if (marker !== undefined) {
      this.finishAll(done);
      this.test = marker;
      this.markerCount++;
      return done;
    }
    if (REPLAYED.test(kernel.message)) {
      // A header line cut short: the kernel prints it again whole on the next line.
      const cut = this.open.find((report) => report.lines.length === 1 && report.endLine === this.lineNumber - 1);
      if (cut) {
        this.open = this.open.filter((report) => report !== cut);
        this.release(done);
        return done;
      }
    }
    const reportLine: ReportLine = { text, message: kernel.message };
    // Once the console has shown printk timestamps, a line without one is userspace output:
    // skipped in a report's body; after a report's trace, the report is over.
    if (!kernel.timestamped && this.sawTimestamps) {
      const headers = this.matchAfterKernel(kernel.message);
      for (const report of [...this.open]) {
        if (headers.length > 0 || (report.timestamped && report.phase === 'tail')) this.finish(report, done);
      }
      if (headers.length > 0) this.start(headers, reportLine, kernel, done);
      return done;
    }
    const report = this.reportFor(kernel);
    if (report && this.joinsHeader(report, reportLine, kernel)) return done;
    const headers = this.matchHeader(kernel.message);
    if (report) {
      if (headers.length > 0 && !this.belongs(report, headers, kernel)) this.finish(report, done);
      else if (this.continueReport(report, reportLine, headers, done)) return done;
    }
    if (headers.length > 0) this.start(headers, reportLine, kernel, done);
    else this.remember(reportLine, kernel);
    return done;
  }

  /** Ends the reports being collected (the console closed); returns them. */
  flush(): CrashReport[] {
    const done: CrashReport[] = [];
    this.finishAll(done);
    return done;
  }

  /** The open report a line of this printing context belongs to (its own, or the NMI backtraces one asked for). */
  private reportFor(kernel: KernelLine): OpenReport | undefined {
    return (
      this.open.find((report) => report.caller === kernel.caller) ??
      (kernel.caller?.startsWith('C') ? this.open.find((report) => report.nmiBacktraces) : undefined)
    );
  }

  private remember(line: ReportLine, kernel: KernelLine): void {
    this.recent.push({ ...line, number: this.lineNumber, caller: kernel.caller });
    if (this.recent.length > LEAD_IN_LINES) this.recent.shift();
  }

  private start(headers: HeaderMatch[], line: ReportLine, kernel: KernelLine, done: CrashReport[]): void {
    // The line that opens the report and the message printed just before a WARN/BUG belong to its excerpt.
    const lead = this.recent.filter((prev) => prev.caller === kernel.caller);
    let cut = lead.length - 1;
    while (cut >= 0 && !REPORT_OPENER.test(lead[cut]!.message)) cut--;
    const leadIn = cut >= 0 ? lead.slice(cut) : [];
    this.recent = [];
    const report: OpenReport = {
      headers,
      lines: [...leadIn.map(({ text, message }) => ({ text, message })), line],
      titleLines: [line.message],
      titleClosed: false,
      startLine: leadIn[0]?.number ?? this.lineNumber,
      endLine: this.lineNumber,
      fatal: headers[0]!.rule.fatal === true,
      test: this.test,
      markerSeq: this.markerCount,
      timestamped: kernel.timestamped,
      caller: kernel.caller,
      nmiBacktraces: false,
      phase: 'body',
    };
    this.open.push(report);
    if (headers[0]!.rule.oneLine) this.finish(report, done);
  }

  /**
   * A header that only a catch-all rule matched, completed by the next line: a task name with a
   * newline in it splits "INFO: task <name>" from ":<pid> blocked for more than ..." (the kernel
   * prints comm as is).
   */
  private joinsHeader(report: OpenReport, line: ReportLine, kernel: KernelLine): boolean {
    if (report.lines.length !== 1 || report.headers[0]!.rule.title !== '{line}' || report.caller !== kernel.caller) return false;
    const joined = `${report.titleLines[0]!}\n${line.message}`;
    const headers = this.matchHeader(joined);
    if (headers.length === 0 || headers[0]!.rule.title === '{line}') return false;
    report.headers = headers;
    report.titleLines[0] = joined;
    report.lines.push(line);
    report.endLine = this.lineNumber;
    return true;
  }

  /**
   * Headers that are part of the open report: the panic after it, die() lines in its body, its
   * own absorbs, and, with CONFIG_PRINTK_CALLER, whatever the same task prints into the body of
   * its report (a WARNING raised while an RCU stall is being printed is part of that report).
   */
  private belongs(report: OpenReport, headers: readonly HeaderMatch[], kernel: KernelLine): boolean {
    if (headers.some(({ rule }) => isPanicRule(rule))) return true;
    if (headers.some(({ rule }) => report.headers[0]!.rule.absorbs?.includes(rule.id))) return true;
    if (report.phase !== 'body') return false;
    if (headers.some(({ rule }) => rule.continues || rule.aside)) return true;
    return report.caller !== undefined && report.caller === kernel.caller;
  }

  /** Adds a line to the open report; false when the line is not part of it (the report then ended). */
  private continueReport(report: OpenReport, line: ReportLine, headers: readonly HeaderMatch[], done: CrashReport[]): boolean {
    const { message } = line;
    const rule = headers[0]?.rule;
    if (headers.some((header) => isPanicRule(header.rule))) {
      report.fatal = true;
      const min = report.headers[0]!.rule.type === 'kmsan' ? MIN_LINES_BEFORE_PANIC_KMSAN : MIN_LINES_BEFORE_PANIC;
      if (report.titleLines.length > min) report.titleClosed = true;
    } else if (!rule && report.phase === 'tail' && !CONTINUATION.some((re) => re.test(message))) {
      this.finish(report, done);
      return false;
    }
    report.lines.push(line);
    report.endLine = this.lineNumber;
    if (NMI_BACKTRACE_START.test(message)) report.nmiBacktraces = true;
    // Without caller ids the lines after another task's stack dump cannot be told apart from the
    // report's own: the title is made of what came before.
    if (report.caller === undefined && INTERLEAVED_STACK.test(message)) report.titleClosed = true;
    if (!report.titleClosed && !TAINT_NOTE.test(message) && !parseTraceFrames(message).some((frame) => frame.unreliable)) {
      report.titleLines.push(message);
    }

    const end = report.headers[0]!.rule.end;
    if (END_PANIC.test(message) || (report.fatal && KERNEL_OFFSET.test(message))) {
      this.finish(report, done);
    } else if (END_TRACE.test(message) || (end ? end.test(message) : END_TASK_STACK.test(message))) {
      report.phase = 'tail';
    } else if (report.lines.length >= this.maxReportLines) {
      this.finish(report, done);
    }
    return true;
  }

  /** The rules whose header starts on this message, in rule order (empty: not a header). */
  private matchHeader(message: string): HeaderMatch[] {
    if (!this.precheck.test(message)) return [];
    if (FS_MESSAGES.some((re) => re.test(message)) || BOOT_NOTICES.some((re) => re.test(message))) return [];
    const matches: HeaderMatch[] = [];
    for (const rule of this.rules) {
      if (!message.includes(rule.header)) continue;
      if (rule.afterKernel && !this.sawTimestamps) continue;
      const match = rule.start.exec(message);
      if (!match) continue;
      if (rule.ignore?.some((re) => re.test(message))) continue;
      matches.push({ rule, groups: definedGroups(match), index: match.index });
    }
    return matches;
  }

  /** Headers printed without a timestamp (a reboot's decompressor banner), once the kernel ran. */
  private matchAfterKernel(message: string): HeaderMatch[] {
    if (!this.sawTimestamps) return [];
    return this.matchHeader(message).filter(({ rule }) => rule.afterKernel);
  }

  /** Titles a complete report; it comes out once every report that started before it is out. */
  private finish(report: OpenReport, done: CrashReport[]): void {
    this.open = this.open.filter((open) => open !== report);
    this.held.push(this.toCrashReport(report));
    this.release(done);
  }

  private finishAll(done: CrashReport[]): void {
    for (const report of [...this.open]) this.finish(report, done);
  }

  private release(done: CrashReport[]): void {
    const firstOpen = Math.min(...this.open.map((report) => report.startLine));
    this.held.sort((a, b) => a.startLine - b.startLine);
    while (this.held.length > 0 && this.held[0]!.startLine < firstOpen) done.push(this.held.shift()!);
  }

  private toCrashReport(open: OpenReport): CrashReport {
    const description = describeReport(open.headers, open.titleLines);
    const excerptLines = open.lines.slice(0, this.maxExcerptLines).map((line) => line.text);
    if (open.lines.length > this.maxExcerptLines) {
      excerptLines.push(`... (${open.lines.length - this.maxExcerptLines} more lines)`);
    }
    const excerpt = excerptLines.join('\n');
    const report: CrashReport = {
      title: description.title,
      type: description.type,
      // A corrupted report's title is not its identity: its fingerprint is its own evidence, so
      // it never merges with another crash.
      // The title is the identity (it names the culprit when there is one). A corrupted
      // report's title is not: its fingerprint is its own evidence, so it never merges.
      fingerprint: description.corrupted
        ? fingerprintCrash(description.type, description.title, `corrupted\n${open.startLine}\n${excerpt}`)
        : fingerprintCrash(description.type, description.title),
      excerpt,
      fatal: open.fatal,
      startLine: open.startLine,
      endLine: open.endLine,
      pattern: description.rule.id,
    };
    if (description.frame !== undefined) report.frame = description.frame;
    if (description.corrupted) report.corrupted = true;
    if (open.test !== undefined) {
      report.test = open.test;
      report.markerSeq = open.markerSeq;
    }
    return report;
  }
}

/** Runs a whole console log (bytes or text) through a LineSplitter and a CrashDetector. */
export function detectCrashes(log: string | Uint8Array, options: CrashDetectorOptions = {}): CrashReport[] {
  const splitter = new LineSplitter();
  const detector = new CrashDetector(options);
  const reports: CrashReport[] = [];
  for (const line of [...splitter.push(log), ...splitter.flush()]) reports.push(...detector.push(line));
  reports.push(...detector.flush());
  return reports;
}
