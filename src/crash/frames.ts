/**
 * Stack frames in kernel reports, and the choice of the "first relevant frame": the first
 * function that is not the reporting machinery itself (dump_stack, panic, __warn, ...), so the
 * same bug gets the same frame whatever path reported it (after syzkaller pkg/report).
 */

/** A function named on a trace line or an instruction-pointer line. */
export interface Frame {
  /** Function name, compiler suffixes removed ("__handle_sysrq.cold" -> "__handle_sysrq"). */
  func: string;
  /** Module in brackets after the offset ("xfs"), if any. */
  module?: string;
  /** The unwinder marked it "? " (a stale address found on the stack, not a real caller). */
  unreliable: boolean;
}

// lib/dump_stack.c / arch/x86/kernel/dumpstack.c printk_stack_address(): " %s%pBb" ->
// " [? ]func+0x12/0x34 [module]"; older kernels put "[<ffffffff81234567>] " first.
const TRACE_FRAME =
  /^\s+(?:\[<[0-9a-f]+>\]\s*)?(?<unreliable>\? )?(?<func>[A-Za-z_][\w.$]*)\+0x[0-9a-f]+\/0x[0-9a-f]+(?:\s+\[(?<module>[^\]\s]+)\])?/;
// The faulting instruction of the interrupted kernel context:
// x86 show_ip(): "RIP: %04x:%pS" (0010 = kernel CS; 0033 is userspace and names no function),
// arm64 __show_regs(): "pc : %pS", powerpc show_regs(): "NIP [%016lx] %pS".
const IP_FRAME =
  /^(?:RIP: 0010:|pc : |NIP +\[[0-9a-f]+\] )(?<func>[A-Za-z_][\w.$]*)\+0x[0-9a-f]+\/0x[0-9a-f]+(?:\s+\[(?<module>[^\]\s]+)\])?/;
// gcc/clang clones: .cold, .isra.0, .constprop.0, .part.0, .lto_priv.0, .llvm.123
const COMPILER_SUFFIX = /(?:\.(?:cold|isra|constprop|part|lto_priv|llvm|localalias)(?:\.\d+)?)+$/;

/** Removes compiler clone suffixes from a function name. */
export function normalizeFunction(func: string): string {
  return func.replace(COMPILER_SUFFIX, '');
}

/** The frame on a call-trace line (" func+0x12/0x34 [mod]"), if it is one. */
export function parseTraceFrame(message: string): Frame | undefined {
  return toFrame(TRACE_FRAME.exec(message));
}

/** The function of an instruction-pointer line ("RIP: 0010:func+0x5/0x10 [mod]"), if it is one. */
export function parseIpFrame(message: string): Frame | undefined {
  return toFrame(IP_FRAME.exec(message));
}

function toFrame(match: RegExpExecArray | null): Frame | undefined {
  const groups = match?.groups;
  if (!groups?.['func']) return undefined;
  const frame: Frame = { func: normalizeFunction(groups['func']), unreliable: groups['unreliable'] !== undefined };
  if (groups['module']) frame.module = groups['module'];
  return frame;
}

/**
 * Functions that report, trap, schedule, wait or lock on behalf of the real culprit. A frame
 * naming one of them is never "the" frame. Anchored: each entry matches a whole function name.
 */
export const GENERIC_FRAMES: readonly RegExp[] = [
  // printing the report: lib/dump_stack.c, kernel/panic.c, lib/bug.c, arch/x86/kernel/traps.c
  /^(?:dump_stack|dump_stack_lvl|show_stack|show_regs|__show_regs|show_trace_log_lvl|show_stack_log_lvl)$/,
  /^(?:panic|vpanic|nmi_panic|check_panic_on_warn|__warn|__warn_printk|warn_slowpath\w*|warn_bogus_irq_restore)$/,
  /^(?:report_bug|handle_bug|exc_invalid_op|do_error_trap|do_trap|do_int3|die|__die|__die_body|oops_end|bug_handler)$/,
  /^(?:asm_exc_\w+|asm_sysvec_\w+|asm_common_interrupt|exc_page_fault|handle_page_fault|do_kern_addr_fault)$/,
  /^(?:page_fault_oops|kernelmode_fixup_or_oops|no_context|__bad_area_nosemaphore|bad_area\w*|fixup_exception)$/,
  /^(?:exc_general_protection|die_addr|do_general_protection)$/,
  // sanitizers: mm/kasan, lib/ubsan.c, mm/kfence
  /^(?:kasan_\w+|__kasan_\w+|__asan_\w+|__hwasan_\w+|print_report|print_address_description\w*)$/,
  /^(?:ubsan_epilogue|__ubsan_handle_\w+|kfence_\w+|__kfence_\w+)$/,
  // lib/list_debug.c: the list checker reports; the caller corrupted the list
  /^(?:__list_add_valid\w*|__list_del_entry_valid\w*|__list_add|list_add|__list_del_entry|list_del)$/,
  // scheduling and waiting: where a hung task sleeps, not why
  /^(?:__schedule|schedule|schedule_idle|preempt_schedule\w*|__schedule_bug|schedule_timeout\w*|schedule_hrtimeout\w*)$/,
  /^(?:schedule_preempt_disabled|io_schedule\w*|msleep|msleep_interruptible|usleep_range\w*|do_task_dead)$/,
  /^(?:wait_for_completion\w*|__wait_for_common|do_wait_for_common|wait_woken|prepare_to_wait\w*)$/,
  /^(?:__wait_on_bit\w*|out_of_line_wait_on_bit\w*|bit_wait\w*|folio_wait_bit\w*|folio_wait_\w+|wait_on_page_bit\w*)$/,
  /^(?:__flush_work|flush_work|__flush_workqueue|rcu_barrier|synchronize_rcu\w*|__synchronize_srcu)$/,
  /^(?:__mutex_lock\w*|mutex_lock\w*|__rt_mutex\w*|rt_mutex\w*|rwsem_down_\w+|__down\w*|down|down_\w+)$/,
  /^(?:percpu_down_\w+|__percpu_down_\w+|_raw_spin_lock\w*|_raw_read_lock\w*|_raw_write_lock\w*|do_raw_spin_lock)$/,
  /^(?:queued_spin_lock_slowpath|native_queued_spin_lock_slowpath|__pv_queued_spin_lock_slowpath)$/,
  /^(?:lock_acquire|__lock_acquire|lock_release|lock_is_held_type)$/,
  // the timer interrupt that a stall or lockup detector runs from
  /^(?:nmi_cpu_backtrace|nmi_trigger_cpumask_backtrace|arch_trigger_cpumask_backtrace|trigger_\w+_backtrace)$/,
  /^(?:rcu_dump_cpu_stacks|print_cpu_stall|print_other_cpu_stall|check_cpu_stall|rcu_pending|rcu_sched_clock_irq)$/,
  /^(?:update_process_times|tick_\w+|hrtimer_\w+|__hrtimer_run_queues|__run_hrtimer|watchdog_timer_fn)$/,
  /^(?:__sysvec_\w+|sysvec_\w+|irq_exit_rcu|__irq_exit_rcu|__do_softirq|do_softirq\w*|handle_softirqs)$/,
  /^(?:delay_tsc|delay_loop|__const_udelay|__udelay|__ndelay|cpu_relax)$/,
  // out of memory: mm/oom_kill.c and the allocator that called it
  /^(?:dump_header|oom_kill_process|out_of_memory|__alloc_pages\w*|alloc_pages\w*|__folio_alloc\w*|folio_alloc\w*)$/,
  /^(?:vma_alloc_folio|__handle_mm_fault|handle_mm_fault|do_user_addr_fault|do_anonymous_page)$/,
  // the bottom of every trace
  /^(?:entry_SYSCALL_64\w*|do_syscall_64|do_syscall_x64|ret_from_fork\w*|kthread|worker_thread|process_one_work)$/,
];

/** True for the reporting/scheduling/locking helpers that GENERIC_FRAMES lists. */
export function isGenericFrame(func: string, extra: readonly RegExp[] = []): boolean {
  return GENERIC_FRAMES.some((re) => re.test(func)) || extra.some((re) => re.test(func));
}
