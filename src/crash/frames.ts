/**
 * Stack frames in kernel reports, and the rules that pick the culprit among them: the first
 * frame that is not the reporting machinery, a sanitizer runtime, or a generic helper that the
 * real culprit called (a string function, a lock, a refcount), so that the same bug gets the same
 * title whatever path reported it. The rules are written to give the titles syzbot gives
 * (google/syzkaller pkg/report, Apache-2.0), so kt's titles can be pasted into its dashboard.
 * docs/crash-titles.md explains each group.
 */

/** A function named on a trace line or an instruction-pointer line. */
export interface Frame {
  /** Function name as printed, without ".isra.0"/".cold"-style clone suffixes. */
  func: string;
  /** Module in brackets after the offset ("xfs"), if any. */
  module?: string;
  /** The unwinder marked it unreliable ("? " on x86, " (unreliable)" on powerpc). */
  unreliable: boolean;
}

const NAME = String.raw`[A-Za-z0-9_]+`;
/** "[<ffffffff81234567>]" (x86 before 4.15, arm, riscv) or "[c000000000012345]" (powerpc). */
const PC = String.raw`\[<?(?:0x)?[0-9a-f]+>?\]`;

// lib/dump_stack.c, arch/x86/kernel/dumpstack.c printk_stack_address(): " %s%pBb" ->
// " [? ]func+0x12/0x34 [module]"; older x86, riscv, arm64 print "[<addr>] " first, powerpc
// show_stack() "[sp] [ip] func+0x12/0x34 (unreliable)". A function name is followed by its
// clone suffix (".isra.0", ".cold") or its offset.
// Before 4.14 x86 printed the first frame of the interrupted stack on the "<EOI>" line that
// closes the interrupt stack (arch/x86/kernel/dumpstack_64.c): that frame counts.
const TRACE_FRAME = new RegExp(
  String.raw`^\s*(?:<EOI>\s+)?(?:${PC}\s+){0,2}(?<unreliable>\?\s+)?(?<func>${NAME})(?:\.[A-Za-z0-9_.]+)?\+0x[0-9a-f]+(?:\/0x[0-9a-f]+)?(?:\s+\[(?<module>[^\]\s]+)[^\]]*\])?`,
);
// arch/arm/kernel/traps.c dump_backtrace_entry(): "[<%08lx>] (%ps) from [<%08lx>] (%pS)"
const ARM_FRAME = new RegExp(String.raw`^\s*${PC}\s+\((?<func>${NAME})[^)]*\) from ${PC}\s+\((?<caller>${NAME})[.+]`);
// The faulting instruction of the interrupted context: x86 show_ip() "RIP: %04x:%pS" (and before
// 4.15 "RIP: 0010:[<%016lx>]  [<%016lx>] %pS", before 4.9 "IP: [<%p>] %pS"), arm64/riscv
// __show_regs() "pc : %pS" / "epc : %pS", powerpc show_regs() "NIP [%016lx] %pS", arm "PC is at %pS".
// An address without a symbol (userspace "RIP: 0033:0x4478a9") names no function.
const NULL_PC = String.raw`\[<\s*\(null\)>\]`;
const IP_LINE = new RegExp(
  String.raw`^\s*(?:R?IP|NIP|e?pc|PC is at)\s*:?\s*(?:\d+:)?(?:(?:${PC}|${NULL_PC})\s+){0,2}\s*(?:(?<func>${NAME})(?:\.[A-Za-z0-9_.]+)?\+0x|0x[0-9a-f]+|\(null\))`,
);
// arch/powerpc/kernel/interrupt_64.S and process.c show_stack(): "--- interrupt: %lx at %pS"
const PPC_INTERRUPT = new RegExp(String.raw`^\s*--- interrupt: [0-9a-f]+ at (?<func>${NAME})[.+]`);
// powerpc show_stack() marks frames it is not sure of with a " (unreliable)" suffix.
const PPC_UNRELIABLE = / \(unreliable\)\s*$/;

/** Removes compiler clone suffixes from a function name ("__handle_sysrq.cold" -> "__handle_sysrq"). */
export function normalizeFunction(func: string): string {
  const dot = func.indexOf('.');
  return dot > 0 ? func.slice(0, dot) : func;
}

/** The frames on a call-trace line (" func+0x12/0x34 [mod]"; two on an arm "from" line). */
export function parseTraceFrames(message: string): Frame[] {
  const arm = ARM_FRAME.exec(message);
  if (arm?.groups) {
    return [
      { func: arm.groups['func']!, unreliable: false },
      { func: arm.groups['caller']!, unreliable: false },
    ];
  }
  const match = TRACE_FRAME.exec(message);
  if (!match?.groups) return [];
  const frame: Frame = {
    func: match.groups['func']!,
    unreliable: match.groups['unreliable'] !== undefined || PPC_UNRELIABLE.test(message),
  };
  if (match.groups['module']) frame.module = match.groups['module'];
  return [frame];
}

/** The first frame of a call-trace line, if it is one. */
export function parseTraceFrame(message: string): Frame | undefined {
  return parseTraceFrames(message)[0];
}

/**
 * An instruction-pointer line: undefined when `message` is not one; `{}` when it is one without
 * a kernel symbol (userspace, an unknown address); `{ func }` otherwise.
 */
export function parseIpLine(message: string): { func?: string } | undefined {
  const match = IP_LINE.exec(message) ?? PPC_INTERRUPT.exec(message);
  if (!match) return undefined;
  const func = match.groups?.['func'];
  return func === undefined ? {} : { func };
}

/** The function of an instruction-pointer line ("RIP: 0010:func+0x5/0x10 [mod]"), if it names one. */
export function parseIpFrame(message: string): Frame | undefined {
  const func = parseIpLine(message)?.func;
  return func === undefined ? undefined : { func, unreliable: false };
}

// The syscall entry wrappers of include/linux/syscalls.h (SYSCALL_DEFINE: __x64_sys_foo ->
// __se_sys_foo -> __do_sys_foo) and their older and compat spellings: the title names the
// syscall ("sys_ioctl"), the same on every architecture.
const SYSCALL_PREFIXES = [
  'SYSC_', 'SyS_', 'sys_', '__x64_', '__ia32_', '__arm64_', '____sys_', '___sys_', '__sys_',
  '__se_', '__se_sys_', '__do_sys_', 'compat_SYSC_', 'compat_SyS_', 'ksys_',
];

/** Removes one syscall-wrapper prefix (the one that leaves the shortest name). */
export function stripSyscallPrefix(func: string): string {
  let best = func;
  for (const prefix of SYSCALL_PREFIXES) {
    if (func.startsWith(prefix) && func.length - prefix.length < best.length) best = func.slice(prefix.length);
  }
  return best;
}

/**
 * Helper frames that are never the culprit, as substrings of a function name (so one rule
 * covers a family: "kasan" covers kasan_report, __kasan_slab_free, ...). Each group says why.
 */
export const SKIPPED_FRAME_GROUPS: readonly { why: string; names: readonly string[] }[] = [
  {
    why: 'sanitizer runtimes and KCOV: they detect the bug, the frame below them made it (mm/kasan, mm/kmsan, kernel/kcsan, kernel/kcov.c)',
    names: ['__sanitizer', '__asan', 'kasan', 'hwasan', '__msan', 'kmsan', 'kcsan_setup_watchpoint', 'check_memory_region', 'check_heap_object', 'check_object', 'read_word_at_a_time', '(?:read|write)_once_.*nocheck', 'print_address_description', 'print_report', '__fortify_report'],
  },
  {
    why: 'the reporting and trap machinery itself (kernel/panic.c, lib/bug.c, arch/*/kernel/traps.c, lib/dump_stack.c)',
    names: ['panic', 'invalid_op', 'report_bug', 'fixup_bug', 'do_error', '_trap$|do_trap', 'show_stack', 'dump_stack', 'walk_stack', 'dump_backtrace', 'warn_slowpath', 'warn_alloc', 'warn_bogus', '__warn', 'print_usage_bug', 'print_unlock', 'imbalance_bug', 'print_tainted', '^get_taint$', 'program_check_exception', 'program_check_common', 'stack_trace_consume_entry', 'arch_stack_walk', 'stack_trace_save', 'hex_dump_to_buffer', 'print_hex_dump'],
  },
  {
    why: 'filesystem assertion helpers: the frame that called them broke the invariant; without them every XFS or btrfs assertion would carry one title (fs/xfs/xfs_message.c assfail and asswarn, which WARN or BUG on a failed ASSERT; fs/btrfs/messages.c btrfs_assertfail)',
    names: ['^assfail$', '^asswarn$', 'assertfail'],
  },
  {
    why: 'allocators: a bad size or a leak is the caller\'s (mm/slub.c, mm/page_alloc.c, mm/filemap.c)',
    names: ['alloc_page', 'k?v?(?:m|z|c)alloc', 'krealloc', 'kmem_cache', 'allocate_slab', '__alloc_frozen_pages_noprof', 'folio_(?:alloc|unlock)', 'filemap_alloc_folio', '__filemap_get_folio', 'find_or_create_page', 'do_read_cache_folio', 'read_cache_page', 'pagecache_get_page', 'grab_cache_page_write_begin', 'slab_', '^kv?free$', 'kfree_skb', 'ida_free'],
  },
  {
    why: 'debug objects: lib/debugobjects.c reports for the caller that misused the object',
    names: ['debug_object', 'timer_is_static_object', 'work_is_static_object'],
  },
  {
    why: 'locking primitives and lockdep: the lock user is the culprit (kernel/locking/)',
    names: ['lockdep', 'bh_enable', 'bh_disable', 'lock_acquire', 'lock_release', 'lock_class', 'mark_lock', '(?:reacquire|mark)_held_locks', 'raw_spin_rq', 'spin_lock', 'spin_trylock', 'spin_unlock', 'read_lock', 'read_trylock', 'write_lock', 'write_trylock', 'read_unlock', 'write_unlock', '^down$', 'down_read', 'down_write', 'down_read_trylock', 'down_write_trylock', 'down_trylock', 'up_read', 'up_write', '^mutex_', '^__mutex_', '^rt_mutex_', 'owner_on_cpu', 'osq_lock', 'osq_unlock', '(?:trace|lockdep)_(?:hard|soft)irq', '^(?:un)?lock_page', 'seqprop_assert', '__might_resched', '__might_fault', 'might_fault', 'might_sleep'],
  },
  {
    why: 'atomics, bit operations and reference counts: they check, their caller got the count wrong (lib/refcount.c, include/linux/kref.h)',
    names: ['atomic(?:64)?_(?:dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)', '(?:set|clear|change|test)_bit', '^refcount_', '^kref_', 'ref_tracker'],
  },
  {
    why: 'string, memory and user-copy helpers: they fault on the bad pointer their caller passed (lib/string.c, lib/vsprintf.c, lib/usercopy.c)',
    names: ['memcpy', 'memcmp', 'memset', 'memchr', 'memmove', 'memdup', 'strcmp', 'strncmp', 'strcpy', 'strlcpy', 'strncpy', 'strscpy', 'strlen', 'strstr', 'strnstr', 'strnlen', 'strchr', 'strdup', 'strndup', 'string', 'pointer', 'snprintf', 'scnprintf', 'kasprintf', 'kvasprintf', 'printk', 'va_format', 'dev_info', 'dev_notice', 'dev_warn', 'dev_err', 'dev_alert', 'dev_crit', 'dev_emerg', 'copy_to_user', 'copy_from_user', 'copy_to_iter', 'copy_from_iter', 'copy_page_to_iter', 'copy_page_from_iter', 'copy_folio_to_iter', '^copyin$', '^copyout$', 'put_user', 'get_user', 'extract_(?:user|iter)_to_sg', '^crc\\d+', 'crc_itu_t', 'readb$', 'readw$', 'readl$', 'readq$', 'writeb$', 'writew$', 'writel$', 'writeq$', 'logic_in', 'logic_out', '__phys_addr'],
  },
  {
    why: 'generic containers: lib/list_debug.c, lib/rbtree.c, lib/xarray.c and lib/rhashtable.c check or walk for their caller',
    names: ['list_add', 'list_del', 'list_replace', 'list_move', 'list_splice', '^rb_', '^__rb_', '^klist_', 'xas_(?:start|load|find)', 'find_lock_entries', 'rhashtable_lookup'],
  },
  {
    why: 'retpoline thunks (arch/x86/lib/retpoline.S): an indirect call, the caller is the code',
    names: ['_indirect_thunk_'],
  },
  {
    why: 'work items, timers, completions and wait queues: the waiter or the queuer is the culprit (kernel/workqueue.c, kernel/time/timer.c)',
    names: ['__wake_up', 'del_timer', 'flush_work', '__cancel_work_timer', 'cancel_work_sync', 'try_to_grab_pending', 'flush_workqueue', 'drain_workqueue', 'destroy_workqueue', 'queue_work', 'insert_work', '__queue_delayed_work', 'queue_delayed_work_on', 'finish_wait', 'kthread_stop', '^complete$', 'wait_for_completion', 'lock_timer_base', '__timer_delete_sync', 'sk_stop_timer_sync', '__mod_timer', 'cleanup_srcu_struct', 'perf_trace'],
  },
  {
    why: 'the driver model tears objects down for the driver that owns them (lib/kobject.c, drivers/base/core.c, USB core)',
    names: ['kobject_', 'add_uevent_var', 'get_device_parent', 'device_add', 'device_del', 'device_unregister', 'device_destroy', 'device_release', 'devres_release_all', 'hwrng_unregister', 'i2c_del_adapter', '__unregister_client', 'device_for_each_child', 'rollback_registered', 'unregister_netdev', 'sysfs_remove', 'device_remove_file', 'tty_unregister_device', '^put_device$', 'dummy_urb_enqueue', 'usb_kill_urb', 'usb_kill_anchored_urbs', 'usb_control_msg', 'usb_hcd_submit_urb', 'usb_submit_urb'],
  },
  {
    why: 'inode, dentry and page-cache reference helpers (fs/inode.c, fs/dcache.c, mm/truncate.c)',
    names: ['^iput$', '^iput_final$', '^ihold$', 'fast_dput', 'dput', 'drop_nlink', 'mark_buffer_dirty', 'truncate_inode_pages_range'],
  },
  {
    why: 'arm64 exception entry for a kernel fault (arch/arm64/mm/fault.c, arch/arm64/kernel/entry-common.c)',
    names: ['do_(?:kernel|translation)_fault', 'do_mem_abort', 'el1_abort', 'el1h_64_sync(?:_handler)?'],
  },
];

/** All skip groups as one alternation (substring match). */
export const SKIPPED_FRAMES = new RegExp(SKIPPED_FRAME_GROUPS.flatMap((group) => group.names).join('|'));

/** True when `func` is a helper frame (SKIPPED_FRAME_GROUPS or the report kind's own list). */
export function isSkippedFrame(func: string, extra?: RegExp): boolean {
  return SKIPPED_FRAMES.test(func) || (extra !== undefined && extra.test(func));
}
