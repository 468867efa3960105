import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { CrashDetector, detectCrashes, formatTitle, normalizeTitleText } from '../../src/crash/detector.js';
import type { CrashReport } from '../../src/crash/report.js';

const CORPUS_DIR = fileURLToPath(new URL('../crash-corpus/', import.meta.url));

/** The console of a corpus file (after its header). */
function corpusConsole(name: string): Buffer {
  const bytes = readFileSync(CORPUS_DIR + name);
  return bytes.subarray(bytes.indexOf('\n\n') + 2);
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

const titles = (reports: readonly CrashReport[]): string[] => reports.map((report) => report.title);

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

  it('ends a report at the first line after its trace that does not continue it', () => {
    const [report] = detectCrashes(corpusConsole('module-warn-on.log'));
    const excerpt = report?.excerpt.split('\n') ?? [];
    expect(excerpt[0]).toMatch(/WARNING: CPU: \d+ PID: \d+ at .*crashmod_warn/);
    expect(excerpt.at(-1)).toContain('---[ end trace 0000000000000000 ]---');
    expect(report?.excerpt).not.toContain('crashmod: warn returned');
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
    expect(reports).toMatchObject([{ title: 'WARNING in fake_warning', test: 'selftest/900', startLine: 2 }]);
    expect(detector.currentTest).toBe('selftest/900');
    detector.setCurrentTest('generic/001');
    expect(run(detector, kmsg('Kernel panic - not syncing: Fatal exception'))[0]?.test).toBe('generic/001');
  });

  it('leaves userspace lines interleaved with a report out of its excerpt', () => {
    const [report] = detectCrashes(
      kmsg('BUG: scheduling while atomic: init/95/0x00000002', 'Call Trace:') +
        'QA output created by 005\n' +
        kmsg(' <TASK>', ' dump_stack_lvl+0x44/0x5c', ' crashmod_sleep_in_atomic+0x16/0x30 [crashmod]', ' </TASK>'),
    );
    expect(report?.title).toBe('BUG: scheduling while atomic in crashmod_sleep_in_atomic');
    expect(report?.excerpt).not.toContain('QA output');
  });

  it('matches consoles without printk timestamps', () => {
    const reports = detectCrashes('Kernel panic - not syncing: Fatal exception\nKernel Offset: disabled\n');
    expect(reports).toMatchObject([{ title: 'kernel panic: Fatal exception', fatal: true, endLine: 2 }]);
  });

  it('cuts a report at maxReportLines', () => {
    const detector = new CrashDetector({ maxReportLines: 3, maxExcerptLines: 2 });
    const reports = run(detector, kmsg('INFO: task xfs_io:123 blocked for more than 5 seconds.', 'a', 'b', 'c'));
    expect(reports).toHaveLength(1);
    expect(reports[0]?.endLine).toBe(3);
    expect(reports[0]?.excerpt.split('\n').at(-1)).toBe('... (1 more lines)');
  });

  it('reports two hung tasks as two reports', () => {
    const hung = (comm: string, pid: number): string[] => [
      `INFO: task ${comm}:${pid} blocked for more than 120 seconds.`,
      'Call Trace:',
      ' <TASK>',
      ' __schedule+0x34d/0xa00',
      ' schedule+0x5a/0xd0',
      ' xlog_wait_on_iclog+0x1a/0x100 [xfs]',
      ' </TASK>',
    ];
    const reports = detectCrashes(kmsg(...hung('xfs_io', 1), ...hung('fsstress', 2)));
    expect(titles(reports)).toEqual(['INFO: task hung in xlog_wait_on_iclog', 'INFO: task hung in xlog_wait_on_iclog']);
    expect(reports[0]?.fingerprint).toBe(reports[1]?.fingerprint);
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

describe('kinds this kernel could not be made to print', () => {
  // Not captured for real (see test/crash-corpus/README.md): the Debian 6.1 cloud kernel has no
  // lockdep, KASAN, UBSAN or KFENCE, and TCG has no PMU for the hard-lockup detector. These
  // lines are the kernel's format strings (cited in src/crash/patterns.ts) filled in.
  const cases: [string, string[], string, boolean][] = [
    [
      'lockdep circular',
      [
        'WARNING: possible circular locking dependency detected',
        '6.1.0 #1 Not tainted',
        '------------------------------------------------------',
        'xfs_io/1234 is trying to acquire lock:',
        'ffff888012345678 (&sb->s_type->i_mutex_key#10){++++}-{3:3}, at: xfs_ilock+0x8e/0x1a0 [xfs]',
        '',
        'but task is already holding lock:',
        'ffff888087654321 (sb_internal){.+.+}-{0:0}, at: xfs_trans_alloc+0x1ad/0x2d0 [xfs]',
      ],
      'possible deadlock in xfs_ilock',
      false,
    ],
    [
      'lockdep recursive',
      ['WARNING: possible recursive locking detected', 'kworker/0:1/42 is trying to acquire lock:', 'ffff8880 (&ip->i_lock){+.+.}-{3:3}, at: _raw_spin_lock+0x1a/0x30', ' ffff8880 (&ip->i_lock), at: xfs_iflush_cluster+0x10/0x20 [xfs]'],
      'possible deadlock in xfs_iflush_cluster',
      false,
    ],
    [
      'KASAN',
      ['BUG: KASAN: slab-use-after-free in xfs_buf_rele+0x40/0x5e0 [xfs]', 'Read of size 8 at addr ffff888012345678 by task kworker/1:2/123'],
      'KASAN: slab-use-after-free in xfs_buf_rele',
      false,
    ],
    [
      'KFENCE',
      ['BUG: KFENCE: out-of-bounds read in ext4_xattr_get+0x1e/0x30'],
      'KFENCE: out-of-bounds read in ext4_xattr_get',
      false,
    ],
    [
      'UBSAN',
      ['UBSAN: shift-out-of-bounds in fs/xfs/libxfs/xfs_bmap.c:123:45', 'shift exponent 64 is too large', 'Call Trace:', ' <TASK>', ' dump_stack_lvl+0x44/0x5c', ' ubsan_epilogue+0x5/0x40', ' __ubsan_handle_shift_out_of_bounds.cold+0x61/0xef', ' xfs_bmap_btalloc+0x123/0x4d0 [xfs]', ' </TASK>'],
      'UBSAN: shift-out-of-bounds in xfs_bmap_btalloc',
      false,
    ],
    [
      'hard lockup',
      ['NMI watchdog: Watchdog detected hard LOCKUP on cpu 1', 'CPU: 1 PID: 0 Comm: swapper/1', 'RIP: 0010:xfs_extent_busy_flush+0x4a/0x90 [xfs]'],
      'BUG: hard lockup in xfs_extent_busy_flush',
      true,
    ],
    [
      'arm64 NULL dereference',
      ['Unable to handle kernel NULL pointer dereference at virtual address 0000000000000008', 'pc : btrfs_search_slot+0x5c/0x9a0 [btrfs]'],
      'BUG: unable to handle kernel NULL pointer dereference in btrfs_search_slot',
      false,
    ],
    [
      'workqueue lockup',
      ['BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!'],
      'BUG: workqueue lockup',
      false,
    ],
  ];
  for (const [name, lines, title, fatal] of cases) {
    it(name, () => {
      expect(detectCrashes(kmsg(...lines))).toMatchObject([{ title, fatal }]);
    });
  }
});

describe('titles', () => {
  it('drop offsets, addresses and blank runs', () => {
    expect(normalizeTitleText('list_add at ffffffffc0286020+0x1/0x2   x')).toBe('list_add at ADDR x');
    expect(normalizeTitleText('Attempted to kill init! exitcode=0x0000000b')).toBe('Attempted to kill init! exitcode=0x0000000b');
  });

  it('drop " in {frame}" when no frame is known', () => {
    expect(formatTitle('INFO: task hung in {frame}', {}, undefined)).toBe('INFO: task hung');
    expect(formatTitle('WARNING in {func}', { func: 'xfs_trans_cancel.cold' }, undefined)).toBe('WARNING in xfs_trans_cancel');
  });
});
