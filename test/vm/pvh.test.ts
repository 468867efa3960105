// The PVH-entry decisions on real kernel bytes (test/fixtures/kernel/README.md). The whole
// chain (a real bzImage, its vmlinux.bin, a boot by the PVH entry) is in test/e2e/kernel-tree.test.ts
// and test/e2e/image-boot.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { carriesBanner } from '../../src/vm/pvh/banner.js';
import { hasPvhEntry, noteSegments } from '../../src/vm/pvh/elfNotes.js';
import { bootKernelFor, pvhCandidates } from '../../src/vm/pvh/pvhKernel.js';

const fixture = (name: string) => fs.readFileSync(new URL(`../fixtures/kernel/${name}`, import.meta.url));
const DEBIAN = 'debian-6.1.0-57-cloud-amd64.vmlinux';
const TINY = 'tinyconfig-6.1.192-ktmod.vmlinux.bin';
const DEBIAN_VERSION = '6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)';
const TINY_VERSION = '6.1.192-ktmod (root@vm) #2 SMP Wed Dec  2 11:56:16 UTC 2026';

describe('the PVH note', () => {
  it("finds the note segment in a kernel's program headers", () => {
    expect(noteSegments(fixture(`${DEBIAN}.head`))).toEqual([{ offset: 23297648, size: 512 }]);
    expect(noteSegments(fixture(`${TINY}.head`))).toEqual([{ offset: 14345208, size: 84 }]);
  });

  it('sees XEN_ELFNOTE_PHYS32_ENTRY in a CONFIG_PVH=y kernel and not in one without', () => {
    expect(hasPvhEntry(fixture(`${DEBIAN}.notes`))).toBe(true);
    expect(hasPvhEntry(fixture(`${TINY}.notes`))).toBe(false);
  });

  it('is no ELF for a bzImage, a 32-bit ELF or a few bytes', () => {
    const head = fixture(`${DEBIAN}.head`);
    const elf32 = Buffer.from(head);
    elf32[4] = 1;
    expect(noteSegments(elf32)).toBeUndefined();
    expect(noteSegments(Buffer.from('MZ not an ELF at all, padded to sixty-four bytes ...............'))).toBeUndefined();
    expect(noteSegments(head.subarray(0, 16))).toBeUndefined();
    // A truncated note list ends the walk instead of reading past it.
    expect(hasPvhEntry(fixture(`${DEBIAN}.notes`).subarray(0, 30))).toBe(false);
  });
});

describe("the bzImage's version in the kernel's banner", () => {
  it('matches the banner of the same build', () => {
    expect(carriesBanner(fixture(`${DEBIAN}.banners`), DEBIAN_VERSION)).toBe(true);
    expect(carriesBanner(fixture(`${TINY}.banners`), TINY_VERSION)).toBe(true);
  });

  it('refuses another build of the same tree: same release, another build number or time', () => {
    expect(carriesBanner(fixture(`${TINY}.banners`), TINY_VERSION.replace('#2', '#3'))).toBe(false);
    expect(carriesBanner(fixture(`${TINY}.banners`), TINY_VERSION.replace('11:56:16', '11:56:17'))).toBe(false);
    expect(carriesBanner(fixture(`${TINY}.banners`), DEBIAN_VERSION)).toBe(false);
    expect(carriesBanner(fixture(`${DEBIAN}.banners`), 'no parenthesis at all')).toBe(false);
  });
});

describe('the file QEMU boots', () => {
  it("looks in a tree beside its bzImage, and for the image kernel only in the image's directory", () => {
    expect(pvhCandidates('/src/linux/arch/x86/boot/bzImage')).toEqual([
      { elf: '/src/linux/arch/x86/boot/compressed/vmlinux.bin', relocs: '/src/linux/arch/x86/boot/compressed/vmlinux.relocs', kind: 'tree' },
    ]);
    // Written by kt after vmlinuz and checked then: its age says nothing.
    expect(pvhCandidates('/c/kt/images/265c369f3f4700b2/vmlinuz', '/c/kt/images/265c369f3f4700b2/vmlinux')).toEqual([{ elf: '/c/kt/images/265c369f3f4700b2/vmlinux', kind: 'image' }]);
  });

  it('boots what it was given when that is no bzImage or cannot be read', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-pvh-'));
    try {
      const elf = path.join(dir, 'vmlinux');
      fs.writeFileSync(elf, fixture(`${DEBIAN}.head`));
      expect(bootKernelFor(elf)).toEqual({ path: elf, entry: 'bzImage' });
      expect(bootKernelFor(path.join(dir, 'gone'))).toEqual({ path: path.join(dir, 'gone'), entry: 'bzImage' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
