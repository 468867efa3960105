/**
 * Titling a collected report: which rule applies, its culprit frame, and whether the report is
 * corrupted (its frames or its end were lost). Pure functions over the report's kernel messages;
 * the detector calls describeReport() once, when a report is complete.
 */
import { demangle } from './demangle.js';
import { isSkippedFrame, normalizeFunction, parseIpLine, parseTraceFrames, stripSyscallPrefix } from './frames.js';
import { EMBEDDED_TIMESTAMP } from './kernel-line.js';
import type { CrashType, CulpritRule, FrameStep, ReportRule } from './patterns.js';

/** A rule whose `start` matched the report's first line, with what it captured. */
export interface HeaderMatch {
  rule: ReportRule;
  groups: Record<string, string>;
  /** Where `start` matched in the message: the title text starts there. */
  index: number;
}

export interface Description {
  title: string;
  type: CrashType;
  /** The culprit function: the one the title names, else the first relevant frame (for the reader). */
  frame?: string;
  corrupted: boolean;
  /** Why the report was judged corrupted (for docs and debugging). */
  corruptedReason?: string;
  /** The rule that titled the report. */
  rule: ReportRule;
}

/** The frame shown for reports whose title names no function: the fault site, else the trace. */
const INFORMATIONAL_CULPRIT: CulpritRule = { steps: ['ip', 'call-trace', 'stack'], fallback: [['call-trace', 'stack']] };

/** A corrupted report whose culprit was lost says so where the frame would be (as syzbot does). */
export const LOST_FRAME = 'corrupted';

// Lines that start a stack trace (arch/x86/kernel/dumpstack.c "Call Trace:", arm64 "Call trace:",
// arm "Backtrace:", mm/kasan/report.c "Allocated by task %u:" / "Freed by task %u:", mm/kmemleak.c
// "  backtrace (crc %x):", mm/kmsan/report.c "Uninit was stored to memory at:", riscv
// show_regs()' last line before its unlabelled stack dump).
const STACK_START: readonly RegExp[] = [
  /Call [Tt]race/,
  /Allocated:/,
  /Allocated by task \d+:/,
  /Freed:/,
  /Freed by task \d+:/,
  /(?:^|[^k]) backtrace(?: \(crc [0-9a-f]*\))?:/,
  /Backtrace:/,
  /Uninit was stored to memory at/,
];
const RISCV_STACK_START = /status: [0-9a-f]{16} badaddr: [0-9a-f]{16} cause: [0-9a-f]{16}/;
const CALL_TRACE = /Call [Tt]race:|Backtrace:/;
// lib/fault-inject.c: a FAULT_INJECTION stack (should_fail) printed into the middle of a report.
const FAULT_INJECTION_FRAME = /^(?: \[<?(?:0x)?[0-9a-f]+>?\])? should_fail(?:slab)?(?:\.[a-z0-9.]+)?\+0x/;
const STACK_NOT_AVAILABLE = '(stack is not available)';

/**
 * Stall and lockup reports catch a CPU at a random point of a loop. The representative frame is
 * the one just above the generic dispatcher that entered the looping code: the syscall entry,
 * the work item, the softirq, the file operation or socket call. These are those dispatchers.
 */
const STALL_ANCHORS = new RegExp(
  [
    'process_one_work', 'do_syscall_', 'do_fast_syscall_', 'sysenter_dispatch', 'tracesys_phase2', 'el0_svc_handler',
    'invoke_syscall', 'ret_fast_syscall', 'netif_receive_skb', 'do_softirq', 'call_timer_fn', '_run_timers',
    'run_timer_softirq', 'hrtimer_run', 'run_ksoftirqd', 'smpboot_thread_fn', '^kthread$', 'start_secondary',
    'cpu_startup_entry', 'ret_from_fork',
    // file operations and the VFS calls that dispatch them
    'vfs_write', 'vfs_read', 'vfs_iter_read', 'vfs_iter_write', 'do_iter_read', 'do_iter_write', 'call_read_iter',
    'call_write_iter', 'new_sync_read', 'new_sync_write', 'vfs_ioctl', 'ksys_ioctl', 'compat_ioctl', 'compat_sys_ioctl',
    'blkdev_driver_ioctl', 'blkdev_ioctl', 'do_iter_readv_writev', '^call_mmap', 'mmap_region', 'do_mmap',
    'do_dentry_open', 'vfs_open',
    // socket calls
    '^sock_sendmsg', '^sock_recvmsg', '^sock_release', '^__sock_release', '^setsockopt$', 'kernel_setsockopt',
    'sock_common_setsockopt', '^listen$', 'kernel_listen', 'sk_common_release', '^sock_mmap', '^accept$',
    'kernel_accept', '^sock_do_ioctl', '^sock_ioctl', '^compat_sock_ioctl', '^nfnetlink_rcv_msg',
    '^rtnetlink_rcv_msg', '^netlink_dump', '^(?:sys_)?(?:socketpair|connect|ioctl)',
    // page faults and the work done on the way back to userspace
    '__do_fault', 'do_page_fault', '^page_fault$', '__fput', 'task_work_run', 'exit_to_usermode', 'smp_call_function',
    'tasklet_action', 'tasklet_hi_action',
  ].join('|'),
);

/** The frame above the dispatcher (see STALL_ANCHORS); none when no dispatcher is on the stack. */
export function stallCulprit(frames: readonly string[]): string | undefined {
  let prev = frames[0];
  for (const frame of frames) {
    if (STALL_ANCHORS.test(frame)) {
      // a cross-CPU call waits for another CPU: the waiting itself is the identity
      return frame.includes('smp_call_function') ? 'smp_call_function' : prev;
    }
    prev = frame;
  }
  return undefined;
}

/**
 * A hung task sleeps in a victim's stack, not the culprit's. Hangs on an RCU grace period or on
 * the rtnl mutex are grouped by what they wait for; otherwise the first frame that is not
 * sleeping, locking or waiting is the task's own code.
 */
export function hungTaskCulprit(frames: readonly string[]): string | undefined {
  for (const frame of frames) {
    if (frame.includes('rtnl_lock')) return frame;
    if (/synchronize_(?:rcu|srcu|net|sched)/.test(frame)) return 'synchronize_rcu';
  }
  const waiting = /sched|_lock|_slowlock|down|rwsem|completion|kthread|wait|synchronize|context_switch|__switch_to|cancel_delayed_work|rcu_barrier/;
  return frames.find((frame) => !waiting.test(frame));
}

interface Walk {
  /** Candidate function names, helpers already skipped, in the order met. */
  frames: string[];
  /** A fault-injection stack was met inside the report. */
  interleaved: boolean;
}

/** Collects candidate culprits by following `steps` through the report's messages. */
function walkFrames(steps: readonly FrameStep[], lines: readonly string[], header: HeaderMatch, skip: RegExp | undefined): Walk {
  const walk: Walk = { frames: [], interleaved: false };
  const add = (func: string | undefined): void => {
    if (func === undefined) return;
    const name = demangle(normalizeFunction(func));
    if (!isSkippedFrame(name, skip)) walk.frames.push(name);
  };
  let i = 0;
  for (let s = 0; s < steps.length; s++) {
    const step = steps[s]!;
    if (step === 'header') {
      add(header.groups['func']);
      i = Math.max(i, 1);
      continue;
    }
    if (step === 'stack') {
      const next = steps[s + 1];
      for (; i < lines.length; i++) {
        const line = lines[i]!;
        if (FAULT_INJECTION_FRAME.test(line)) {
          walk.interleaved = true;
          i++;
          break;
        }
        if (STACK_START.some((re) => re.test(line))) {
          i++;
          break;
        }
        if (next instanceof RegExp) {
          const match = next.exec(line);
          if (match) {
            add(match.groups?.['func']);
            s++;
            i++;
            break;
          }
        }
        for (const frame of parseTraceFrames(line)) if (!frame.unreliable) add(frame.func);
      }
      continue;
    }
    // 'ip', 'call-trace' or a RegExp: move past the first line that matches.
    let found = false;
    for (; i < lines.length; i++) {
      const line = lines[i]!;
      if (FAULT_INJECTION_FRAME.test(line)) {
        // another stack runs through the report here: this step cannot be trusted past it
        walk.interleaved = true;
        found = true;
        i++;
        break;
      }
      if (step === 'ip') {
        const ip = parseIpLine(line);
        if (!ip) continue;
        add(ip.func);
      } else if (step === 'call-trace') {
        if (!CALL_TRACE.test(line)) continue;
      } else {
        const match = step.exec(line);
        if (!match) continue;
        add(match.groups?.['func']);
      }
      found = true;
      i++;
      break;
    }
    if (!found) break;
  }
  return walk;
}

function pick(rule: CulpritRule, frames: readonly string[]): string | undefined {
  const names = frames.map(stripSyscallPrefix);
  if (rule.pick === 'stall') return stallCulprit(names);
  if (rule.pick === 'hung') return hungTaskCulprit(names);
  return names[0];
}

const SKIP_REGEXES = new WeakMap<CulpritRule, RegExp | undefined>();

/** A rule's own skip list as one regex, compiled once. */
function skipRegex(rule: CulpritRule): RegExp | undefined {
  if (!SKIP_REGEXES.has(rule)) SKIP_REGEXES.set(rule, rule.skip?.length ? new RegExp(rule.skip.join('|')) : undefined);
  return SKIP_REGEXES.get(rule);
}

/** The culprit of a report, or undefined when its frames were lost. */
export function findCulprit(rule: CulpritRule, lines: readonly string[], header: HeaderMatch): { frame?: string; interleaved: boolean } {
  const skip = skipRegex(rule);
  let walk = walkFrames(rule.steps, lines, header, skip);
  let frame = pick(rule, walk.frames);
  // An interrupted walk is not trusted either: the next one decides.
  for (const steps of rule.fallback ?? []) {
    if (frame !== undefined && !walk.interleaved) break;
    walk = walkFrames(steps, lines, header, skip);
    frame = pick(rule, walk.frames);
  }
  return frame === undefined ? { interleaved: walk.interleaved } : { frame, interleaved: walk.interleaved };
}

/**
 * A report that names a call trace must show frames under it: every stack heading ("Call Trace:",
 * "Allocated by task", "backtrace:") needs a frame within the next 15 lines, and a report must
 * have at least one stack. Returns why the report is corrupted, or undefined.
 */
export function missingStack(lines: readonly string[]): string | undefined {
  let hasStack = false;
  for (const key of [...STACK_START, RISCV_STACK_START]) {
    const at = lines.findIndex((line) => key.test(line));
    if (at < 0) continue;
    if (lines.length - at < 3) return 'the call trace was cut off';
    let framed = false;
    for (let i = at + 1; i < lines.length && i <= at + 15; i++) {
      const line = lines[i]!;
      if (STACK_START.some((re) => re.test(line)) || RISCV_STACK_START.test(line)) break;
      if (line.includes(STACK_NOT_AVAILABLE) || parseTraceFrames(line).length > 0) {
        framed = true;
        break;
      }
    }
    if (framed) hasStack = true;
    else if (key !== RISCV_STACK_START) return 'a stack heading has no frames under it';
  }
  return hasStack ? undefined : 'the report has no stack trace';
}

/** Finds each `require` regex on a later line than the previous one; their groups, or undefined. */
function required(rule: ReportRule, lines: readonly string[]): Record<string, string> | undefined {
  const groups: Record<string, string> = {};
  let from = 1;
  for (const re of rule.require ?? []) {
    let found = false;
    for (let i = from; i < lines.length; i++) {
      const match = re.exec(lines[i]!);
      if (!match) continue;
      Object.assign(groups, definedGroups(match));
      from = i + 1;
      found = true;
      break;
    }
    if (!found) return undefined;
  }
  return groups;
}

export function definedGroups(match: RegExpExecArray): Record<string, string> {
  const groups: Record<string, string> = {};
  for (const [name, value] of Object.entries(match.groups ?? {})) if (value !== undefined) groups[name] = value;
  return groups;
}

/**
 * Titles a report. `headers` are the rules that matched its first line, in rule order; `lines`
 * its kernel messages (the first is the header line), without unreliable frames.
 */
export function describeReport(headers: readonly HeaderMatch[], lines: readonly string[]): Description {
  const headerLine = lines[0] ?? '';
  let lostRequirement = false;
  for (const header of headers) {
    const { rule } = header;
    const extra = required(rule, lines);
    if (!extra) {
      lostRequirement = true;
      continue;
    }
    const groups = { ...header.groups, ...extra };
    let frame: string | undefined;
    let reason: string | undefined;
    if (rule.culprit && rule.title.includes('{frame}')) {
      const culprit = findCulprit(rule.culprit, lines, header);
      frame = culprit.frame;
      if (frame === undefined) reason = 'no frame names a culprit';
      else if (culprit.interleaved) reason = 'a fault-injection stack is interleaved with the report';
    }
    const line = headerLine.slice(header.index);
    const title = formatTitle(rule.title, groups, frame ?? LOST_FRAME, line);
    if (EMBEDDED_TIMESTAMP.test(title)) reason ??= 'another console line is glued into the title';
    if (rule.corrupted) reason ??= 'only the tail of the report reached the console';
    // a specific rule recognised the header, but lines it always prints never came
    if (lostRequirement && rule.title === '{line}') reason ??= 'lines the report always prints are missing';
    if (!rule.stackless && rule.title !== '{line}') reason ??= missingStack(lines);
    const description: Description = { title, type: rule.type, corrupted: reason !== undefined, rule };
    // The function the title names; for titles that name none ("kernel panic: ..."), the first
    // frame of the stack all the same, for the reader (it is not part of the identity).
    const named = frame ?? (rule.title.includes('{func}') ? groups['func'] : undefined);
    const shown = named ?? (rule.title.includes('{frame}') ? undefined : findCulprit(rule.culprit ?? INFORMATIONAL_CULPRIT, lines, header).frame);
    if (shown !== undefined) description.frame = normalizeFunction(shown);
    if (reason !== undefined) description.corruptedReason = reason;
    return description;
  }
  // Every rule wanted lines that never came: the report was cut. Title it by its header line.
  const first = headers[0];
  const title = sanitizeTitle(first ? headerLine.slice(first.index) : headerLine);
  const description: Description = {
    title,
    type: first?.rule.type ?? 'bug',
    corrupted: true,
    corruptedReason: lostRequirement ? 'lines the report always prints are missing' : 'no rule matched',
    rule: first!.rule,
  };
  return description;
}

/** Fills a title format ("{name}": a captured group, "{frame}": the culprit, "{line}": the header line). */
export function formatTitle(format: string, groups: Record<string, string>, frame: string | undefined, line = ''): string {
  const template = frame === undefined ? format.replace(/ in \{frame\}/g, '') : format;
  const title = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (name === 'frame') return frame ?? '';
    if (name === 'line') return line;
    const value = groups[name] ?? '';
    return name === 'func' ? normalizeFunction(value) : value;
  });
  return sanitizeTitle(title);
}

// What differs between two sightings of one bug and must not reach a title: pids of fuzzer
// processes, addresses and hashed pointers, IP addresses, source line numbers, code offsets, CPU
// numbers and other numbers (after syzkaller pkg/report dynamic title replacements).
const TITLE_REPLACEMENTS: readonly [RegExp, string][] = [
  [/syz-executor\.?[0-9]+(?:[/:][0-9]+)?/g, 'syz-executor'],
  [/syzkaller[0-9]+(?:[/:][0-9]+)?/g, 'syzkaller'],
  [/([^a-zA-Z0-9])(?:0x)?[0-9a-f]{6,}/g, '$1ADDR'],
  [/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}/g, 'IP'],
  [/(\.\w+)(?::[0-9]+)+/g, '$1:LINE'],
  [/([a-zA-Z][a-zA-Z0-9_.]+)\+0x[0-9a-z]+\/0x[0-9a-z]+/g, '$1'],
  [/CPU#[0-9]+/g, 'CPU'],
  [/(\W)(\d+)(\W|$)/g, '$1NUM$3'],
  [/\d{7,}/g, 'NUM'],
];
const MAX_TITLE = 120;

/** Makes a title stable across sightings and printable: replacements above, one line, ≤ 120 chars. */
export function sanitizeTitle(text: string): string {
  let title = text;
  for (const [re, replacement] of TITLE_REPLACEMENTS) {
    // overlapping matches ("0,1,2") need more than one pass
    for (let previous = ''; previous !== title; ) {
      previous = title;
      title = title.replace(re, replacement);
    }
  }
  let out = '';
  for (const ch of title.slice(0, MAX_TITLE)) {
    const c = ch === '\t' ? ' ' : ch;
    const code = c.charCodeAt(0);
    if (code < 0x20 || code >= 0x7f) continue;
    if (c === ' ' && (out === '' || out.endsWith(' '))) continue;
    out += c;
  }
  return out.trim();
}
