/**
 * CrashDetector: whole console lines in, crash reports out.
 *
 * A report starts at a header line (CRASH_PATTERNS), then collects the kernel lines that follow:
 * - in its body, every kernel line (userspace lines interleaved on the console are skipped);
 *   other headers before the first call trace has ended belong to it ("kernel BUG at" is followed
 *   by "invalid opcode: 0000 [#1]", a NULL dereference by "Oops: 0000 [#1]");
 * - after its call trace ("</TASK>") or "---[ end trace", only lines that continue an oops dump
 *   (registers, "Code:", another backtrace, the panic that follows, "Kernel Offset:");
 * - a panic met in a report makes it fatal instead of starting another report
 *   (panic_on_oops: "Kernel panic - not syncing: Fatal exception").
 * It ends at "---[ end Kernel panic", "Kernel Offset:" of a fatal report, its pattern's `end`, the
 * first line that does not continue it, the next fstests test marker, a line cap, or flush().
 */
import { fingerprintCrash, type CrashReport } from './report.js';
import { CRASH_PATTERNS, type CrashPattern } from './patterns.js';
import { isGenericFrame, normalizeFunction, parseIpFrame, parseTraceFrame } from './frames.js';
import { parseFstestsMarker, parseKernelLine } from './kernel-line.js';
import { LineSplitter, toConsoleLine, type ConsoleLine } from './line-splitter.js';

export interface CrashDetectorOptions {
  /** The crash kinds to look for (default CRASH_PATTERNS). */
  patterns?: readonly CrashPattern[];
  /** A report is cut after this many lines (default 400). */
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
  /^CPU: \d+ (?:PID|UID): /,
  /^Hardware name: /,
  /^Workqueue: /,
  // arch/x86/kernel/dumpstack.c show_trace_log_lvl(): "Call Trace:", " <TASK>", " <IRQ>", frames
  /^Call Trace:/,
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
];

// kernel/panic.c: "---[ end trace %016llx ]---" (print_oops_end_marker)
const END_TRACE = /^---\[ end trace\b/;
// kernel/panic.c panic(): "---[ end Kernel panic - not syncing: %s ]---"
const END_PANIC = /^---\[ end Kernel panic\b/;
// arch/x86/kernel/setup.c dump_kernel_offset(), a panic notifier: printed by panic() only
const KERNEL_OFFSET = /^Kernel Offset: /;
// arch/x86/kernel/dumpstack.c show_trace_log_lvl(): " </TASK>" closes the task stack
const END_TASK_STACK = /^\s*<\/TASK>/;
const INTERRUPT_STACK_OPEN = /^\s*<(?:IRQ|NMI|SOFTIRQ)>/;
const INTERRUPT_STACK_CLOSE = /^\s*<(?:\/(?:IRQ|NMI|SOFTIRQ)|TASK)>/;

interface ReportLine {
  /** Cleaned console line (with its printk prefix), for the excerpt. */
  text: string;
  /** Kernel message without the printk prefix, for frames. */
  message: string;
}

interface OpenReport {
  pattern: CrashPattern;
  groups: Record<string, string>;
  lines: ReportLine[];
  startLine: number;
  endLine: number;
  fatal: boolean;
  test: string | undefined;
  /** The header had a printk timestamp: lines without one are userspace, not part of the report. */
  timestamped: boolean;
  /** 'body' until the first call trace ends, then only continuation lines ('tail'). */
  phase: 'body' | 'tail';
}

interface HeaderMatch {
  pattern: CrashPattern;
  groups: Record<string, string>;
}

/** Finds crash reports in a console, one whole line at a time. */
export class CrashDetector {
  private readonly patterns: readonly CrashPattern[];
  private readonly maxReportLines: number;
  private readonly maxExcerptLines: number;
  private lineNumber = 0;
  private test: string | undefined;
  private sawTimestamps = false;
  private open: OpenReport | undefined;

  constructor(options: CrashDetectorOptions = {}) {
    this.patterns = options.patterns ?? CRASH_PATTERNS;
    this.maxReportLines = options.maxReportLines ?? 400;
    this.maxExcerptLines = options.maxExcerptLines ?? 150;
  }

  /** The test named by the last fstests marker (or setCurrentTest). */
  get currentTest(): string | undefined {
    return this.test;
  }

  /** Overrides the running test, for consoles where fstests' kmsg marker is not printed. */
  setCurrentTest(test: string | undefined): void {
    this.test = test;
  }

  /** A report is being collected and it is already known to be fatal (a panic is under way). */
  get fatalPending(): boolean {
    return this.open?.fatal ?? false;
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
      this.finish(done);
      this.test = marker;
      return done;
    }
    // Once the console has shown printk timestamps, a line without one is userspace output.
    const fromKernel = kernel.timestamped || !this.sawTimestamps;
    const reportLine = { text, message: kernel.message };
    if (this.open && this.continueReport(this.open, reportLine, fromKernel, done)) return done;
    if (!fromKernel) return done;
    const header = this.matchHeader(kernel.message);
    if (header) {
      this.open = {
        pattern: header.pattern,
        groups: header.groups,
        lines: [reportLine],
        startLine: this.lineNumber,
        endLine: this.lineNumber,
        fatal: header.pattern.fatal,
        test: this.test,
        timestamped: kernel.timestamped,
        phase: 'body',
      };
    }
    return done;
  }

  /** Ends the report being collected (the console closed); returns it. */
  flush(): CrashReport[] {
    const done: CrashReport[] = [];
    this.finish(done);
    return done;
  }

  /** Adds a line to the open report; false when the line is not part of it (the report then ended). */
  private continueReport(report: OpenReport, line: ReportLine, fromKernel: boolean, done: CrashReport[]): boolean {
    if (!fromKernel && report.timestamped) {
      if (report.phase === 'body') return true; // userspace interleaved with the report
      this.finish(done);
      return true;
    }
    const header = this.matchHeader(line.message);
    if (header) {
      const isPanic = header.pattern.type === 'panic';
      // In the body, other kinds of header are parts of this report ("Oops: 0000 [#1]" after
      // "BUG: kernel NULL pointer dereference"); the same kind again is a second report.
      const belongs =
        isPanic ||
        report.pattern.absorbs?.includes(header.pattern.id) === true ||
        (report.phase === 'body' && header.pattern.id !== report.pattern.id);
      if (!belongs) {
        this.finish(done);
        return false;
      }
      if (isPanic) report.fatal = true;
    } else if (report.phase === 'tail' && !CONTINUATION.some((re) => re.test(line.message))) {
      this.finish(done);
      return false;
    }
    report.lines.push(line);
    report.endLine = this.lineNumber;

    const { message } = line;
    if (report.pattern.end?.test(message) || END_PANIC.test(message) || (report.fatal && KERNEL_OFFSET.test(message))) {
      this.finish(done);
    } else if (END_TRACE.test(message) || (END_TASK_STACK.test(message) && !report.pattern.end)) {
      report.phase = 'tail';
    } else if (report.lines.length >= this.maxReportLines) {
      this.finish(done);
    }
    return true;
  }

  private matchHeader(message: string): HeaderMatch | undefined {
    for (const pattern of this.patterns) {
      if (!message.includes(pattern.header)) continue;
      const match = pattern.title.exec(message);
      if (!match) continue;
      if (pattern.suppress?.some((re) => re.test(message))) continue;
      const groups: Record<string, string> = {};
      for (const [name, value] of Object.entries(match.groups ?? {})) {
        if (value !== undefined) groups[name] = value;
      }
      return { pattern, groups };
    }
    return undefined;
  }

  private finish(done: CrashReport[]): void {
    const report = this.open;
    if (!report) return;
    this.open = undefined;
    done.push(this.toCrashReport(report));
  }

  private toCrashReport(open: OpenReport): CrashReport {
    const { pattern } = open;
    const frame = pickFrame(open.lines, pattern, open.groups);
    const title = formatTitle(pattern.format, open.groups, frame);
    const excerptLines = open.lines.slice(0, this.maxExcerptLines).map((line) => line.text);
    if (open.lines.length > this.maxExcerptLines) {
      excerptLines.push(`... (${open.lines.length - this.maxExcerptLines} more lines)`);
    }
    const report: CrashReport = {
      title,
      type: pattern.type,
      fingerprint: fingerprintCrash(pattern.type, title, frame),
      excerpt: excerptLines.join('\n'),
      fatal: open.fatal,
      startLine: open.startLine,
      endLine: open.endLine,
      pattern: pattern.id,
    };
    if (frame !== undefined) report.frame = frame;
    if (open.test !== undefined) report.test = open.test;
    return report;
  }
}

/** The first relevant frame of a report: header function, lockdep "at:", then IP and trace lines. */
function pickFrame(lines: readonly ReportLine[], pattern: CrashPattern, groups: Record<string, string>): string | undefined {
  const headerFunc = groups['func'];
  if (pattern.frameFromHeader && headerFunc !== undefined) {
    const func = normalizeFunction(headerFunc);
    if (!isGenericFrame(func)) return func;
  }
  if (pattern.frameLine) {
    for (const { message } of lines) {
      const func = pattern.frameLine.exec(message)?.groups?.['func'];
      if (func !== undefined && !isGenericFrame(normalizeFunction(func))) return normalizeFunction(func);
    }
  }
  let inInterrupt = false;
  for (const { message } of lines) {
    if (INTERRUPT_STACK_OPEN.test(message)) inInterrupt = true;
    else if (INTERRUPT_STACK_CLOSE.test(message)) inInterrupt = false;
    const frame = parseIpFrame(message) ?? parseTraceFrame(message);
    if (!frame || frame.unreliable) continue;
    if (pattern.skipInterruptFrames && inInterrupt) continue;
    if (isGenericFrame(frame.func)) continue;
    return frame.func;
  }
  return undefined;
}

/** Fills a pattern's title format; drops " in {frame}" when no frame was found. */
export function formatTitle(format: string, groups: Record<string, string>, frame: string | undefined): string {
  const template = frame === undefined ? format.replace(/ in \{frame\}/g, '') : format;
  const title = template.replace(/\{(\w+)\}/g, (_, name: string) =>
    name === 'frame' ? (frame ?? '') : normalizeTitleText(name === 'func' ? normalizeFunction(groups[name] ?? '') : (groups[name] ?? '')),
  );
  return title.replace(/\s+/g, ' ').trim();
}

/**
 * Removes what differs between two VMs hitting the same bug: code offsets ("+0x12/0x34"),
 * addresses (12+ hex digits: pointers, hashed %p) and runs of blanks.
 */
export function normalizeTitleText(text: string): string {
  return text
    .replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+/gi, '')
    .replace(/\b(?:0x)?[0-9a-f]{12,}\b/gi, 'ADDR')
    .replace(/\s+/g, ' ')
    .trim();
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
