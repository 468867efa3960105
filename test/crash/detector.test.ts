import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { CrashDetector, detectCrashes, formatTitle, sanitizeTitle } from '../../src/crash/detector.js';
import { parseSyzkallerCase } from '../../src/crash/syzkaller-corpus.js';
import type { CrashReport } from '../../src/crash/report.js';

const CORPUS_DIR = fileURLToPath(new URL('../crash-corpus/', import.meta.url));

/** The console of a kt corpus file (after its header). */
function corpusConsole(name: string): Buffer {
  const bytes = readFileSync(CORPUS_DIR + name);
  return bytes.subarray(bytes.indexOf('\n\n') + 2);
}

/** The console log of a file of syzkaller's corpus (test/crash-corpus/syzkaller). */
function syzkallerLog(name: string): Buffer {
  return parseSyzkallerCase(readFileSync(`${CORPUS_DIR}syzkaller/${name}`)).log;
}

/** Prefixes lines with printk timestamps, as a console shows them. */
function kmsg(...messages: string[]): string {
  return messages.map((message, i) => `[   ${(10 + i / 1000).toFixed(6)}] ${message}\n`).join('');
}

function run(detector: CrashDetector, text: string): CrashReport[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return [...lines.flatMap((line) => detector.push(line)), ...detector.flush()];
}

/** The lines of a console from the first line containing `from`, as text. */
function linesFrom(console: Buffer, from: string, count: number): string[] {
  const lines = console.toString('utf8').split('\n');
  const start = lines.findIndex((line) => line.includes(from));
  return lines.slice(start, start + count);
}

describe('CrashDetector', () => {
  it('gives the same bug the same title and fingerprint on two VMs (real captures)', () => {
    // Two boots: different PIDs, CPUs, addresses, timestamps; one of them panicked (oops=panic).
    const [plain] = detectCrashes(corpusConsole('module-null-deref-oops.log'));
    const [panicked] = detectCrashes(corpusConsole('module-null-deref-panic-on-oops.log'));
    expect(plain?.fatal).toBe(false);
    expect(panicked?.fatal).toBe(true);
    expect(plain?.fingerprint).toBe(panicked?.fingerprint);
    const [sysrq] = detectCrashes(corpusConsole('sysrq-panic.log'));
    const [pvpanic] = detectCrashes(corpusConsole('sysrq-panic-pvpanic-exit.log'));
    expect(sysrq?.fingerprint).toBe(pvpanic?.fingerprint);
  });

  it('starts the excerpt at "cut here" and ends it at the first line that does not continue the report', () => {
    const [report] = detectCrashes(corpusConsole('module-warn-on.log'));
    const excerpt = report?.excerpt.split('\n') ?? [];
    expect(excerpt[0]).toContain('------------[ cut here ]------------');
    expect(excerpt[1]).toMatch(/WARNING: CPU: \d+ PID: \d+ at .*crashmod_warn/);
    expect(excerpt.at(-1)).toContain('---[ end trace 0000000000000000 ]---');
    expect(report?.excerpt).not.toContain('crashmod: warn returned');
    expect(report).toMatchObject({ title: 'WARNING in crashmod_warn', fatal: false, test: 'crashmod/warn' });
  });

  it('titles a panic_on_warn crash as the WARNING that caused it, and makes it fatal', () => {
    expect(detectCrashes(corpusConsole('module-warn-panic-on-warn.log'))).toMatchObject([{ title: 'WARNING in crashmod_warn', fatal: true }]);
    // syzkaller corpus: the panic's own stack (panic, __warn, report_bug, ...) follows the WARNING line
    expect(detectCrashes(syzkallerLog('141'))[0]).toMatchObject({ title: 'WARNING in kvm_arch_vcpu_ioctl_run', fatal: true, type: 'warning' });
  });

  it('titles a failed XFS ASSERT by the function that asserted, not by assfail', () => {
    // fs/xfs/xfs_message.c: assfail() prints "Assertion failed: %s, file: %s, line: %d" and
    // WARNs (or BUGs with bug_on_assert); two different assertions must stay two crash groups.
    const assertion = (expr: string, file: string, caller: string, bug: boolean): string => kmsg(
      'run fstests generic/475 at 2026-12-01 10:00:00',
      `XFS (vdb): Assertion failed: ${expr}, file: ${file}, line: 1234`,
      '------------[ cut here ]------------',
      bug ? 'kernel BUG at fs/xfs/xfs_message.c:110!' : 'WARNING: CPU: 1 PID: 4567 at fs/xfs/xfs_message.c:104 assfail+0x2c/0x40 [xfs]',
      ...(bug ? ['invalid opcode: 0000 [#1] PREEMPT SMP NOPTI'] : ['Modules linked in: xfs']),
      'CPU: 1 PID: 4567 Comm: xfs_io Not tainted 6.1.0 #1',
      'RIP: 0010:assfail+0x2c/0x40 [xfs]',
      'Call Trace:',
      ' <TASK>',
      ` ${caller}+0x123/0x456 [xfs]`,
      ' xfs_inodegc_worker+0x12/0x40 [xfs]',
      ' process_one_work+0x1c7/0x380',
      ' worker_thread+0x4d/0x380',
      ' kthread+0xe9/0x110',
      ' ret_from_fork+0x22/0x30',
      ' </TASK>',
      '---[ end trace 0000000000000000 ]---',
    );
    const inactive = detectCrashes(assertion('ip->i_delayed_blks == 0', 'fs/xfs/xfs_inode.c', 'xfs_inactive', false));
    const modSb = detectCrashes(assertion('tp->t_blk_res >= tp->t_blk_res_used', 'fs/xfs/xfs_trans.c', 'xfs_trans_mod_sb', false));
    // The report counts the markers the console had shown: it tells this run of generic/475 from another of the same name.
    expect(inactive).toMatchObject([{ title: 'WARNING in xfs_inactive', test: 'generic/475', markerSeq: 1 }]);
    expect(modSb).toMatchObject([{ title: 'WARNING in xfs_trans_mod_sb' }]);
    expect(inactive[0]?.fingerprint).not.toBe(modSb[0]?.fingerprint);
    expect(detectCrashes(assertion('0', 'fs/xfs/xfs_bmap.c', 'xfs_bmapi_write', true))).toMatchObject([{ title: 'kernel BUG in xfs_bmapi_write' }]);
  });

  it('returns a WARNING or KASAN report without a panic as non-fatal', () => {
    expect(detectCrashes(syzkallerLog('261'))[0]).toMatchObject({ title: 'KASAN: use-after-free Write in snd_timer_user_interrupt', fatal: false });
  });

  it('says a panic is under way before its report is complete', () => {
    const detector = new CrashDetector();
    const lines = kmsg('Kernel panic - not syncing: sysrq triggered crash', 'CPU: 1 PID: 2572 Comm: 005 Not tainted').split('\n');
    expect(detector.push(lines[0]!)).toEqual([]);
    expect(detector.fatalPending).toBe(true);
    expect(detector.push(lines[1]!)).toEqual([]);
    const [report] = detector.flush();
    expect(report).toMatchObject({ title: 'kernel panic: sysrq triggered crash', fatal: true, startLine: 1, endLine: 2 });
    expect(detector.fatalPending).toBe(false);
  });

  it('tracks the test from the fstests marker, even in the middle of a line', () => {
    const detector = new CrashDetector();
    const reports = run(
      detector,
      'selftest/900       [  100.392398] run fstests selftest/900 at 2026-11-21 23:23:50\n' +
        '[  104.378347] WARNING: CPU: 0 PID: 1 at fs/fake.c:42 fake_warning+0x0/0x10 [injected by selftest/900]\n',
    );
    // A WARNING line without its registers and call trace (selftest/900 writes it to /dev/kmsg):
    // syzbot's title for a report whose frames were lost, and a corrupted verdict.
    expect(reports).toMatchObject([{ title: 'WARNING in corrupted', corrupted: true, test: 'selftest/900', startLine: 2 }]);
    expect(detector.currentTest).toBe('selftest/900');
    detector.setCurrentTest('generic/001');
    expect(run(detector, kmsg('Kernel panic - not syncing: Fatal exception'))[0]?.test).toBe('generic/001');
  });

  it('leaves userspace lines interleaved with a report out of its excerpt', () => {
    // syzkaller corpus 207: syz-executor prints "executing program" into the middle of the trace
    const log = syzkallerLog('207');
    const [report] = detectCrashes(log);
    expect(log.toString()).toContain('bpf_map_free_deferred+0xb1/0xe0\nexecuting program\n');
    expect(report?.title).toBe('INFO: rcu detected stall in bpf_map_free_deferred');
    expect(report?.excerpt).toContain('process_one_work+0x8c0/0x15a0');
    expect(report?.excerpt).not.toContain('executing program');
  });

  it('leaves other tasks\' lines out of a report when the kernel prints caller ids (CONFIG_PRINTK_CALLER)', () => {
    const log = syzkallerLog('413');
    const [report] = detectCrashes(log);
    expect(log.toString()).toContain('[ T2803] hub 4-1:0.0: USB hub found');
    expect(report?.title).toBe('KASAN: use-after-free Read in iowarrior_disconnect');
    expect(report?.excerpt).not.toContain('USB hub found');
    expect(report?.excerpt).toContain('[   T12]  iowarrior_disconnect+0xf0/0x2c0');
  });

  it('collects reports of two tasks printing at the same time side by side, and returns them in start order', () => {
    // syzkaller corpus 351: task 12227 hits a WARNING (panic_on_warn) while 12234 prints its report
    const [first, second, ...rest] = detectCrashes(syzkallerLog('351'));
    expect(rest).toEqual([]);
    expect(first).toMatchObject({ title: 'INFO: trying to register non-static key in vkms_atomic_crtc_destroy_state', fatal: false });
    expect(second).toMatchObject({ title: 'WARNING: locking bug in lock_downgrade', fatal: true });
    expect(first!.startLine).toBeLessThan(second!.startLine);
    expect(second!.startLine).toBeLessThan(first!.endLine);
    expect(first?.excerpt).not.toContain('[T12227]');
    expect(second?.excerpt).not.toContain('[T12234]');
    expect(second?.excerpt.split('\n').slice(0, 3)).toEqual([
      '[  310.065615][T12227] ------------[ cut here ]------------',
      '[  310.075104][T12227] downgrading a read lock',
      '[  310.075198][T12227] WARNING: CPU: 1 PID: 12227 at kernel/locking/lockdep.c:3553 lock_downgrade+0x4d2/0x910',
    ]);
  });

  it('matches consoles without printk timestamps', () => {
    const reports = detectCrashes('Kernel panic - not syncing: Fatal exception\nKernel Offset: disabled\n');
    // alone, the panic that follows an oops means the oops itself was lost
    expect(reports).toMatchObject([{ title: 'kernel panic: Fatal exception', fatal: true, corrupted: true, endLine: 2 }]);
  });

  it('cuts a report at maxReportLines', () => {
    const detector = new CrashDetector({ maxReportLines: 3, maxExcerptLines: 2 });
    const reports = run(detector, kmsg('INFO: task xfs_io:123 blocked for more than 5 seconds.', 'a', 'b', 'c'));
    expect(reports).toHaveLength(1);
    expect(reports[0]?.endLine).toBe(3);
    expect(reports[0]?.excerpt.split('\n').at(-1)).toBe('... (1 more lines)');
  });

  it('reports two hung tasks as two reports with one fingerprint', () => {
    // the real hung-task report of module-hung-task.log, printed for two tasks
    const report = linesFrom(corpusConsole('module-hung-task.log'), 'INFO: task init:96 blocked', 25);
    const second = report.map((line) => line.replace('init:96', 'init:97').replace('pid:96', 'pid:97'));
    const reports = detectCrashes([...report, ...second].join('\n'));
    expect(reports.map((r) => r.title)).toEqual(['INFO: task hung in msleep', 'INFO: task hung in msleep']);
    expect(reports[0]?.fingerprint).toBe(reports[1]?.fingerprint);
  });

  it('drops a header line the kernel cut short and printed again ("** replaying previous printk message **")', () => {
    const report = linesFrom(corpusConsole('module-hung-task.log'), 'INFO: task init:96 blocked', 25);
    const cut = [report[0]!.slice(0, report[0]!.indexOf('INFO: t') + 'INFO: t'.length), '** replaying previous printk message **', ...report];
    expect(detectCrashes(cut.join('\n')).map((r) => r.title)).toEqual(['INFO: task hung in msleep']);
  });
});

describe('corrupted reports', () => {
  it('a report cut off by the end of the console is corrupted and keeps its own fingerprint', () => {
    const whole = linesFrom(corpusConsole('module-gpf-non-canonical.log'), 'general protection fault', 60);
    const [complete] = detectCrashes(whole.join('\n'));
    expect(complete).toMatchObject({ title: 'general protection fault in crashmod_gpf' });
    expect(complete?.corrupted).toBeUndefined();
    // the console stops after the register dump: no call trace, no frame
    const cut = whole.slice(0, whole.findIndex((line) => line.includes('Call Trace:')) + 1);
    const [truncated] = detectCrashes(cut.join('\n'));
    expect(truncated).toMatchObject({ title: 'general protection fault in crashmod_gpf', corrupted: true });
    expect(truncated?.fingerprint).not.toBe(complete?.fingerprint);
  });

  it('a title never swallows the next console line: a line glued into the header makes it corrupted', () => {
    // syzkaller corpus 101: "BUG: unable to handle kernel [  153.615435] deprecated getsockopt ..."
    expect(detectCrashes(syzkallerLog('101'))[0]).toMatchObject({ title: 'BUG: unable to handle kernel', corrupted: true });
  });

  it('an oops whose "BUG: unable to handle" lines were lost is still reported, corrupted', () => {
    const text = corpusConsole('module-null-deref-oops.log').toString('utf8');
    const lost = text.split('\n').filter((line) => !/BUG: kernel NULL pointer dereference|#PF: /.test(line));
    expect(detectCrashes(lost.join('\n'))).toMatchObject([{ title: 'Oops in crashmod_null_deref', corrupted: true, fatal: false }]);
  });

  it('another stack dumped into the report (fault injection) makes it corrupted', () => {
    // syzkaller corpus 229: a FAULT_INJECTION stack runs through a WARNING's panic stack
    expect(detectCrashes(syzkallerLog('229'))[0]).toMatchObject({ title: 'WARNING: kmalloc bug in corrupted', corrupted: true, fatal: true });
  });
});

describe('culprit frames (docs/crash-titles.md, frame-skip rules), on real logs of the syzkaller corpus', () => {
  // [corpus file, the helper the kernel faulted or reported in, the title]
  const cases: [string, string, string][] = [
    ['359', 'RIP: 0010:__x86_indirect_thunk_rax', 'general protection fault in run_timer_softirq'],
    ['175', 'RIP: 0010:memcmp', 'BUG: unable to handle kernel paging request in ipcget'],
    ['131', 'check_preemption_disabled', 'BUG: using __this_cpu_read() in preemptible code in ipcomp_init_state'],
    ['173', 'debug_print_object', 'WARNING: ODEBUG bug in unreserve_psock'],
    ['203', 'lockdep_rcu_suspicious', 'WARNING: suspicious RCU usage in rds_loop_conn_alloc'],
    ['261', 'BUG: KASAN: use-after-free in register_lock_class', 'KASAN: use-after-free Write in snd_timer_user_interrupt'],
    ['413', 'mutex_remove_waiter', 'KASAN: use-after-free Read in iowarrior_disconnect'],
    ['659', 'kobject_put', 'BUG: corrupted list in nilfs_sysfs_delete_device_group'],
  ];
  for (const [file, helper, title] of cases) {
    it(`${title} (skips ${helper})`, () => {
      const log = syzkallerLog(file);
      expect(log.toString('latin1')).toContain(helper);
      expect(detectCrashes(log)[0]?.title).toBe(title);
    });
  }

  it('stall titles name the frame above the dispatcher of the interrupted context, after <EOI>', () => {
    // syzkaller corpus 207: "<EOI> ... free_percpu, array_map_free, bpf_map_free_deferred, process_one_work"
    expect(detectCrashes(syzkallerLog('207'))[0]?.title).toBe('INFO: rcu detected stall in bpf_map_free_deferred');
  });

  it('reads the 6.19 WARNING line ("WARNING: lib/debugobjects.c:615 at 0x0, CPU#1: ...")', () => {
    expect(detectCrashes(syzkallerLog('753'))[0]?.title).toBe('WARNING: ODEBUG bug in handle_softirqs');
  });

  it('reads a memory leak after a timestamp of syzkaller\'s own', () => {
    expect(detectCrashes(syzkallerLog('51'))[0]).toMatchObject({ title: 'memory leak in do_ipv6_setsockopt', type: 'leak' });
  });
});

describe('filesystem messages that tests provoke on purpose', () => {
  // Formats from fs/xfs/xfs_message.c, fs/xfs/libxfs/xfs_alloc.c xfs_agfl_reset(), fs/ext4/super.c,
  // fs/btrfs/messages.c. The real consoles of the corpus (*-not-a-crash.log) cover the rest.
  const messages = [
    'XFS (vdc): Metadata corruption detected at xfs_dinode_verify+0xa0/0x560 [xfs], inode 0x83 dinode',
    'XFS (vdc): Corruption of in-memory data (0x8) detected at xfs_trans_cancel+0x12f/0x160 [xfs] (fs/xfs/xfs_trans.c:1098).  Shutting down filesystem.',
    'XFS (vdc): Corruption detected. Unmount and run xfs_repair',
    'XFS (vdc): WARNING: Reset corrupted AGFL on AG 0. 4 blocks leaked. Please unmount and run xfs_repair.',
    'XFS (vdc): Internal error XFS_WANT_CORRUPTED_GOTO at line 1234 of file fs/xfs/libxfs/xfs_bmap.c.  Caller xfs_bmapi_write+0x3a1/0x5e0 [xfs]',
    'EXT4-fs error (device loop0): ext4_lookup:1862: inode #12: comm cat: deleted inode referenced: 14',
    'EXT4-fs (loop0): WARNING: mount option "nobh" is deprecated',
    'BTRFS error (device vdc): bad tree block start, mirror 1 want 30588928 have 0',
    'BTRFS critical (device vdc): corrupt leaf: root=2 block=30588928 slot=0, BUG: unexpected item',
    'BTRFS: error (device vdc: state EA) in __btrfs_free_extent:3085: errno=-2 No such entry',
    'I/O error, dev vdc, sector 144240 op 0x0:(READ) flags 0x80700 phys_seg 4 prio class 2',
    'Buffer I/O error on dev dm-0, logical block 12, async page read',
  ];
  for (const message of messages) {
    it(message.slice(0, 60), () => {
      expect(detectCrashes(kmsg(message))).toEqual([]);
    });
  }
});

describe('boot notices that say WARNING as advice', () => {
  // arch/x86/kernel/cpu/bugs.c on a CPU with the bug (VMs with -cpu host); the first two are
  // lines of test/crash-corpus/syzkaller logs
  const messages = [
    'Spectre V2 : WARNING: Unprivileged eBPF is enabled with eIBRS on, data leaks possible via Spectre v2 BHB attacks!',
    'Speculative Return Stack Overflow: WARNING: kernel not compiled with CPU_SRSO.',
    'RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!',
    'Spectre V2 : WARNING: LFENCE mitigation is not recommended for this CPU, data leaks possible!',
  ];
  for (const message of messages) {
    it(message.slice(0, 60), () => {
      expect(detectCrashes(kmsg(message))).toEqual([]);
    });
  }
});

describe('kinds this kernel could not be made to print and the syzkaller corpus does not hold', () => {
  // Not captured for real (see test/crash-corpus/README.md): TCG has no PMU for the hard-lockup
  // detector. These lines are the kernel's format strings (kernel/watchdog_perf.c,
  // arch/x86/kernel/dumpstack.c) filled in.
  it('hard lockup', () => {
    const reports = detectCrashes(
      kmsg(
        'NMI watchdog: Watchdog detected hard LOCKUP on cpu 1',
        'CPU: 1 PID: 0 Comm: swapper/1',
        'RIP: 0010:xfs_extent_busy_flush+0x4a/0x90 [xfs]',
        'Call Trace:',
        ' <TASK>',
        ' xfs_alloc_vextent+0x1a/0x30 [xfs]',
        ' xfs_bmapi_write+0x3a1/0x5e0 [xfs]',
        ' xfs_file_fallocate+0x1a/0x30 [xfs]',
        ' vfs_fallocate+0x1a/0x30',
        ' __x64_sys_fallocate+0x1a/0x30',
        ' do_syscall_64+0x5d/0x90',
        ' entry_SYSCALL_64_after_hwframe+0x6e/0xd8',
        ' </TASK>',
      ),
    );
    // like a soft lockup: the frame above the syscall entry (the syscall, its wrapper prefix dropped)
    expect(reports).toMatchObject([{ title: 'BUG: hard lockup in sys_fallocate', fatal: true, type: 'hardlockup' }]);
  });
});

describe('titles', () => {
  it('drop offsets, addresses, numbers and blank runs', () => {
    expect(sanitizeTitle('list_add at ffffffffc0286020+0x1/0x2   x')).toBe('list_add at ADDR x');
    expect(sanitizeTitle('kernel panic: VFS: Unable to mount root fs on unknown-block(0,0)')).toBe('kernel panic: VFS: Unable to mount root fs on unknown-block(NUM,NUM)');
  });

  it('say "corrupted" where the culprit was lost, as syzbot does', () => {
    expect(formatTitle('INFO: task hung in {frame}', {}, 'corrupted')).toBe('INFO: task hung in corrupted');
    expect(formatTitle('WARNING in {frame}', {}, 'xfs_trans_cancel')).toBe('WARNING in xfs_trans_cancel');
  });
});
