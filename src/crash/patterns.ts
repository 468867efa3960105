/**
 * The kinds of kernel crash reports, as data (after syzkaller pkg/report/linux.go). Each entry
 * says how a report starts (a cheap substring, then an anchored regex with named groups on the
 * message after the printk prefix), how its title is written, and what it must not match.
 * Order matters: the first pattern whose `title` matches a line wins, so specific kinds come
 * before the generic "BUG: " and "WARNING: " entries.
 * Every magic string cites where the kernel (6.1) prints it.
 */

/** Crash class of a report (CrashInfo.type). Synthetic kinds are built by makeSyntheticReport. */
export type CrashType =
  | 'panic'
  | 'oops'
  | 'bug'
  | 'warning'
  | 'gpf'
  | 'kasan'
  | 'ubsan'
  | 'kfence'
  | 'softlockup'
  | 'hardlockup'
  | 'rcustall'
  | 'hungtask'
  | 'lockdep'
  | 'oom'
  | 'no-output'
  | 'lost-connection';

export interface CrashPattern {
  /** Stable name, used by `absorbs` and in tests. */
  id: string;
  /** Substring the message must contain before `title` is tried (cheap pre-check). */
  header: string;
  /** Anchored regex on the message after the printk prefix; its named groups feed `format`. */
  title: RegExp;
  /**
   * The report title: "{name}" is a named group of `title` (normalised), "{frame}" the first
   * relevant frame. Without a frame, " in {frame}" is dropped.
   */
  format: string;
  /** Crash class. */
  type: CrashType;
  /** The VM is dead (or must be treated so) as soon as this is printed. */
  fatal: boolean;
  /** Messages that match `title` but are not this crash (e.g. filesystem messages tests provoke). */
  suppress?: readonly RegExp[];
  /** Take the frame from the `func` group of the header line (when it is not generic). */
  frameFromHeader?: boolean;
  /** Take the frame from the first report line matching this (named group `func`). */
  frameLine?: RegExp;
  /** Ignore frames on interrupt stacks (<IRQ>, <NMI>): the detector itself runs there. */
  skipInterruptFrames?: boolean;
  /** The report ends with the line matching this (and not at the end of its first call trace). */
  end?: RegExp;
  /** Ids of patterns whose headers, met inside this report, belong to it. */
  absorbs?: readonly string[];
}

/**
 * Kernel messages that filesystem tests provoke on purpose (corruption, shutdown, I/O errors).
 * They are never the start of a crash report, whatever text follows their prefix.
 */
export const FS_MESSAGES: readonly RegExp[] = [
  // fs/xfs/xfs_message.c __xfs_printk(): "XFS (%s): %pV" / "XFS: %pV"
  /^XFS(?: \([^)]*\))?: /,
  // fs/ext4/super.c __ext4_error() "EXT4-fs error (device %s): ..." and __ext4_msg() "EXT4-fs (%s): ..."
  /^EXT[234]-fs\b/,
  // fs/btrfs/messages.c btrfs_printk(): "BTRFS %s (device %s): ..." and "BTRFS: error (device ..."
  /^BTRFS\b/,
  // fs/f2fs, fs/jbd2, fs/gfs2, fs/ocfs2, fs/erofs, fs/squashfs message prefixes
  /^(?:F2FS-fs|JBD2|GFS2|gfs2|ocfs2|OCFS2|EROFS|erofs|SQUASHFS|NILFS|nilfs2?|ceph|CIFS|NFS|nfs)\b/,
  // block/blk-core.c blk_print_req_error(), fs/buffer.c buffer_io_error()
  /^(?:blk_update_request: )?(?:critical )?I\/O error\b/,
  /^Buffer I\/O error\b/,
];

/** A printk'd function name as in "%pS": name, then +offset/size. */
const FUNC = String.raw`[A-Za-z_][\w.$]*`;
/** A line of '=' that opens and closes sanitizer reports (mm/kasan/report.c start_report()). */
const SANITIZER_RULE = /^={40,}$/;
const OOM_KILLED = /^(?:Memory cgroup out of memory|Out of memory(?: \(oom_kill_allocating_task\))?): Killed process \d+/;

export const CRASH_PATTERNS: readonly CrashPattern[] = [
  {
    id: 'panic',
    // kernel/panic.c panic(): pr_emerg("Kernel panic - not syncing: %s\n", buf)
    header: 'Kernel panic - not syncing',
    title: /^Kernel panic - not syncing:? ?(?<msg>.*)$/,
    format: 'kernel panic: {msg}',
    type: 'panic',
    fatal: true,
  },
  {
    id: 'kasan',
    // mm/kasan/report.c print_error_description(): "BUG: KASAN: %s in %pS"
    header: 'BUG: KASAN: ',
    title: new RegExp(String.raw`^BUG: KASAN: (?<kind>[\w-]+(?: [\w-]+)*?) in (?<func>${FUNC})`),
    format: 'KASAN: {kind} in {func}',
    type: 'kasan',
    fatal: false,
    frameFromHeader: true,
    end: SANITIZER_RULE,
  },
  {
    id: 'kfence',
    // mm/kfence/report.c kfence_report_error(): "BUG: KFENCE: use-after-free %s in %pS" (and
    // "out-of-bounds", "memory corruption", "invalid free", "invalid %s")
    header: 'BUG: KFENCE: ',
    title: new RegExp(String.raw`^BUG: KFENCE: (?<kind>[\w-]+(?: [\w-]+)*?) in (?<func>${FUNC})`),
    format: 'KFENCE: {kind} in {func}',
    type: 'kfence',
    fatal: false,
    frameFromHeader: true,
    end: SANITIZER_RULE,
  },
  {
    id: 'ubsan',
    // lib/ubsan.c ubsan_prologue(): pr_err("UBSAN: %s in %s:%d:%d\n", reason, file, line, col)
    header: 'UBSAN: ',
    title: /^UBSAN: (?<kind>[\w-]+(?: [\w-]+)*?) in (?<file>[^\s:]+)/,
    format: 'UBSAN: {kind} in {frame}',
    type: 'ubsan',
    fatal: false,
    end: SANITIZER_RULE,
  },
  {
    id: 'lockdep-circular',
    // kernel/locking/lockdep.c print_circular_bug_header()
    header: 'possible circular locking dependency',
    title: /^WARNING: possible circular locking dependency detected/,
    format: 'possible deadlock in {frame}',
    type: 'lockdep',
    fatal: false,
    // "<comm>/<pid> is trying to acquire lock:\n <addr> (<name>){....}-{3:3}, at: func+0x12/0x34"
    frameLine: new RegExp(String.raw`, at: (?<func>${FUNC})`),
  },
  {
    id: 'lockdep-recursive',
    // kernel/locking/lockdep.c print_deadlock_bug()
    header: 'possible recursive locking',
    title: /^WARNING: possible recursive locking detected/,
    format: 'possible deadlock in {frame}',
    type: 'lockdep',
    fatal: false,
    frameLine: new RegExp(String.raw`, at: (?<func>${FUNC})`),
  },
  {
    id: 'lockdep-irq-inversion',
    // kernel/locking/lockdep.c print_irq_inversion_bug()
    header: 'possible irq lock inversion',
    title: /^WARNING: possible irq lock inversion dependency detected/,
    format: 'possible deadlock in {frame}',
    type: 'lockdep',
    fatal: false,
    frameLine: new RegExp(String.raw`, at: (?<func>${FUNC})`),
  },
  {
    id: 'lockdep-inconsistent',
    // kernel/locking/lockdep.c print_usage_bug()
    header: 'inconsistent lock state',
    title: /^WARNING: inconsistent lock state/,
    format: 'inconsistent lock state in {frame}',
    type: 'lockdep',
    fatal: false,
    frameLine: new RegExp(String.raw`, at: (?<func>${FUNC})`),
  },
  {
    id: 'lockdep-rcu',
    // kernel/locking/lockdep.c lockdep_rcu_suspicious()
    header: 'suspicious RCU usage',
    title: /^WARNING: suspicious RCU usage/,
    format: 'suspicious RCU usage in {frame}',
    type: 'lockdep',
    fatal: false,
  },
  {
    id: 'gpf',
    // arch/x86/kernel/traps.c exc_general_protection(): "general protection fault" +
    // ", probably for non-canonical address 0x%lx"; __die_header(): "%s: %04lx [#%d]"
    header: 'general protection fault',
    title: /^(?:Oops: )?general protection fault\b.*: [0-9a-f]{4} \[#\d+\]/,
    format: 'general protection fault in {frame}',
    type: 'gpf',
    fatal: false,
    suppress: FS_MESSAGES,
  },
  {
    id: 'null-deref',
    // arch/x86/mm/fault.c show_fault_oops(): "BUG: kernel NULL pointer dereference, address: %px"
    // (before 5.2: "BUG: unable to handle kernel NULL pointer dereference at %px")
    header: 'NULL pointer dereference',
    title: /^BUG: (?:kernel NULL pointer dereference, address: |unable to handle kernel NULL pointer dereference)/,
    format: 'BUG: unable to handle kernel NULL pointer dereference in {frame}',
    type: 'oops',
    fatal: false,
  },
  {
    id: 'page-fault',
    // arch/x86/mm/fault.c show_fault_oops(): "BUG: unable to handle page fault for address: %px"
    // (before 5.2: "BUG: unable to handle kernel paging request at %px")
    header: 'BUG: unable to handle ',
    title: /^BUG: unable to handle (?:page fault for address|kernel paging request at)/,
    format: 'BUG: unable to handle kernel paging request in {frame}',
    type: 'oops',
    fatal: false,
  },
  {
    id: 'unable-to-handle',
    // arch/arm64/mm/fault.c die_kernel_fault(): "Unable to handle kernel %s at virtual address %016lx"
    // (arch/arm, riscv, powerpc print the same words)
    header: 'Unable to handle kernel ',
    title:
      /^Unable to handle kernel (?<what>NULL pointer dereference|paging request|execute from non-executable memory|write to read-only memory|access to user memory[\w ]*?)(?: at|$)/,
    format: 'BUG: unable to handle kernel {what} in {frame}',
    type: 'oops',
    fatal: false,
  },
  {
    id: 'list-corruption',
    // lib/list_debug.c __list_add_valid(): "list_add corruption. next->prev should be prev (%px), ..."
    // and __list_del_entry_valid(): "list_del corruption, %px->next is LIST_POISON1 (%px)"
    header: ' corruption',
    title: /^list_(?:add|del)(?:_rcu)? corruption[.,]/,
    format: 'BUG: corrupted list in {frame}',
    type: 'bug',
    fatal: false,
  },
  {
    id: 'kernel-bug',
    // lib/bug.c report_bug(): pr_crit("kernel BUG at %s:%u!\n", file, line)
    header: 'kernel BUG at ',
    title: /^kernel BUG at (?<file>[^:\s]+):(?<line>\d+)!/,
    format: 'kernel BUG in {frame}',
    type: 'bug',
    fatal: false,
    suppress: FS_MESSAGES,
  },
  {
    id: 'soft-lockup',
    // kernel/watchdog.c watchdog_timer_fn(): "BUG: soft lockup - CPU#%d stuck for %us! [%s:%d]"
    // (pr_fmt "watchdog: ")
    header: 'BUG: soft lockup',
    title: /^(?:watchdog: |NMI watchdog: )?BUG: soft lockup - CPU#\d+ stuck for \d+s! \[(?<comm>.*):(?<pid>\d+)\]/,
    format: 'BUG: soft lockup in {frame}',
    type: 'softlockup',
    fatal: false,
    skipInterruptFrames: true,
  },
  {
    id: 'hard-lockup',
    // kernel/watchdog_hld.c watchdog_overflow_callback(): "Watchdog detected hard LOCKUP on cpu %d"
    header: 'hard LOCKUP',
    title: /^(?:watchdog: |NMI watchdog: )?Watchdog detected hard LOCKUP on cpu \d+/,
    format: 'BUG: hard lockup in {frame}',
    type: 'hardlockup',
    fatal: true,
    skipInterruptFrames: true,
  },
  {
    id: 'rcu-stall',
    // kernel/rcu/tree_stall.h print_cpu_stall(): "INFO: %s self-detected stall on CPU",
    // print_other_cpu_stall(): "INFO: %s detected stalls on CPUs/tasks:";
    // kernel/rcu/tree_exp.h: "INFO: %s detected expedited stalls on CPUs/tasks: {" (pr_fmt "rcu: ")
    header: 'detected',
    title: /^(?:rcu: )?INFO: (?<flavor>rcu\w*) (?:self-detected stall|detected (?:expedited )?stalls?) on /,
    format: 'INFO: rcu detected stall in {frame}',
    type: 'rcustall',
    fatal: false,
    skipInterruptFrames: true,
  },
  {
    id: 'hung-task',
    // kernel/hung_task.c check_hung_task(): "INFO: task %s:%d blocked for more than %ld seconds.\n"
    header: 'INFO: task ',
    title: /^INFO: task (?<comm>.+):(?<pid>\d+) blocked for more than \d+ seconds\./,
    format: 'INFO: task hung in {frame}',
    type: 'hungtask',
    fatal: false,
  },
  {
    id: 'oom',
    // mm/oom_kill.c dump_header(): "%s invoked oom-killer: gfp_mask=%#x(%pGg), order=%d, ..."
    header: ' invoked oom-killer: ',
    title: /^(?<comm>.+?) invoked oom-killer: /,
    format: 'OOM: {comm} invoked oom-killer',
    type: 'oom',
    fatal: false,
    end: OOM_KILLED,
    absorbs: ['oom-kill-summary', 'oom-killed'],
  },
  {
    id: 'oom-kill-summary',
    // mm/oom_kill.c dump_oom_summary(): "oom-kill:constraint=%s,nodemask=%*pbl" ... ",task=%s,pid=%d,uid=%d"
    header: 'oom-kill:',
    title: /^oom-kill:.*,task=(?<victim>[^,]*),pid=\d+/,
    format: 'OOM: killed process {victim}',
    type: 'oom',
    fatal: false,
    end: OOM_KILLED,
    absorbs: ['oom-killed'],
  },
  {
    id: 'oom-killed',
    // mm/oom_kill.c __oom_kill_process(): "%s: Killed process %d (%s) total-vm:%lukB, ..." where
    // %s is "Out of memory" or "Memory cgroup out of memory"
    header: 'Killed process',
    title: /^(?:Memory cgroup out of memory|Out of memory(?: \(oom_kill_allocating_task\))?): Killed process \d+ \((?<victim>[^)]*)\)/,
    format: 'OOM: killed process {victim}',
    type: 'oom',
    fatal: false,
    end: OOM_KILLED,
  },
  {
    id: 'x86-trap',
    // arch/x86/kernel/dumpstack.c __die_header(): "%s: %04lx [#%d]..." for traps other than the
    // page fault and GPF above (a bare "invalid opcode" is a BUG()/UD2 without "kernel BUG at")
    header: ' [#',
    title:
      /^(?:Oops: )?(?<what>invalid opcode|stack segment|double fault|alignment check|divide error|int3|bounds|segment not present|invalid TSS|coprocessor segment overrun): [0-9a-f]{4} \[#\d+\]/,
    format: '{what} in {frame}',
    type: 'oops',
    fatal: false,
    suppress: FS_MESSAGES,
  },
  {
    id: 'oops',
    // x86 page_fault_oops() -> __die_header(): "Oops: %04lx [#%d]"; arm64 die(): "Internal error: %s: %016lx [#%d]"
    header: 'Oops',
    title: /^(?:Internal error: )?Oops(?: - [\w ]+)?: (?:Oops: )?[0-9a-f]+ \[#\d+\]/,
    format: 'Oops in {frame}',
    type: 'oops',
    fatal: false,
    suppress: FS_MESSAGES,
  },
  {
    id: 'dentry-in-use',
    // fs/dcache.c umount_check(): "BUG: Dentry %p{i=%lx,n=%pd}  still in use (%d) [unmount of %s %s]"
    header: 'BUG: Dentry ',
    title: /^BUG: Dentry \S+\s+still in use/,
    format: 'BUG: Dentry still in use in {frame}',
    type: 'bug',
    fatal: false,
  },
  {
    id: 'warning',
    // kernel/panic.c __warn(): "WARNING: CPU: %d PID: %d at %pS\n" when a file:line is known it is
    // "WARNING: CPU: %d PID: %d at %s:%d %pS\n" (older kernels: "WARNING: at %s:%d %pS()")
    header: 'WARNING: ',
    title: new RegExp(
      String.raw`^WARNING: (?:CPU: \d+ PID: \d+ at |at )(?:(?<file>[^\s:]+):(?<line>\d+) )?(?<func>${FUNC})\+0x[0-9a-f]+\/0x[0-9a-f]+`,
    ),
    format: 'WARNING in {func}',
    type: 'warning',
    fatal: false,
    frameFromHeader: true,
    suppress: FS_MESSAGES,
  },
  {
    id: 'warning-no-symbol',
    // __warn() when %pS could not name the function: "WARNING: CPU: 0 PID: 1 at fs/x.c:42 0xffff..."
    header: 'WARNING: ',
    title: /^WARNING: (?:CPU: \d+ PID: \d+ at |at )(?<file>[^\s:]+):(?<line>\d+)/,
    format: 'WARNING in {frame}',
    type: 'warning',
    fatal: false,
    suppress: FS_MESSAGES,
  },
  {
    id: 'bug',
    // every other pr_*("BUG: ..."), e.g. kernel/sched/core.c __schedule_bug():
    // "BUG: scheduling while atomic: %s/%d/0x%08x", kernel/workqueue.c "BUG: workqueue lockup - ..."
    header: 'BUG: ',
    title: /^BUG: (?<what>[^:,!({]+?)(?: - |:|,|!|\(|\{| at | in process |$)/,
    format: 'BUG: {what} in {frame}',
    type: 'bug',
    fatal: false,
    suppress: FS_MESSAGES,
  },
];
