import { describe, expect, it } from 'vitest';

import { demangle } from '../../src/crash/demangle.js';

describe('demangle', () => {
  it('reads Rust v0 symbols of real kernel traces (test/crash-corpus/syzkaller/749)', () => {
    expect(demangle('_RNvXs1_CscPPBqWtAqum_11ashmem_rustNtB5_6AshmemNtNtCs43vyB533jt3_6kernel10miscdevice10MiscDevice4mmap')).toBe(
      '<ashmem_rust::Ashmem as kernel::miscdevice::MiscDevice>::mmap',
    );
    // the panic runtime, which the culprit rules skip
    expect(demangle('_RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind')).toBe('__rustc::rust_begin_unwind');
    expect(demangle('_RNvNtNtCs9jEwPDbx20M_4core9panicking11panic_const24panic_const_sub_overflow')).toBe(
      'core::panicking::panic_const::panic_const_sub_overflow',
    );
    // a trait impl for a reference type, with backreferences
    expect(demangle('_RNvXs1b_NtCs9jEwPDbx20M_4core3fmtRNtNtNtB8_5panic10panic_info9PanicInfoNtB6_7Display3fmtCs43vyB533jt3_6kernel')).toBe(
      '<&core::panic::panic_info::PanicInfo as core::fmt::Display>::fmt',
    );
  });

  it('reads C++ and legacy Rust symbols without their parameters and hash', () => {
    expect(demangle('_Z8fakeNameiii')).toBe('fakeName');
    expect(demangle('_ZN2ns4funcEv')).toBe('ns::func');
    expect(demangle('_ZN4core3fmt5write17h0123456789abcdefE')).toBe('core::fmt::write');
  });

  it('leaves C names and what does not parse alone', () => {
    expect(demangle('xfs_trans_cancel')).toBe('xfs_trans_cancel');
    expect(demangle('_RNvXs_broken')).toBe('_RNvXs_broken');
    expect(demangle('_Z')).toBe('_Z');
  });
});
