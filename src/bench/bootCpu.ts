/**
 * Where a kt boot's guest CPU goes, program by program: the `bootCpu` row of the benchmark
 * (docs/speed.md, "Where a boot's time goes"). The guest boots with the kernel's scheduler
 * tracepoints on from early in its boot (bootCpuTraceParams: the `trace_event=` boot parameter,
 * kernel/trace/trace_events.c), and once kt has it ready for the first test one command stops
 * the trace and prints the buffer (BOOT_CPU_READ_COMMAND). parseSchedTrace turns the
 * `sched_switch` records into time on a CPU per task, and names each task by the program it runs
 * (`sched_process_exec`) or, for a forked child or thread that has not exec'd (a subshell, a
 * privilege-separated sshd, a daemon's child), by its parent's program. The phases of the boot
 * row say when each step ended; this says which program's CPU the steps were waiting on, which
 * is what decides a cut under TCG, where the guest's vCPUs are busy from `/init` to ready
 * (docs/speed.md).
 *
 * Pure: trace text in, a profile out.
 */
import { median } from '../util/median.js';

/**
 * Kernel parameters that record every context switch, fork and exec into the trace buffer from
 * early in the kernel's boot (`trace_event=` enables the events before the initcalls that start
 * the other CPUs: kernel/trace/trace_events.c). One vCPU's boot to ready wrote 3,754 records of
 * ~100 bytes (test/fixtures/boot-trace): 4 MB per CPU holds ten times that. The buffer is per
 * CPU and guest memory, so a guest of many vCPUs gets 1 MB each (a wrapped buffer loses the
 * boot's start: parseSchedTrace refuses it).
 */
export function bootCpuTraceParams(cpus: number): string[] {
  return ['trace_event=sched:sched_switch,sched:sched_process_fork,sched:sched_process_exec', `trace_buf_size=${cpus <= 8 ? 4 : 1}M`];
}

/** BOOT_CPU_READ_COMMAND's exit status and line when the kernel has no tracing to read. */
export const NO_TRACING_EXIT = 3;
export const NO_TRACING_LINE = 'KT-NO-TRACING';

/**
 * Run on the ready VM: stops the trace before `cat` runs, so the window ends at this command's
 * start. guest/init mounts tracefs at /sys/kernel/tracing; a kernel built without tracing has no
 * `tracing_on` there, said by NO_TRACING_LINE and NO_TRACING_EXIT (the row is then skipped, not
 * failed).
 */
export const BOOT_CPU_READ_COMMAND = `[ -e /sys/kernel/tracing/tracing_on ] || { echo ${NO_TRACING_LINE}; exit ${NO_TRACING_EXIT}; }; echo 0 > /sys/kernel/tracing/tracing_on && exec cat /sys/kernel/tracing/trace`;

export interface BootCpuProgram {
  /**
   * The executable's path (`/usr/sbin/sshd`); `... (fork)` for a forked child or thread before any
   * exec; `/proc/self/exe (mount)` for a busybox applet busybox exec'd; `[kworker]` for kernel threads.
   */
  program: string;
  ms: number;
}

export interface BootCpuProfile {
  /** Guest seconds (the trace clock, ~uptime) of `/init`'s exec: the window's start. */
  initSec: number;
  /** From `/init` to the last record (the read command stopping the trace). */
  windowMs: number;
  /** Time on a CPU in the window, summed over the guest's CPUs (can exceed windowMs with 2 vCPUs). */
  busyMs: number;
  /** Time the CPUs were idle (the swapper task) in the window, summed over CPUs. */
  idleMs: number;
  cpus: number;
  /** Busy time per program, largest first. */
  programs: BootCpuProgram[];
}

/**
 * A trace's records: `<comm>-<pid> [<cpu>] <flags> <seconds>: <event>: <fields>`
 * (kernel/trace/trace_output.c). The comm may hold spaces and dashes, the pid is the last `-N`
 * before the CPU.
 */
const RECORD = /^\s*(.*)-(\d+)\s+\[(\d+)\]\s+\S+\s+(\d+\.\d+): (sched_switch|sched_process_fork|sched_process_exec): (.*)$/;
const SWITCH = /prev_comm=(.*) prev_pid=(\d+) prev_prio=.* ==> next_comm=(.*) next_pid=(\d+) next_prio=/;
const FORK = /^comm=(.*) pid=(\d+) child_comm=.* child_pid=(\d+)$/;
const EXEC = /^filename=(.*) pid=(\d+) old_pid=\d+$/;
/** The buffer's own count: `entries-in-buffer/entries-written: 3754/3754   #P:1`. */
const ENTRIES = /entries-in-buffer\/entries-written: (\d+)\/(\d+)\s+#P:(\d+)/;

/** Kernel threads by kind: `kworker/u4:2-events_unbound` and `kworker/0:1H` are both `[kworker]`. */
function kernelThreadLabel(comm: string): string {
  return `[${comm.replace(/[/:].*$/, '').replace(/\d+$/, '')}]`;
}

/** Ties in code-point order, the same in every locale. */
function byName(a: BootCpuProgram, b: BootCpuProgram): number {
  return a.program < b.program ? -1 : a.program > b.program ? 1 : 0;
}

/** What runs on a CPU since its last switch (the switch's `next_*`, or the task that exec'd there). */
interface Running {
  pid: number;
  comm: string;
  since: number;
}

/** Parses a trace written with bootCpuTraceParams; throws when it cannot give the boot's window. */
export function parseSchedTrace(text: string): BootCpuProfile {
  const lines = text.split('\n');
  const header = lines.slice(0, 20).map((l) => ENTRIES.exec(l)).find((m) => m !== null);
  if (header && Number(header[1]) < Number(header[2])) {
    throw new Error(`the trace buffer wrapped (${header[1]} of ${header[2]} records kept): the boot's start is lost; raise trace_buf_size`);
  }
  // Who runs what: pid -> label. Kernel threads are kthreadd's (pid 2) descendants.
  const label = new Map<number, string>();
  const kthreads = new Set<number>([2]);
  const busy = new Map<string, number>();
  const running = new Map<number, Running>();
  let initSec: number | undefined;
  let lastSec = 0;
  let idle = 0;
  const cpus = new Set<number>();

  /**
   * Charges `pid`'s time on `cpu` up to `until`, from when it started there or, for a CPU whose
   * first record comes after `/init`, from `/init` (whatever ran there until its first switch is
   * that switch's `prev`). `comm` is the task's name then: the name a trace line starts with is
   * the one the kernel cached when the buffer was printed, not the one at the record.
   */
  const charge = (cpu: number, until: number, pid: number, comm: string) => {
    if (initSec === undefined) return;
    const s = until - Math.max(running.get(cpu)?.since ?? initSec, initSec);
    if (s <= 0) return;
    if (pid === 0) {
      idle += s;
      return;
    }
    let who = kthreads.has(pid) ? kernelThreadLabel(comm) : (label.get(pid) ?? kernelThreadLabel(comm));
    // busybox runs an applet by exec'ing itself: the applet's name is the task's.
    if (who === '/proc/self/exe') who = `/proc/self/exe (${comm})`;
    busy.set(who, (busy.get(who) ?? 0) + s);
  };

  for (const line of lines) {
    const m = RECORD.exec(line);
    if (!m) continue;
    const cpu = Number(m[3]);
    const sec = Number(m[4]);
    const fields = m[6]!;
    cpus.add(cpu);
    lastSec = Math.max(lastSec, sec);
    if (m[5] === 'sched_process_exec') {
      const e = EXEC.exec(fields);
      if (!e) continue;
      const pid = Number(e[2]);
      const now = running.get(cpu);
      const comm = now?.pid === pid ? now.comm : m[1]!;
      // A task runs its old program up to here: charge it before the new name applies.
      charge(cpu, sec, pid, comm);
      running.set(cpu, { pid, comm, since: sec });
      label.set(pid, e[1]!);
      // A kernel thread that execs is a usermode helper (request_module's modprobe): a program now.
      kthreads.delete(pid);
      if (initSec === undefined && pid === 1 && e[1] === '/init') initSec = sec;
    } else if (m[5] === 'sched_process_fork') {
      const f = FORK.exec(fields);
      if (!f) continue;
      const parent = Number(f[2]);
      const child = Number(f[3]);
      if (kthreads.has(parent)) {
        kthreads.add(child);
      } else {
        // A pid a kernel thread had before is a process's now (kthreadd itself is pid 0's child).
        if (child !== 2) kthreads.delete(child);
        label.set(child, `${(label.get(parent) ?? kernelThreadLabel(f[1]!)).replace(/ \(fork\)$/, '')} (fork)`);
      }
    } else {
      const s = SWITCH.exec(fields);
      if (!s) continue;
      charge(cpu, sec, Number(s[2]), s[1]!);
      running.set(cpu, { pid: Number(s[4]), comm: s[3]!, since: sec });
    }
  }
  if (initSec === undefined) {
    throw new Error('no exec of /init by pid 1 in the trace: not a kt boot traced from its start (bootCpuTraceParams)');
  }
  // Each CPU's last task, up to the last record (the read command stopping the trace).
  for (const [cpu, r] of running) charge(cpu, lastSec, r.pid, r.comm);
  let total = 0;
  const programs = [...busy.entries()].map(([program, s]) => {
    total += s;
    return { program, ms: Math.round(s * 1000) };
  });
  programs.sort((a, b) => b.ms - a.ms || byName(a, b));
  return {
    initSec,
    windowMs: Math.round((lastSec - initSec) * 1000),
    busyMs: Math.round(total * 1000),
    idleMs: Math.round(idle * 1000),
    cpus: header ? Number(header[3]) : cpus.size,
    programs,
  };
}

/** Programs listed by the row; the rest are summed as `otherMs`. */
export const BOOT_CPU_TOP = 15;

/**
 * The row's output over several boots: the median of each measure, and of each program's time
 * (a program a boot did not run counts 0 there), the largest BOOT_CPU_TOP of them listed.
 */
export function summarizeBootCpu(profiles: readonly BootCpuProfile[]): Record<string, unknown> {
  if (profiles.length === 0) throw new Error('no boot profiled');
  const names = new Set(profiles.flatMap((p) => p.programs.map((q) => q.program)));
  const programs = [...names].map((program) => ({
    program,
    ms: median(profiles.map((p) => p.programs.find((q) => q.program === program)?.ms ?? 0)),
  }));
  programs.sort((a, b) => b.ms - a.ms || byName(a, b));
  const listed = programs.slice(0, BOOT_CPU_TOP);
  return {
    boots: profiles.length,
    cpus: profiles[0]!.cpus,
    windowMs: median(profiles.map((p) => p.windowMs)),
    busyMs: median(profiles.map((p) => p.busyMs)),
    idleMs: median(profiles.map((p) => p.idleMs)),
    programsMedianMs: listed,
    otherMs: programs.slice(BOOT_CPU_TOP).reduce((sum, p) => sum + p.ms, 0),
    note: 'guest CPU from /init to ready for the first test, per program (forks before an exec under their parent, kernel threads in brackets); medians over the boots',
  };
}
