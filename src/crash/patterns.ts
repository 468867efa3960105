/**
 * The kinds of kernel crash reports, as data. Each rule says which console line starts a report
 * (a cheap substring `header`, then a `start` regex on the message after the printk prefix), how
 * the report is titled (syzbot's format, so a title can be pasted into the syzbot dashboard) and
 * how its culprit frame is found. Rules are tried in order: the first whose `start` matches the
 * line opens the report; when the report is complete, the first of the rules that matched its
 * first line whose `require` lines are all present titles it.
 * Every header cites the kernel file that prints it; docs/crash-titles.md lists them.
 */

/** Crash class of a report (CrashInfo.type). Synthetic kinds are built by makeSyntheticReport. */
export type CrashType =
  | 'panic'
  | 'oops'
  | 'bug'
  | 'warning'
  | 'gpf'
  | 'kasan'
  | 'kmsan'
  | 'kcsan'
  | 'ubsan'
  | 'kfence'
  | 'softlockup'
  | 'hardlockup'
  | 'rcustall'
  | 'hungtask'
  | 'lockdep'
  | 'leak'
  | 'oom'
  | 'reboot'
  | 'no-output'
  | 'lost-connection';

/** One step of the walk that collects candidate culprit frames (see titles.ts). */
export type FrameStep =
  /** The first instruction-pointer line ("RIP: 0010:f+0x1/0x2", "pc : f+0x..."): its function. */
  | 'ip'
  /** Move past the next "Call Trace:" line. */
  | 'call-trace'
  /** Every frame until the next stack starts ("Allocated by task", another "Call Trace:"...). */
  | 'stack'
  /** The `func` group of the header line. */
  | 'header'
  /** Move past the next line matching this; its `func` group (if any) is a candidate. */
  | RegExp;

export interface CulpritRule {
  /** The walk; its candidates, minus skipped frames, go to `pick`. */
  steps: readonly FrameStep[];
  /** Further walks, tried in order while the previous one found no candidate or was interrupted. */
  fallback?: readonly (readonly FrameStep[])[];
  /** More helper frames to skip for this kind (substrings, like frames.ts SKIPPED_FRAME_GROUPS). */
  skip?: readonly string[];
  /** 'first' candidate (default), 'stall': the frame above the work dispatcher, 'hung': see titles.ts. */
  pick?: 'first' | 'stall' | 'hung';
}

export interface ReportRule {
  /** Stable name, used in tests and CrashReport.pattern. */
  id: string;
  /** Substring the message must contain before `start` is tried (cheap pre-check). */
  header: string;
  /** Regex on the message; where it matches, the report's title text starts. Named groups feed `title`. */
  start: RegExp;
  /** Messages that match `start` but are not this report. */
  ignore?: readonly RegExp[];
  type: CrashType;
  /** The VM is dead (or must be treated so) as soon as this is printed. */
  fatal?: boolean;
  /**
   * The title: "{name}" is a named group of `start` or `require`, "{frame}" the culprit,
   * "{line}" the header line from where `start` matched.
   */
  title: string;
  /** Lines that must follow the header, in order, for this rule to title the report. */
  require?: readonly RegExp[];
  /** How {frame} is found (for titles without {frame}: the frame shown to the reader). */
  culprit?: CulpritRule;
  /** The kernel prints this report without a call trace: a missing trace does not make it corrupted. */
  stackless?: boolean;
  /** This header alone means the report's beginning was lost (only its tail reached the console). */
  corrupted?: boolean;
  /** Met inside another report, this header is part of it (a die() header, the panic that follows). */
  continues?: boolean;
  /** The report ends with the line matching this (and not at the end of its first call trace). */
  end?: RegExp;
  /** Ids of rules whose headers, met inside this report, belong to it. */
  absorbs?: readonly string[];
  /**
   * Printed alongside crashes rather than as one (the OOM killer): met in the body of another
   * report, it is a line of that report, not the start of a new one.
   */
  aside?: boolean;
  /**
   * Printed without a printk timestamp (by the boot decompressor, not printk): it is matched on
   * lines kt otherwise takes for userspace output, and only once the kernel has printed before.
   */
  afterKernel?: boolean;
  /** The report is this one line. */
  oneLine?: boolean;
}

/**
 * Kernel messages that filesystem tests provoke on purpose (corruption, shutdown, I/O errors).
 * They are never the start of a crash report, whatever text follows their prefix.
 */
export const FS_MESSAGES: readonly RegExp[] = [
  // fs/xfs/xfs_message.c __xfs_printk(): "XFS (%s): %pV" / "XFS: %pV"
  /^XFS(?: \([^)]*\))?: /,
  // fs/ext4/super.c __ext4_error() "EXT4-fs error (device %s): ..." and __ext4_msg() "EXT4-fs (%s): ..."
  /^EXT[234]-fs\b/i,
  // fs/btrfs/messages.c btrfs_printk(): "BTRFS %s (device %s): ..." and "BTRFS: error (device ..."
  /^BTRFS\b/,
  // fs/f2fs, fs/jbd2, fs/gfs2, fs/ocfs2, fs/erofs, fs/squashfs message prefixes
  /^(?:F2FS-fs|JBD2|GFS2|gfs2|ocfs2|OCFS2|EROFS|erofs|SQUASHFS|NILFS|nilfs2?|ceph|CIFS|NFS|nfs)\b/,
  // block/blk-core.c blk_print_req_error(), fs/buffer.c buffer_io_error()
  /^(?:blk_update_request: )?(?:critical )?I\/O error\b/,
  /^Buffer I\/O error\b/,
];

/**
 * Boot-time notices that say "WARNING:" as advice, not as a splat: the CPU vulnerability messages
 * of arch/x86/kernel/cpu/bugs.c (pr_fmt "Spectre V2 : ", "RETBleed: ", "SRSO: ", ...), printed at
 * every boot of a VM with the host's CPU model (KVM, -cpu host). They are never reports.
 */
export const BOOT_NOTICES: readonly RegExp[] = [
  /^(?:Spectre V[12]|RETBleed|Speculative Return Stack Overflow|SRSO|MDS|TAA|MMIO Stale Data|SRBDS|GDS|L1TF|Speculative Store Bypass|Register File Data Sampling|ITS|BHI|VMSCAPE|Transient Scheduler Attacks|x86\/bugs) ?: /,
];

/** A printk'd function name as in "%pS": the name, then a clone suffix or the offset. */
const FUNC = String.raw`(?<func>[A-Za-z0-9_]+)[.+]`;
/** A source position "fs/ext4/xattr.c:1058" (__FILE__:__LINE__). */
const SRC = String.raw`(?<src>[A-Za-z0-9_\-/.]+\.[a-z]+:\d+)`;
/** A code address on old kernels: "[<ffffffff81234567>]". */
const PC = String.raw`\[<?(?:0x)?[0-9a-f]+>?\]`;
/** The line that opens and closes sanitizer reports (mm/kasan/report.c start_report()). */
const SANITIZER_RULE = /^\s*={40,}\s*$/;

/** The RIP, then the call trace: for faults, where the faulting instruction is the first suspect. */
const IP_THEN_TRACE: readonly FrameStep[] = ['ip', 'call-trace', 'stack'];
const TRACE: readonly FrameStep[] = ['call-trace', 'stack'];
/**
 * kernel/panic.c __warn(): since 4.15 the WARNING traps (UD2/BRK) and prints the registers of
 * the warning site ("RIP:", powerpc "--- interrupt: 700 at"); older kernels print only a call
 * trace that starts with the reporting machinery.
 */
function warningCulprit(...skip: string[]): CulpritRule {
  return { steps: ['ip', 'stack'], fallback: [TRACE], skip };
}
/** Lockdep's "at: func+0x.." lines (kernel/locking/lockdep.c print_lock(): "%s, at: %pS"). */
const AT_FUNC = new RegExp(String.raw`at: (?:${PC} +)?${FUNC}`);

/** The timer interrupt that runs the stall detector, and RCU's own machinery. */
const STALL_DETECTOR_SKIP = ['apic_timer_interrupt', 'rcu'];
/** mm/oom_kill.c and the allocation and page-fault paths that end in it. */
const OOM_SKIP = ['dump_header', 'oom_kill_process', 'out_of_memory', 'alloc_pages', 'folio_alloc', 'vma_alloc_folio', 'handle_mm_fault', 'do_user_addr_fault', 'do_anonymous_page', 'page_fault', 'filemap_fault', 'do_fault', 'do_read_fault', '__do_fault'];
/** kmemleak's own hooks and the allocators and duplicators it records through. */
const KMEMLEAK_SKIP = ['kmemleak', 'mmap', 'kmem', 'slab', 'alloc', 'create_object', 'idr_get', 'list_lru_init', 'kasprintf', 'kvasprintf', 'pcpu_create', 'strdup', 'strndup', 'memdup'];

// Lines that contain a header word but are not reports: debug output that happens to spell it
// (lib/debugobjects.c "ODEBUG:", Android's "Boot_DEBUG:"), and messages whose "WARNING:" is
// advice, not a splat (sshd, the mand mount option of fs/namespace.c, CPU mitigation notes).
const BUG_IGNORE = [/ODEBUG:/, /Boot_DEBUG:/, /xlog_status:/, /DEBUG:/, /BUG: no syscalls can create resource/];
const WARNING_IGNORE = [
  /WARNING: \/etc\/ssh\/moduli does not exist, using fixed modulus/,
  /WARNING: workqueue cpumask: online intersect > possible intersect/,
  /WARNING: [Tt]he mand mount option/,
  /WARNING: Unsupported flag value\(s\) of 0x%x in DT_FLAGS_1/,
  /WARNING: Unprivileged eBPF is enabled with eIBRS/,
  /WARNING: fbcon: Driver '(.*)' missed to adjust virtual screen size/,
  /WARNING: See https.* for mitigation options\./,
  /WARNING: kernel not compiled with CPU_SRSO/,
  /EXT4-[Ff][Ss](?: \(.*\))?:/,
  /warning: .* uses (?:deprecated v2 capabilities|wireless extensions)/i,
  /XFS \(\w+\): WARNING/,
];
const INFO_IGNORE = [
  /INFO: lockdep is turned off/,
  /INFO: Stall ended before state dump start/,
  /INFO: NMI handler/,
  /INFO: recovery required on readonly filesystem/,
  /(?:handler|interrupt).*took too long/,
  /INFO: sys_.* is not present in \/proc\/kallsyms/,
  /INFO: no syscalls can create resource/,
  /rmt_storage:INFO:/,
  /_INFO:/,
];

/** "BUG:" not as the tail of another word ("ODEBUG:", "DEBUG:"). */
const BUG = String.raw`(?<![A-Za-z_])BUG:`;
const WARNING = String.raw`(?<![A-Za-z_])WARNING:`;
const INFO = String.raw`(?<![A-Za-z_])INFO:`;

function bug(rule: Omit<ReportRule, 'header' | 'ignore'> & { ignore?: readonly RegExp[] }): ReportRule {
  return { header: 'BUG:', ...rule, ignore: [...BUG_IGNORE, ...(rule.ignore ?? [])] };
}
function warning(rule: Omit<ReportRule, 'header' | 'ignore' | 'type'> & { type?: CrashType }): ReportRule {
  return { header: 'WARNING:', type: 'warning', ...rule, ignore: WARNING_IGNORE };
}
function info(rule: Omit<ReportRule, 'header' | 'ignore'>): ReportRule {
  return { header: 'INFO:', ...rule, ignore: INFO_IGNORE };
}
function re(source: string): RegExp {
  return new RegExp(source);
}

export const REPORT_RULES: readonly ReportRule[] = [
  // ---- mm/kasan/report.c print_error_description(): "BUG: KASAN: %s in %pS", then
  // print_report(): "%s of size %zu at addr %px by task %s/%d" (Read or Write).
  bug({
    id: 'kasan',
    start: re(String.raw`${BUG} KASAN: (?<kind>[a-z-]+) in ${FUNC}`),
    require: [/(?<access>Read|Write) (?:of size|at addr) [0-9a-f]+/],
    title: 'KASAN: {kind} {access} in {frame}',
    type: 'kasan',
    // Hardware tag-based KASAN (arm64 MTE) reports from the fault handler.
    culprit: { steps: ['header', 'call-trace', 'stack'], skip: ['kernel_fault', 'tag_check', 'mem_abort', '^el1_', '^el1h_'] },
    end: SANITIZER_RULE,
  }),
  bug({
    id: 'kasan-invalid-free',
    start: re(String.raw`${BUG} KASAN: (?:double-free or invalid-free|double-free|invalid-free) in ${FUNC}`),
    title: 'KASAN: invalid-free in {frame}',
    type: 'kasan',
    // the free functions themselves: the caller freed twice
    culprit: { steps: ['header', 'call-trace', 'stack'], skip: ['slab_', 'kfree', 'vunmap', 'vfree'] },
    end: SANITIZER_RULE,
  }),
  bug({
    id: 'kasan-address',
    // 4.x: "BUG: KASAN: wild-memory-access on address %p", "Read of size %zu by task ..."
    start: re(String.raw`${BUG} KASAN: (?<kind>[a-z-]+) on address`),
    require: [/(?<access>Read|Write) of size (?<size>\d+)/],
    title: 'KASAN: {kind} {access}',
    type: 'kasan',
    end: SANITIZER_RULE,
  }),
  bug({
    id: 'kasan-other',
    start: re(String.raw`${BUG} KASAN: (?<rest>.*)`),
    title: 'KASAN: {rest}',
    type: 'kasan',
    corrupted: true,
    end: SANITIZER_RULE,
  }),
  // ---- mm/kmsan/report.c kmsan_report(): "BUG: KMSAN: %s in %pSr", the stack, then
  // "Uninit was stored to memory at:" / "Uninit was created at:" / "Local variable %s created at:".
  bug({
    id: 'kmsan-usb-infoleak',
    start: re(String.raw`${BUG} KMSAN: kernel-usb-infoleak in ${FUNC}`),
    title: 'KMSAN: kernel-usb-infoleak in {frame}',
    type: 'kmsan',
    stackless: true,
    culprit: {
      steps: ['stack'],
      skip: ['alloc_skb', 'usb_submit_urb', 'usb_start_wait_urb', 'usb_bulk_msg', 'usb_interrupt_msg', 'usb_control_msg'],
    },
    end: SANITIZER_RULE,
  }),
  bug({
    id: 'kmsan',
    start: re(String.raw`${BUG} KMSAN: (?<kind>[a-z-]+) in ${FUNC}`),
    title: 'KMSAN: {kind} in {frame}',
    type: 'kmsan',
    stackless: true,
    // socket buffer allocation and netlink plumbing, generic crypto: where the bug shows, not where it is
    culprit: { steps: ['stack'], skip: ['alloc_skb', 'netlink_ack', 'netlink_rcv_skb', '_encrypt$', '^(?:crypto|cipher|drbg|rng)_'] },
    end: SANITIZER_RULE,
  }),
  // ---- kernel/kcsan/report.c print_report(): "BUG: KCSAN: data-race in %ps / %ps"
  bug({
    id: 'kcsan',
    start: re(String.raw`${BUG} KCSAN: (?<rest>.*)`),
    title: 'KCSAN: {rest}',
    type: 'kcsan',
    stackless: true,
    end: SANITIZER_RULE,
  }),
  // ---- mm/kfence/report.c kfence_report_error(): "BUG: KFENCE: use-after-free %s in %pS",
  // "out-of-bounds %s", "invalid %s", "invalid free", "memory corruption"
  bug({
    id: 'kfence',
    start: re(String.raw`${BUG} KFENCE: (?<kind>use-after-free|out-of-bounds) (?<access>read|write) in ${FUNC}`),
    title: 'KFENCE: {kind} {access} in {frame}',
    type: 'kfence',
    culprit: { steps: ['header', 'stack'] },
    end: SANITIZER_RULE,
  }),
  bug({
    id: 'kfence-invalid-free',
    start: re(String.raw`${BUG} KFENCE: invalid free in ${FUNC}`),
    title: 'KFENCE: invalid free in {frame}',
    type: 'kfence',
    stackless: true,
    culprit: { steps: ['header', 'stack'] },
    end: SANITIZER_RULE,
  }),
  bug({
    id: 'kfence-invalid-access',
    start: re(String.raw`${BUG} KFENCE: invalid (?<access>read|write) in ${FUNC}`),
    title: 'KFENCE: invalid {access} in {frame}',
    type: 'kfence',
    culprit: { steps: ['header', 'stack'] },
    end: SANITIZER_RULE,
  }),
  bug({
    id: 'kfence-corruption',
    start: re(String.raw`${BUG} KFENCE: memory corruption in ${FUNC}`),
    title: 'KFENCE: memory corruption in {frame}',
    type: 'kfence',
    stackless: true,
    culprit: { steps: ['header', 'stack'] },
    end: SANITIZER_RULE,
  }),
  // ---- arch/x86/mm/fault.c show_fault_oops(): "BUG: unable to handle page fault for address: %px"
  // (before 5.2 "BUG: unable to handle kernel paging request at %px"); powerpc
  // arch/powerpc/mm/fault.c "BUG: Unable to handle kernel data access"
  bug({
    id: 'page-fault',
    start: re(String.raw`${BUG} (?:unable to handle kernel paging request|unable to handle page fault for address|Unable to handle kernel data access)`),
    title: 'BUG: unable to handle kernel paging request in {frame}',
    type: 'oops',
    culprit: { steps: IP_THEN_TRACE },
  }),
  // ... "BUG: kernel NULL pointer dereference, address: %px" (before 5.2 "BUG: unable to handle
  // kernel NULL pointer dereference at %px"; powerpc "BUG: Kernel NULL pointer dereference")
  bug({
    id: 'null-deref',
    start: re(String.raw`${BUG} (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference|Kernel NULL pointer dereference)`),
    title: 'BUG: unable to handle kernel NULL pointer dereference in {frame}',
    type: 'oops',
    culprit: { steps: IP_THEN_TRACE },
  }),
  bug({
    // Before 4.15 the message was printed by two printk() calls; a line from another CPU can
    // land between "BUG: unable to handle kernel " and "paging request at".
    id: 'unable-to-handle-cut',
    start: re(String.raw`${BUG} (?:unable to handle kernel|Unable to handle kernel)`),
    title: 'BUG: unable to handle kernel',
    type: 'oops',
    corrupted: true,
  }),
  // ---- kernel/locking/spinlock_debug.c spin_dump()/rwlock_bug(): "BUG: spinlock %s on CPU#%d"
  bug({
    id: 'spinlock',
    start: re(String.raw`${BUG} (?<lock>spinlock|rwlock) (?<what>lockup suspected|already unlocked|recursion|cpu recursion|bad magic|wrong owner|wrong CPU|trylock failure on UP)`),
    title: 'BUG: {lock} {what} in {frame}',
    type: 'bug',
    culprit: { steps: TRACE, skip: ['spin_', '_lock', '_unlock'] },
  }),
  // ---- kernel/watchdog.c watchdog_timer_fn(): "BUG: soft lockup - CPU#%d stuck for %us! [%s:%d]"
  bug({
    id: 'soft-lockup',
    start: re(String.raw`${BUG} soft lockup`),
    title: 'BUG: soft lockup in {frame}',
    type: 'softlockup',
    culprit: { steps: IP_THEN_TRACE, pick: 'stall' },
  }),
  // ---- kernel/locking/lockdep.c print_held_locks_bug() (debug_check_no_locks_held()):
  // "BUG: %s/%d still has locks held!" (before 4.10; "WARNING:" since)
  bug({
    id: 'locks-held',
    start: re(String.raw`${BUG} .*still has locks held!`),
    require: [re(String.raw`${PC} +${FUNC}`)],
    title: 'BUG: still has locks held in {func}',
    type: 'lockdep',
  }),
  // ---- kernel/sched/core.c __schedule_bug(): "BUG: scheduling while atomic: %s/%d/0x%08x"
  bug({
    id: 'scheduling-while-atomic',
    start: re(String.raw`${BUG} scheduling while atomic`),
    title: 'BUG: scheduling while atomic in {frame}',
    type: 'bug',
    culprit: { steps: TRACE, skip: ['schedule'] },
  }),
  // ---- kernel/locking/lockdep.c lockdep_sys_exit(): "BUG: lock held when returning to user space!",
  // "%s/%d is leaving the kernel with locks still held!"
  bug({
    id: 'lock-held-returning',
    start: re(String.raw`${BUG} lock held when returning to user space`),
    require: [/leaving the kernel with locks still held/, re(String.raw`at: (?:${PC} +)?${FUNC}`)],
    title: 'BUG: lock held when returning to user space in {func}',
    type: 'lockdep',
    stackless: true,
  }),
  // ---- kernel/locking/lockdep.c print_unlock_imbalance_bug(), print_freed_lock_bug(): "BUG:"
  // before 4.10 (in brackets), "WARNING:" since
  bug({
    id: 'bad-unlock-balance',
    start: re(String.raw`${BUG} bad unlock balance detected!`),
    title: 'BUG: bad unlock balance in {frame}',
    type: 'lockdep',
    culprit: { steps: [re(String.raw`${PC} +${FUNC}`), 'call-trace', 'stack'] },
  }),
  bug({
    id: 'held-lock-freed',
    start: re(String.raw`${BUG} held lock freed!`),
    require: [re(String.raw`${PC} +${FUNC}`)],
    title: 'BUG: held lock freed in {func}',
    type: 'lockdep',
  }),
  // ---- kernel/fork.c check_mm(): "BUG: Bad rss-counter state mm:%p type:%s val:%ld",
  // "BUG: non-zero pgtables_bytes on freeing mm" (older: nr_ptes, nr_pmds)
  bug({ id: 'bad-rss', start: re(String.raw`${BUG} Bad rss-counter state`), title: 'BUG: Bad rss-counter state', type: 'bug', stackless: true }),
  bug({ id: 'nr-ptes', start: re(String.raw`${BUG} non-zero nr_ptes on freeing mm`), title: 'BUG: non-zero nr_ptes on freeing mm', type: 'bug', stackless: true }),
  bug({ id: 'nr-pmds', start: re(String.raw`${BUG} non-zero nr_pmds on freeing mm`), title: 'BUG: non-zero nr_pmds on freeing mm', type: 'bug', stackless: true }),
  // ---- fs/dcache.c umount_check(): "BUG: Dentry %p{i=%lx,n=%pd}  still in use (%d) [unmount of %s %s]".
  // The filesystem and device are left out: loop0/loop1 would split one bug into many.
  bug({
    id: 'dentry-in-use',
    start: re(String.raw`${BUG} Dentry .* still in use \(\d+\) \[(?<what>unmount) of [^\]]+\]`),
    title: 'BUG: Dentry still in use in {what}',
    type: 'bug',
  }),
  // ---- mm/page_alloc.c bad_page(): "BUG: Bad page state in process %s  pfn:%05lx", then
  // mm/page_owner.c "page last allocated via order %u ..." with the allocation stack
  bug({
    id: 'bad-page',
    start: re(String.raw`${BUG} Bad page (?<what>state|cache)`),
    title: 'BUG: Bad page {what} in {frame}',
    type: 'bug',
    culprit: {
      steps: [/page last allocated/, 'stack'],
      skip: ['(?:free|put|get|update|release)_page', 'free_unref', '^_*folio', 'truncate_inode_pages', 'page_frag_free', 'alloc', 'vmap', 'page_owner'],
    },
  }),
  // ---- mm/memory.c print_bad_pte(): "BUG: Bad page map in process %s  pte:%08llx pmd:%08llx"
  bug({ id: 'bad-page-map', start: re(String.raw`${BUG} Bad page map`), title: 'BUG: Bad page map', type: 'bug' }),
  // ---- kernel/workqueue.c wq_watchdog_timer_fn(): "BUG: workqueue lockup - pool ..."
  bug({ id: 'workqueue-lockup', start: re(String.raw`${BUG} workqueue lockup`), title: 'BUG: workqueue lockup', type: 'bug', stackless: true }),
  // ---- kernel/sched/core.c __might_resched(): "BUG: sleeping function called from invalid context at %s:%d"
  bug({
    id: 'sleeping-in-atomic',
    start: re(String.raw`${BUG} sleeping function called from invalid context at`),
    title: 'BUG: sleeping function called from invalid context in {frame}',
    type: 'bug',
    culprit: { steps: TRACE },
  }),
  // ---- lib/smp_processor_id.c check_preemption_disabled(): "BUG: using %s%s() in preemptible [%08x] code: %s/%d"
  bug({
    id: 'preemptible',
    start: re(String.raw`${BUG} using (?<what>[a-z_]+)\(\) in preemptible`),
    title: 'BUG: using {what}() in preemptible code in {frame}',
    type: 'bug',
    // the checker (check_preemption_disabled, debug_smp_processor_id) and this_cpu accessors
    culprit: { steps: TRACE, skip: ['dump_stack', 'preemption', 'preempt', 'debug_', 'processor_id', 'this_cpu'] },
  }),
  // ---- kernel/workqueue.c process_one_work(): "BUG: workqueue leaked lock or atomic: %s/0x%08x/%d"
  // then "    last function: %ps"
  bug({
    id: 'workqueue-leaked-lock',
    start: re(String.raw`${BUG} workqueue leaked lock or atomic`),
    require: [/last function: (?<func>[a-zA-Z0-9_]+)/],
    title: 'BUG: workqueue leaked lock or atomic in {func}',
    type: 'lockdep',
    stackless: true,
  }),
  // ---- syzkaller prints "BUG: memory leak" before each object it reads from
  // /sys/kernel/debug/kmemleak (mm/kmemleak.c print_unreferenced(): "unreferenced object ...
  // backtrace:"), with or without a timestamp of its own in front.
  bug({
    id: 'memory-leak',
    start: re(String.raw`${BUG} memory leak`),
    title: 'memory leak in {frame}',
    type: 'leak',
    culprit: { steps: [/backtrace(?: \(crc [0-9a-f]*\))?:/, 'stack'], skip: KMEMLEAK_SKIP },
    absorbs: ['kmemleak-object'],
  }),
  // ---- arch/x86/kernel/traps.c handle_stack_overflow(): "BUG: stack guard page was hit at %p (stack is %p..%p)"
  bug({
    id: 'stack-guard',
    start: re(String.raw`${BUG} .*stack guard page was hit at`),
    title: 'BUG: stack guard page was hit in {frame}',
    type: 'oops',
    culprit: { steps: IP_THEN_TRACE, pick: 'stall' },
  }),
  // ---- kernel/locking/lockdep.c print_lock_invalid_wait_context(): "BUG: Invalid wait context"
  // (titled like the x86 form of the same report, a lockdep WARNING)
  bug({
    id: 'invalid-wait-context',
    start: re(String.raw`${BUG} Invalid wait context`),
    title: 'WARNING: locking bug in {frame}',
    type: 'lockdep',
    culprit: { steps: TRACE, skip: ['lock_sock', 'release_sock'] },
  }),
  bug({ id: 'bug-empty', start: re(String.raw`${BUG}\s*$`), title: 'BUG: corrupted', type: 'bug', corrupted: true }),
  // ---- every other "BUG: ..." (kernel/sched/core.c, mm/slub.c slab_bug(), ...): the line is the title
  bug({ id: 'bug', start: re(String.raw`${BUG} .*`), title: '{line}', type: 'bug' }),

  // ---- kernel/panic.c __warn(): "WARNING: CPU: %d PID: %d at %s:%d %pS" (before 4.17
  // "WARNING: at %s:%d %pS()"; since the 2025 WARN rework "WARNING: %s:%d at %pS, CPU#%d: %s/%d"). A few files
  // warn for their callers: the title names the kind and the caller.
  warning({
    id: 'warning-odebug',
    // lib/debugobjects.c debug_print_object(): "ODEBUG: %s %s (active state %u) object: ..."
    start: /WARNING: .*lib\/debugobjects\.c.* (?:debug_print|debug_check|at)/,
    title: 'WARNING: ODEBUG bug in {frame}',
    culprit: warningCulprit('debug_', 'rcu', 'hrtimer_', 'timer_', 'work_', 'percpu_', 'vunmap', 'vfree', '__free_', 'debug_check', 'kobject_'),
  }),
  warning({ id: 'warning-usercopy', start: /WARNING: .*mm\/usercopy\.c.* (?:usercopy_warn|at)/, title: 'WARNING: bad usercopy in {frame}', culprit: warningCulprit('usercopy', '__check') }),
  warning({ id: 'warning-kobject', start: /WARNING: .*lib\/kobject\.c.* (?:kobject_|at)/, title: 'WARNING: kobject bug in {frame}', culprit: warningCulprit('kobject_') }),
  warning({ id: 'warning-proc', start: /WARNING: .*fs\/proc\/generic\.c.* (?:proc_register|at)/, title: 'WARNING: proc registration bug in {frame}', culprit: warningCulprit('proc_') }),
  // lib/refcount.c refcount_warn_saturate(): "refcount_t: underflow; use-after-free."
  warning({ id: 'warning-refcount', start: /WARNING: .*lib\/refcount\.c.* (?:refcount_|at)/, title: 'WARNING: refcount bug in {frame}', culprit: warningCulprit('refcount', 'kobject_') }),
  warning({ id: 'warning-lockdep', start: /WARNING: .*kernel\/locking\/lockdep\.c.*lock_/, title: 'WARNING: locking bug in {frame}', type: 'lockdep', culprit: warningCulprit('lock_sock', 'release_sock') }),
  warning({
    id: 'warning-locks-held',
    start: /WARNING: .*still has locks held!/,
    require: [re(String.raw`at: ${FUNC}`)],
    title: 'WARNING: still has locks held in {func}',
    type: 'lockdep',
  }),
  warning({ id: 'warning-nested-lock', start: /WARNING: Nested lock was not taken/, title: 'WARNING: nested lock was not taken in {frame}', type: 'lockdep', culprit: warningCulprit() }),
  warning({
    id: 'warning-lock-held-returning',
    start: /WARNING: lock held when returning to user space/,
    require: [/leaving the kernel with locks still held/, re(String.raw`at: (?:${PC} +)?${FUNC}`)],
    title: 'WARNING: lock held when returning to user space in {func}',
    type: 'lockdep',
    stackless: true,
  }),
  warning({ id: 'warning-kmalloc', start: /WARNING: .*mm\/.*\.c.* k?.?malloc/, title: 'WARNING: kmalloc bug in {frame}', culprit: warningCulprit('kmalloc', 'krealloc', 'slab', 'kmem') }),
  warning({ id: 'warning-vmalloc', start: /WARNING: .*mm\/vmalloc\.c.*__vmalloc_node/, title: 'WARNING: zero-size vmalloc in {frame}', culprit: warningCulprit() }),
  warning({
    id: 'warning-usb-submit-urb',
    start: /WARNING: .* usb_submit_urb/,
    title: 'WARNING in {frame}/usb_submit_urb',
    culprit: warningCulprit('usb_submit_urb', 'usb_start_wait_urb', 'usb_bulk_msg', 'usb_interrupt_msg', 'usb_control_msg'),
  }),
  warning({ id: 'warning-new', start: re(String.raw`WARNING: ${SRC} at (?:0x[0-9a-f]+|[A-Za-z0-9_.]+\+0x[0-9a-f]+\/0x[0-9a-f]+), CPU#\d+`), title: 'WARNING in {frame}', culprit: warningCulprit() }),
  warning({ id: 'warning', start: re(String.raw`WARNING: .* at ${SRC} ${FUNC}`), title: 'WARNING in {frame}', culprit: warningCulprit() }),
  warning({ id: 'warning-src-at', start: re(String.raw`WARNING: ${SRC} at ${FUNC}`), title: 'WARNING in {frame}', culprit: warningCulprit() }),
  warning({ id: 'warning-bracket', start: re(String.raw`WARNING: \[.*\] ${SRC} at ${FUNC}`), title: 'WARNING in {frame}', culprit: warningCulprit() }),
  // ---- kernel/locking/lockdep.c print_circular_bug_header(): "WARNING: possible circular locking
  // dependency detected", "%s/%d is trying to acquire lock:", print_lock() "... at: %pS"
  warning({
    id: 'lockdep-circular',
    start: /WARNING: possible circular locking dependency detected/,
    require: [/is trying to acquire lock/],
    title: 'possible deadlock in {frame}',
    type: 'lockdep',
    // the workqueue takes locks in the name of its work items
    culprit: { steps: [AT_FUNC, AT_FUNC, 'stack'], skip: ['process_one_work', 'flush_workqueue', 'drain_workqueue', 'destroy_workqueue'] },
  }),
  // ... print_irq_inversion_bug(): "... just changed the state of lock:"
  warning({
    id: 'lockdep-irq-inversion',
    start: /WARNING: possible irq lock inversion dependency detected/,
    require: [/just changed the state of lock/, re(String.raw`at: (?:${PC} +)?${FUNC}`)],
    title: 'possible deadlock in {func}',
    type: 'lockdep',
  }),
  // ... print_bad_irq_dependency(): "WARNING: %s-safe -> %s-unsafe lock order detected", "which became %s-irq-safe at:"
  warning({
    id: 'lockdep-irq-order',
    start: /WARNING: .*-safe -> .*-unsafe lock order detected/,
    title: 'possible deadlock in {frame}',
    type: 'lockdep',
    culprit: { steps: [/which became (?:.*) at:/, 'stack'] },
  }),
  // ... print_deadlock_bug(): "WARNING: possible recursive locking detected"
  warning({
    id: 'lockdep-recursive',
    start: /WARNING: possible recursive locking detected/,
    require: [/is trying to acquire lock/, re(String.raw`at: (?:${PC} +)?${FUNC}`)],
    title: 'possible deadlock in {func}',
    type: 'lockdep',
  }),
  // ... print_usage_bug(): "WARNING: inconsistent lock state", "%s/%d ... takes:"
  warning({
    id: 'lockdep-inconsistent',
    start: /WARNING: inconsistent lock state/,
    require: [/takes/, re(String.raw`at: (?:${PC} +)?${FUNC}`)],
    title: 'inconsistent lock state in {frame}',
    type: 'lockdep',
    culprit: { steps: TRACE },
  }),
  // ... lockdep_rcu_suspicious(): "WARNING: suspicious RCU usage", "%s:%d %s!"
  warning({
    id: 'lockdep-rcu',
    start: /WARNING: suspicious RCU usage/,
    require: [re(SRC)],
    title: 'WARNING: suspicious RCU usage in {frame}',
    type: 'lockdep',
    culprit: { steps: TRACE, skip: ['rcu', 'kmem', 'slab'] },
  }),
  // arch/x86/kernel/unwind_frame.c unwind_next_frame(): bad frame pointers
  warning({ id: 'warning-stack-regs', start: /WARNING: kernel stack regs at [0-9a-f]+ in [^ ]* has bad '(?<reg>[^']+)' value/, title: "WARNING: kernel stack regs has bad '{reg}' value", stackless: true }),
  warning({ id: 'warning-stack-fp', start: /WARNING: kernel stack frame pointer at [0-9a-f]+ in [^ ]* has bad value/, title: 'WARNING: kernel stack frame pointer has bad value', stackless: true }),
  warning({
    id: 'warning-bad-unlock-balance',
    start: /WARNING: bad unlock balance detected!/,
    title: 'WARNING: bad unlock balance in {frame}',
    type: 'lockdep',
    culprit: { steps: [re(String.raw`${PC} +${FUNC}`), 'call-trace', 'stack'] },
  }),
  warning({
    id: 'warning-held-lock-freed',
    start: /WARNING: held lock freed!/,
    require: [re(String.raw`at:(?: ${PC})? +${FUNC}`)],
    title: 'WARNING: held lock freed in {func}',
    type: 'lockdep',
  }),
  warning({ id: 'warning-stack-regs-bp', start: /WARNING: kernel stack regs .* has bad 'bp' value/, title: 'WARNING: kernel stack regs has bad value', stackless: true }),
  warning({ id: 'warning-stack-fp-any', start: /WARNING: kernel stack frame pointer .* has bad value/, title: 'WARNING: kernel stack regs has bad value', stackless: true }),
  warning({ id: 'warning-empty', start: re(String.raw`${WARNING}\s*$`), title: 'WARNING: corrupted', corrupted: true }),
  warning({ id: 'warning-other', start: re(String.raw`${WARNING}.*`), title: '{line}' }),

  // ---- lockdep before 4.10 printed its headers as "[ INFO: ... ]"
  info({
    id: 'lockdep-circular-old',
    start: /INFO: possible circular locking dependency detected/,
    require: [/is trying to acquire lock/, re(String.raw`at: ${PC} +${FUNC}`)],
    title: 'possible deadlock in {func}',
    type: 'lockdep',
  }),
  info({
    id: 'lockdep-irq-inversion-old',
    start: /INFO: possible irq lock inversion dependency detected/,
    require: [/just changed the state of lock/, re(String.raw`at: ${PC} +${FUNC}`)],
    title: 'possible deadlock in {func}',
    type: 'lockdep',
  }),
  info({
    id: 'lockdep-irq-order-old',
    start: /INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected/,
    require: [/is trying to acquire/, re(String.raw`at: ${PC} +${FUNC}`)],
    title: 'possible deadlock in {func}',
    type: 'lockdep',
  }),
  info({
    id: 'lockdep-recursive-old',
    start: /INFO: possible recursive locking detected/,
    require: [/is trying to acquire lock/, re(String.raw`at: ${PC} +${FUNC}`)],
    title: 'possible deadlock in {func}',
    type: 'lockdep',
  }),
  info({
    id: 'lockdep-inconsistent-old',
    start: /INFO: inconsistent lock state/,
    require: [/takes/, re(String.raw`at: ${PC} +${FUNC}`)],
    title: 'inconsistent lock state in {func}',
    type: 'lockdep',
  }),
  // ---- kernel/rcu/tree_stall.h print_cpu_stall(): "INFO: %s self-detected stall on CPU",
  // print_other_cpu_stall(): "INFO: %s detected stalls on CPUs/tasks:"; kernel/rcu/tree_exp.h
  // "INFO: %s detected expedited stalls on CPUs/tasks: {". The stalled code is the context the
  // timer interrupt came in on: its registers ("RIP:") and the frames after the interrupt stack.
  info({
    id: 'rcu-stall-self',
    start: /INFO: rcu_(?:preempt|sched|bh|tasks) self-detected(?: expedited)? stall/,
    title: 'INFO: rcu detected stall in {frame}',
    type: 'rcustall',
    culprit: {
      steps: [/apic_timer_interrupt/, 'ip', 'stack'],
      fallback: [
        [/apic_timer_interrupt|Exception stack|el1h_64_irq/, 'stack'],
        // kernel/sched/core.c dump_cpu_task(): a CPU that reports its own stall from the timer
        // interrupt shows the interrupted registers and stack (show_regs) instead of an NMI backtrace
        IP_THEN_TRACE,
      ],
      skip: STALL_DETECTOR_SKIP,
      pick: 'stall',
    },
  }),
  info({
    id: 'rcu-stall',
    start: /INFO: rcu_(?:preempt|sched|bh|tasks) (?:self-)?detected(?: expedited)? stall/,
    title: 'INFO: rcu detected stall in {frame}',
    type: 'rcustall',
    culprit: {
      steps: [/apic_timer_interrupt/, 'ip', 'stack'],
      fallback: [
        [/apic_timer_interrupt|Exception stack|el1h_64_irq/, 'stack'],
        // lib/nmi_backtrace.c: the detecting CPU asks the stalled one for its registers and stack
        // ("Sending NMI from CPU 1 to CPUs 0:", "NMI backtrace for cpu 0", "RIP: ...")
        [/Sending NMI from CPU \d+ to CPUs/, /NMI backtrace for cpu/, ...IP_THEN_TRACE],
      ],
      skip: STALL_DETECTOR_SKIP,
      pick: 'stall',
    },
  }),
  // ---- kernel/locking/lockdep.c register_lock_class() -> assign_lock_key():
  // "INFO: trying to register non-static key."
  info({
    id: 'non-static-key',
    start: /INFO: trying to register non-static key/,
    title: 'INFO: trying to register non-static key in {frame}',
    type: 'lockdep',
    culprit: { steps: TRACE, skip: ['stack', 'lock', 'IRQ'] },
  }),
  info({
    id: 'rcu-suspicious-old',
    start: /INFO: suspicious RCU usage/,
    require: [re(SRC)],
    title: 'INFO: suspicious RCU usage in {frame}',
    type: 'lockdep',
    culprit: { steps: TRACE, skip: ['rcu', 'kmem', 'slab'] },
  }),
  // ---- kernel/hung_task.c check_hung_task(): "INFO: task %s:%d blocked for more than %ld seconds."
  // (6.x: "blocked in I/O wait for more than %ld seconds" for tasks in io_schedule())
  info({
    id: 'hung-task',
    start: /INFO: task [\s\S]{0,100}? blocked (?:in I\/O wait )?for more than \d+ seconds/,
    title: 'INFO: task hung in {frame}',
    type: 'hungtask',
    culprit: { steps: TRACE, pick: 'hung' },
  }),
  // ---- kernel/hung_task.c (Android/ChromeOS): "INFO: task %s:%d can't die for more than %ld seconds."
  info({
    id: 'task-cant-die',
    start: /INFO: task .* can't die for more than .* seconds/,
    title: "INFO: task can't die in {frame}",
    type: 'hungtask',
    culprit: { steps: TRACE, skip: ['schedule'] },
  }),
  // ---- mm/slub.c print_track() before KASAN had its own format: a stray allocation record
  info({ id: 'slub-track', start: /INFO: (?<what>Freed|Allocated) in (?<where>.*)/, title: 'INFO: {what} in {where}', type: 'kasan', corrupted: true }),
  info({ id: 'info-empty', start: re(String.raw`${INFO}\s*$`), title: 'INFO: corrupted', type: 'bug', corrupted: true }),
  info({ id: 'info', start: re(String.raw`${INFO}.*`), title: '{line}', type: 'bug' }),

  // ---- arch/arm64/mm/fault.c die_kernel_fault(), arch/arm/mm/fault.c __do_kernel_fault():
  // "Unable to handle kernel %s at virtual address %08lx"
  {
    id: 'unable-to-handle',
    header: 'Unable to handle kernel',
    start: /Unable to handle kernel (?<what>paging request|NULL pointer dereference|access to user memory)/,
    title: 'BUG: unable to handle kernel {what} in {frame}',
    type: 'oops',
    culprit: { steps: IP_THEN_TRACE },
  },
  { id: 'unable-to-handle-other', header: 'Unable to handle kernel', start: /Unable to handle kernel.*/, title: '{line}', type: 'oops' },
  // ---- arch/x86/kernel/traps.c exc_general_protection(): "general protection fault" (", probably
  // for non-canonical address 0x%lx"), "segment-related general protection fault" and since 6.12
  // "Oops: general protection fault"; __die_header(): ": %04lx [#%d]".
  {
    id: 'gpf',
    header: 'general protection fault',
    start: /general protection fault.*:/,
    // arch/x86/kernel/traps.c show_signal(): a userspace task's GPF ("... error:0 in libc.so")
    ignore: [/general protection fault .* error:\d+ in /, ...FS_MESSAGES],
    title: 'general protection fault in {frame}',
    type: 'gpf',
    culprit: { steps: IP_THEN_TRACE },
  },
  // ---- arch/x86/kernel/traps.c: exc_stack_segment() "stack segment"
  { id: 'stack-segment', header: 'stack segment: ', start: /stack segment: /, title: 'stack segment fault in {frame}', type: 'oops', culprit: { steps: IP_THEN_TRACE } },

  // ---- kernel/panic.c panic(): "Kernel panic - not syncing: %s"
  ...panicRules(),

  // ---- rust/kernel/lib.rs panic handler: pr_emerg!("{}\n", info) with pr_fmt "rust_kernel: ":
  // "rust_kernel: panicked at <file>:<line>:<col>:" then the message on the next line, then
  // BUG() ("kernel BUG at rust/helpers/bug.c"). The title is the message and the Rust caller.
  {
    id: 'rust-panic',
    header: 'rust_kernel: panicked',
    start: /rust_kernel: panicked/,
    require: [/^\s*(?<what>\S.*?)\s*$/],
    title: '{what} in {frame}',
    type: 'bug',
    // the panic runtime (core::panicking::*, rust_begin_unwind) is skipped like C's panic()
    culprit: { steps: TRACE, skip: ['__rustc::rust_begin_unwind'] },
    absorbs: ['kernel-bug'],
  },
  // ---- arch/x86/kernel/traps.c exc_double_fault(): "PANIC: double fault, error_code: 0x%lx"
  { id: 'double-fault', header: 'PANIC: double fault', start: /PANIC: double fault/, title: 'PANIC: double fault in {frame}', type: 'oops', culprit: { steps: ['ip'] }, continues: true },
  // ---- lib/bug.c report_bug(): "kernel BUG at %s:%u!" (mm/usercopy.c usercopy_abort(),
  // lib/list_debug.c CHECK_DATA_CORRUPTION() with CONFIG_BUG_ON_DATA_CORRUPTION)
  {
    id: 'bug-usercopy',
    header: 'kernel BUG',
    start: /kernel BUG at mm\/usercopy\.c/,
    title: 'BUG: bad usercopy in {frame}',
    type: 'bug',
    culprit: { steps: TRACE, skip: ['usercopy', '__check'] },
  },
  {
    id: 'list-corruption',
    header: 'kernel BUG',
    start: /kernel BUG at lib\/list_debug\.c/,
    title: 'BUG: corrupted list in {frame}',
    type: 'bug',
    culprit: { steps: TRACE },
  },
  {
    id: 'kernel-bug',
    header: 'kernel BUG',
    start: /kernel BUG at (?<src>.*)/,
    title: 'kernel BUG in {frame}',
    type: 'bug',
    // skb_put() and friends BUG() for their callers (include/linux/skbuff.h)
    culprit: { steps: IP_THEN_TRACE, skip: ['^skb_'] },
  },
  // ---- lib/bug.c report_bug() without file and line: "Kernel BUG at %pB [verbose debug info unavailable]"
  { id: 'kernel-bug-no-debug-info', header: 'Kernel BUG', start: /Kernel BUG (?<rest>.*)/, title: 'kernel BUG {rest}', type: 'bug' },
  // ---- arch/x86/kernel/dumpstack.c __die_header(): "Oops: %04lx [#%d]" after a page fault's
  // "BUG: unable to handle ..." lines (arch/x86/mm/fault.c). Alone, those lines were lost: kt
  // still reports the oops (syzbot has no title for it) and calls it corrupted.
  {
    id: 'oops',
    header: 'Oops: ',
    start: /(?:^|\s)Oops: [0-9a-f]{4} \[#\d+\]/,
    title: 'Oops in {frame}',
    type: 'oops',
    corrupted: true,
    continues: true,
    culprit: { steps: IP_THEN_TRACE },
  },
  // ---- mm/slub.c slab_bug(): "BUG %s (%s): %pV" for a double free
  { id: 'slub-double-free', header: 'BUG kmalloc-', start: /BUG kmalloc-.*: Object already free/, title: 'BUG: Object already free', type: 'bug' },
  // ---- arch/x86/kernel/traps.c do_error_trap() -> die(): "divide error: 0000 [#1]" (5.8-5.9
  // spelled it "divide_error"), "invalid opcode: 0000 [#1]" (a BUG() whose "kernel BUG at" line
  // was not printed), "int3: 0000 [#1]"
  { id: 'divide-error', header: 'divide error:', start: /divide error: /, title: 'divide error in {frame}', type: 'oops', culprit: { steps: ['ip'] } },
  { id: 'divide-error-5.8', header: 'divide_error:', start: /divide_error: /, title: 'divide error in {frame}', type: 'oops', culprit: { steps: ['ip'] } },
  { id: 'invalid-opcode', header: 'invalid opcode:', start: /invalid opcode: /, title: 'invalid opcode in {frame}', type: 'oops', culprit: { steps: ['ip'] }, continues: true },
  { id: 'int3', header: 'int3:', start: /int3: /, title: 'int3 in {frame}', type: 'oops', culprit: { steps: IP_THEN_TRACE } },
  // ---- lib/ubsan.c ubsan_prologue(): "UBSAN: %s in %s:%d:%d" (before 5.9 "UBSAN: Undefined
  // behaviour in %s:%d:%d"). The culprit is the caller of the __ubsan_handle_* hook.
  {
    id: 'ubsan-old',
    header: 'UBSAN:',
    start: /UBSAN: Undefined behaviour in/,
    title: 'UBSAN: undefined-behaviour in {frame}',
    type: 'ubsan',
    culprit: { steps: TRACE, skip: ['ubsan', 'overflow'] },
    end: SANITIZER_RULE,
  },
  {
    id: 'ubsan',
    header: 'UBSAN:',
    start: /UBSAN: (?<kind>.*?) in/,
    title: 'UBSAN: {kind} in {frame}',
    type: 'ubsan',
    culprit: { steps: TRACE, skip: ['ubsan', 'overflow'] },
    end: SANITIZER_RULE,
  },
  // ---- net/core/dev.c netdev_wait_allrefs_any(): "unregister_netdevice: waiting for %s to become free. Usage count = %d"
  {
    id: 'netdev-refcount',
    header: 'unregister_netdevice: waiting for',
    start: /unregister_netdevice: waiting for (?:.*) to become free/,
    title: 'unregister_netdevice: waiting for DEV to become free',
    type: 'bug',
    stackless: true,
    continues: true,
  },
  // ---- fs/super.c generic_shutdown_super(): "VFS: Busy inodes after unmount of %s (%s)"; a
  // check of fput() some older (Android) kernels carry: "VFS: Close: file count is 0"
  { id: 'vfs-close', header: 'VFS: Close: file count is 0', start: /VFS: Close: file count is 0/, title: 'VFS: Close: file count is zero (use-after-free)', type: 'bug', stackless: true },
  { id: 'vfs-busy-inodes', header: 'VFS: Busy inodes after unmount', start: /VFS: Busy inodes after unmount/, title: 'VFS: Busy inodes after unmount (use-after-free)', type: 'bug', stackless: true },
  // ---- arch/arm64/kernel/traps.c die(): "Internal error: %s: %016lx [#%d]" (follows "Unable to
  // handle kernel ..." or "kernel BUG at"); arch/arm/mm/fault.c "Unhandled fault: %s (0x%03x) at 0x%08lx",
  // arch/arm/mm/alignment.c "Alignment trap: ..."
  { id: 'internal-error', header: 'Internal error:', start: /Internal error:/, title: 'Internal error in {frame}', type: 'oops', culprit: { steps: IP_THEN_TRACE }, continues: true },
  { id: 'unhandled-fault', header: 'Unhandled fault:', start: /Unhandled fault:/, title: 'Unhandled fault in {frame}', type: 'oops', culprit: { steps: IP_THEN_TRACE } },
  { id: 'alignment-trap', header: 'Alignment trap:', start: /Alignment trap:/, title: 'Alignment trap in {frame}', type: 'oops', culprit: { steps: IP_THEN_TRACE } },
  // ---- drivers/trusty (Android common kernel): the secure OS panicked
  { id: 'trusty-assert', header: 'trusty: panic', start: /trusty: panic \(.*?\):(?: DEBUG)? ASSERT FAILED at \(.*?\): (?<what>.+)/, title: 'trusty: ASSERT FAILED: {what}', type: 'panic', stackless: true },
  { id: 'trusty-assert-cut', header: 'trusty: panic', start: /trusty: panic.* ASSERT FAILED.*: *(?<what>.*)/, title: 'trusty: ASSERT FAILED: {what}', type: 'panic', corrupted: true },
  { id: 'trusty-panic', header: 'trusty: panic', start: /trusty: panic \(.*?\): (?<what>.+)/, title: 'trusty: panic: {what}', type: 'panic', stackless: true },

  // ---- arch/x86/boot/compressed/misc.c extract_kernel(): "Booting the kernel." (since 6.x
  // "Booting the kernel (entry_offset: 0x%08lx).") — a kernel starting again on a console that
  // already showed one running: the machine rebooted.
  {
    id: 'reboot',
    header: 'Booting the kernel',
    start: /^Booting the kernel(?:\.|\s+\(entry_offset: 0x[0-9a-f]+\)\.)/,
    // a boot banner a test wrote back into the log (an invalid mount option echoed by the kernel)
    ignore: [/Parsing ELF|Decompressing Linux|Unknown parameter '/],
    title: 'unexpected kernel reboot',
    type: 'reboot',
    fatal: true,
    stackless: true,
    afterKernel: true,
    oneLine: true,
  },
  // ---- kernel/watchdog_perf.c (before 6.6 watchdog_hld.c) watchdog_overflow_callback():
  // "Watchdog detected hard LOCKUP on cpu %d"
  {
    id: 'hard-lockup',
    header: 'hard LOCKUP',
    start: /Watchdog detected hard LOCKUP on cpu \d+/,
    title: 'BUG: hard lockup in {frame}',
    type: 'hardlockup',
    fatal: true,
    culprit: { steps: IP_THEN_TRACE, pick: 'stall' },
  },
  // ---- mm/kmemleak.c print_unreferenced(): "unreferenced object 0x%08lx (size %zu):", then
  // "  backtrace (crc %x):" and the allocation stack (printed to the console with kmemleak.verbose=1)
  {
    id: 'kmemleak-object',
    header: 'unreferenced object 0x',
    start: /^unreferenced object 0x[0-9a-f]+ \(size \d+\):/,
    title: 'memory leak in {frame}',
    type: 'leak',
    culprit: { steps: [/backtrace(?: \(crc [0-9a-f]*\))?:/, 'stack'], skip: KMEMLEAK_SKIP },
  },
  // ---- mm/oom_kill.c dump_header(): "%s invoked oom-killer: gfp_mask=%#x(%pGg), order=%d, ..."
  // An OOM kill is not a bug but explains a dead test; kt reports it (syzbot does not).
  {
    id: 'oom',
    header: ' invoked oom-killer: ',
    start: /^(?<comm>.+?) invoked oom-killer: /,
    title: 'OOM: {comm} invoked oom-killer',
    type: 'oom',
    // the frame shown is the allocation's caller, not the OOM killer or the allocator
    culprit: { steps: ['call-trace', 'stack'], skip: OOM_SKIP },
    stackless: true,
    aside: true,
    end: /^(?:Memory cgroup out of memory|Out of memory(?: \(oom_kill_allocating_task\))?): Killed process \d+/,
    absorbs: ['oom-killed'],
  },
  // ... __oom_kill_process(): "%s: Killed process %d (%s) total-vm:%lukB, ..."
  {
    id: 'oom-killed',
    header: 'Killed process',
    start: /^(?:Memory cgroup out of memory|Out of memory(?: \(oom_kill_allocating_task\))?): Killed process \d+ \((?<victim>[^)]*)\)/,
    title: 'OOM: killed process {victim}',
    type: 'oom',
    stackless: true,
    aside: true,
    end: /Killed process/,
  },
];

function panicRules(): ReportRule[] {
  const panic = (rule: Omit<ReportRule, 'header' | 'type' | 'fatal' | 'continues'>): ReportRule => ({
    header: 'Kernel panic',
    type: 'panic',
    fatal: true,
    continues: true,
    ...rule,
  });
  return [
    // kernel/panic.c __stack_chk_fail(): "stack-protector: Kernel stack is corrupted in: %pB"
    panic({
      id: 'panic-stack-protector',
      start: re(String.raw`Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: ${FUNC}`),
      title: 'kernel panic: stack is corrupted in {func}',
      stackless: true,
    }),
    panic({
      id: 'panic-stack-protector-addr',
      start: /Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: [a-f0-9]+/,
      title: 'kernel panic: stack is corrupted in {frame}',
      culprit: { steps: TRACE, skip: ['stack_chk'] },
    }),
    // kernel/sched/core.c schedule_debug(): "corrupted stack end detected inside scheduler"
    panic({
      id: 'panic-stack-end',
      start: /Kernel panic - not syncing: corrupted stack end detected inside scheduler/,
      title: 'kernel panic: corrupted stack end in {frame}',
      culprit: { steps: TRACE, skip: ['schedule', 'retint_kernel'], pick: 'stall' },
    }),
    // arch/x86/kernel/traps.c exc_double_fault() -> handle_stack_overflow()
    panic({
      id: 'panic-stack-overflow',
      start: /Kernel panic - not syncing: kernel stack overflow/,
      title: 'kernel stack overflow in {frame}',
      culprit: { steps: TRACE, skip: ['bad_stack'], pick: 'stall' },
    }),
    // kernel/exit.c find_child_reaper(): "Attempted to kill init! exitcode=0x%08x"
    panic({ id: 'panic-kill-init', start: /Kernel panic - not syncing: Attempted to kill init!/, title: 'kernel panic: Attempted to kill init!' }),
    // drivers/tty/tty_ldisc.c tty_ldisc_restore()
    panic({ id: 'panic-n-tty', start: /Kernel panic - not syncing: Couldn't open N_TTY ldisc for [^ ]+ --- error -\d+/, title: "kernel panic: Couldn't open N_TTY ldisc" }),
    // arch/x86/kernel/dumpstack.c oops_end() after an oops with panic_on_oops, kernel/panic.c
    // check_panic_on_warn(), kernel/hung_task.c with hung_task_panic: alone, they mean the report
    // before them was lost.
    panic({ id: 'panic-fatal-exception', start: /Kernel panic - not syncing: Fatal exception/, title: 'kernel panic: Fatal exception', corrupted: true }),
    panic({ id: 'panic-on-warn', start: /Kernel panic - not syncing: panic_on_warn set/, title: 'kernel panic: panic_on_warn set', corrupted: true }),
    panic({ id: 'panic-hung-task', start: /Kernel panic - not syncing: hung_task: blocked tasks/, title: 'kernel panic: hung_task: blocked tasks', corrupted: true }),
    panic({ id: 'panic', start: /Kernel panic - not syncing:? ?(?<msg>.*)/, title: 'kernel panic: {msg}' }),
  ];
}

/** Rule ids that are panics: met in a report, they make it fatal. */
export function isPanicRule(rule: ReportRule): boolean {
  return rule.header === 'Kernel panic';
}
