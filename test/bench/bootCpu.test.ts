import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BOOT_CPU_TOP, parseSchedTrace, summarizeBootCpu, type BootCpuProfile } from '../../src/bench/bootCpu.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/boot-trace/image-kernel-1cpu.trace.gz');

/** Records in the kernel's own format (kernel/trace/trace_output.c), as a real trace has them. */
function rec(comm: string, pid: number, cpu: number, sec: string, event: string, fields: string): string {
  return `${`${comm}-${pid}`.padStart(16)} [00${cpu}] d..2. ${sec.padStart(12)}: ${event}: ${fields}`;
}
function sw(cpu: number, sec: string, prev: [string, number], next: [string, number]): string {
  return rec(prev[0], prev[1], cpu, sec, 'sched_switch', `prev_comm=${prev[0]} prev_pid=${prev[1]} prev_prio=120 prev_state=S ==> next_comm=${next[0]} next_pid=${next[1]} next_prio=120`);
}
function fork(cpu: number, sec: string, parent: [string, number], child: number): string {
  return rec(parent[0], parent[1], cpu, sec, 'sched_process_fork', `comm=${parent[0]} pid=${parent[1]} child_comm=${parent[0]} child_pid=${child}`);
}
function exec(cpu: number, sec: string, comm: string, pid: number, file: string): string {
  return rec(comm, pid, cpu, sec, 'sched_process_exec', `filename=${file} pid=${pid} old_pid=${pid}`);
}

/**
 * Two CPUs: /init, a fork that execs sshd, a kworker, rcu_preempt; cpu1's first record comes after
 * /init, and each CPU's last task runs on to the trace's end. Exec and fork records carry the task
 * column a real trace prints: the name the task has when the buffer is read, not at the record.
 */
function twoCpuTrace(entries = '15/15'): string {
  return [
    '# tracer: nop',
    '#',
    `# entries-in-buffer/entries-written: ${entries}   #P:2`,
    '#',
    fork(0, '0.300000', ['swapper/0', 0], 1),
    fork(0, '0.300100', ['swapper/0', 0], 2),
    fork(0, '0.500000', ['kthreadd', 2], 7),
    fork(0, '0.500100', ['kthreadd', 2], 9),
    sw(0, '0.950000', ['kworker/0:1', 7], ['swapper/0', 1]),
    exec(0, '1.000000', 'tini-static', 1, '/init'),
    fork(0, '1.050000', ['init', 1], 5),
    sw(0, '1.100000', ['init', 1], ['init', 5]),
    sw(1, '1.150000', ['rcu_preempt', 9], ['swapper/1', 0]),
    exec(0, '1.200000', 'sshd', 5, '/usr/sbin/sshd'),
    sw(0, '1.250000', ['sshd', 5], ['swapper/0', 0]),
    sw(0, '1.300000', ['swapper/0', 0], ['kworker/0:1', 7]),
    sw(0, '1.320000', ['kworker/0:1', 7], ['sshd', 5]),
    sw(1, '1.400000', ['swapper/1', 0], ['init', 1]),
    '',
  ].join('\n');
}

describe('parseSchedTrace', () => {
  it('charges every moment of every CPU from /init on to the program running it', () => {
    const p = parseSchedTrace(twoCpuTrace());
    expect(p.initSec).toBe(1);
    expect(p.cpus).toBe(2);
    expect(p.windowMs).toBe(400);
    expect(p.programs).toEqual([
      // cpu1's first record ends rcu_preempt's run: charged from /init's exec, not from before it.
      { program: '[rcu_preempt]', ms: 150 },
      // 1.20-1.25, and from 1.32 to the trace's end.
      { program: '/usr/sbin/sshd', ms: 130 },
      { program: '/init', ms: 100 },
      // The fork runs as its parent's program until its exec, then as sshd.
      { program: '/init (fork)', ms: 100 },
      { program: '[kworker]', ms: 20 },
    ]);
    expect(p.busyMs).toBe(500);
    // cpu0 1.25-1.30, cpu1 1.15-1.40.
    expect(p.idleMs).toBe(250 + 50);
    expect(p.busyMs + p.idleMs).toBe(p.cpus * p.windowMs);
  });

  it('gives a reused kernel-thread pid and a busybox applet their own names', () => {
    const trace = [
      fork(0, '0.5', ['kthreadd', 2], 30),
      sw(0, '0.9', ['swapper/0', 0], ['swapper/0', 1]),
      exec(0, '1.0', 'tini-static', 1, '/init'),
      // pid 30, a kernel thread's once, is /init's child now.
      fork(0, '1.1', ['init', 1], 30),
      sw(0, '1.2', ['init', 1], ['init', 30]),
      exec(0, '1.25', 'mount', 30, '/proc/self/exe'),
      sw(0, '1.3', ['mount', 30], ['swapper/0', 0]),
    ].join('\n');
    expect(parseSchedTrace(trace).programs).toEqual([
      { program: '/init', ms: 200 },
      { program: '/init (fork)', ms: 50 },
      { program: '/proc/self/exe (mount)', ms: 50 },
    ]);
  });

  it('names a kernel thread that execs (a usermode helper) by its program', () => {
    const trace = [
      fork(0, '0.5', ['kthreadd', 2], 20),
      exec(0, '1.0', 'init', 1, '/init'),
      sw(0, '1.1', ['init', 1], ['kworker/u2:1', 20]),
      // The task column is the name when the buffer was read (modprobe), as in a real trace.
      exec(0, '1.2', 'modprobe', 20, '/sbin/modprobe'),
      sw(0, '1.5', ['modprobe', 20], ['swapper/0', 0]),
    ].join('\n');
    const p = parseSchedTrace(trace);
    expect(p.programs).toEqual([
      { program: '/sbin/modprobe', ms: 300 },
      { program: '/init', ms: 100 },
      { program: '[kworker]', ms: 100 },
    ]);
  });

  it('refuses a trace whose buffer wrapped, and one without the boot', () => {
    expect(() => parseSchedTrace(twoCpuTrace('10/15'))).toThrow(/wrapped \(10 of 15 records kept\).*trace_buf_size/);
    expect(() => parseSchedTrace(sw(0, '1.0', ['sh', 5], ['swapper/0', 0]))).toThrow(/no exec of \/init/);
  });

  it('profiles a real kt boot: every CPU moment of the window accounted for once', () => {
    const text = zlib.gunzipSync(fs.readFileSync(FIXTURE)).toString('utf8');
    const p = parseSchedTrace(text);
    const initLine = text.split('\n').find((l) => /sched_process_exec: filename=\/init pid=1 /.test(l))!;
    expect(p.initSec).toBe(Number(/ (\d+\.\d+): /.exec(initLine)![1]));
    expect(p.cpus).toBe(1);
    // One CPU: busy and idle add up to the window, to the rounding of the sums.
    expect(Math.abs(p.busyMs + p.idleMs - p.windowMs)).toBeLessThanOrEqual(1);
    const names = p.programs.map((q) => q.program);
    // The image kernel's xfs load (kt-init's modprobe) and the ssh server, the largest in this boot.
    expect(names.slice(0, 2)).toEqual(['/usr/sbin/modprobe', '/usr/sbin/sshd']);
    for (const program of ['/init', '/sbin/kt-init', '/lib/systemd/systemd-udevd', '/usr/bin/tini-static', '/bin/dash']) expect(names).toContain(program);
    // Sorted, largest first.
    expect(p.programs.map((q) => q.ms)).toEqual([...p.programs.map((q) => q.ms)].sort((a, b) => b - a));
  });
});

describe('summarizeBootCpu', () => {
  const profile = (programs: [string, number][], windowMs: number): BootCpuProfile => ({
    initSec: 1, windowMs, busyMs: programs.reduce((s, [, ms]) => s + ms, 0), idleMs: 10, cpus: 2,
    programs: programs.map(([program, ms]) => ({ program, ms })),
  });

  it('takes each program’s median over the boots, 0 where a boot did not run it', () => {
    const s = summarizeBootCpu([
      profile([['/usr/sbin/sshd', 500], ['/usr/bin/udevadm', 60]], 2000),
      profile([['/usr/sbin/sshd', 400]], 2400),
      profile([['/usr/sbin/sshd', 450], ['/usr/bin/udevadm', 70]], 2200),
    ]);
    expect(s).toMatchObject({
      boots: 3, cpus: 2, windowMs: 2200, idleMs: 10,
      programsMedianMs: [{ program: '/usr/sbin/sshd', ms: 450 }, { program: '/usr/bin/udevadm', ms: 60 }],
      otherMs: 0,
    });
  });

  it(`lists the largest ${BOOT_CPU_TOP} and sums the rest`, () => {
    const many = Array.from({ length: BOOT_CPU_TOP + 3 }, (_, i): [string, number] => [`/bin/p${i}`, 100 + i]);
    const s = summarizeBootCpu([profile(many, 1000)]);
    expect((s.programsMedianMs as unknown[]).length).toBe(BOOT_CPU_TOP);
    expect(s.otherMs).toBe(100 + 101 + 102);
    expect(() => summarizeBootCpu([])).toThrow(/no boot/);
  });
});
