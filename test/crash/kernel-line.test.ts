import { describe, expect, it } from 'vitest';

import { parseFstestsMarker, parseKernelLine } from '../../src/crash/kernel-line.js';

describe('parseKernelLine', () => {
  it('finds the printk prefix in the middle of a userspace line (fstests-samples consoles)', () => {
    const line = 'selftest/005       [   43.603853] run fstests selftest/005 at 2026-11-21 23:27:21';
    expect(parseKernelLine(line)).toEqual({
      message: 'run fstests selftest/005 at 2026-11-21 23:27:21',
      timestamped: true,
      time: 43.603853,
    });
  });

  it('keeps the leading blank of trace frames', () => {
    expect(parseKernelLine('[   47.532746]  dump_stack_lvl+0x44/0x5c').message).toBe(' dump_stack_lvl+0x44/0x5c');
  });

  it('skips a CONFIG_PRINTK_CALLER id and a syslog level, and keeps the id as the caller', () => {
    expect(parseKernelLine('<4>[    1.234567][    T1] WARNING: x')).toMatchObject({ message: 'WARNING: x', caller: 'T1' });
    // a line of test/crash-corpus/syzkaller/413
    expect(parseKernelLine('[  272.336706][ T2803] hub 4-1:0.0: USB hub found')).toMatchObject({ message: 'hub 4-1:0.0: USB hub found', caller: 'T2803' });
    expect(parseKernelLine('[ 1098.601132][    C2] watchdog: BUG: soft lockup')).toMatchObject({ caller: 'C2' });
    expect(parseKernelLine('[    1.234567] x').caller).toBeUndefined();
  });

  it('does not take check -T wall-clock stamps for printk', () => {
    const line = 'selftest/001        [23:24:43][   17.094394] run fstests selftest/001 at 2026-11-21 23:24:43';
    expect(parseKernelLine(line).time).toBe(17.094394);
  });

  it('returns the whole line when there is no prefix', () => {
    expect(parseKernelLine('[fstests-init] userspace up')).toEqual({ message: '[fstests-init] userspace up', timestamped: false });
  });
});

describe('parseFstestsMarker', () => {
  it('reads the test name check writes to /dev/kmsg', () => {
    expect(parseFstestsMarker('run fstests xfs/005 at 2026-11-22 00:11:15')).toBe('xfs/005');
    expect(parseFstestsMarker('running fstests')).toBeUndefined();
  });
});
