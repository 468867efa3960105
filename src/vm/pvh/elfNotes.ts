/**
 * Whether an uncompressed kernel (vmlinux) has the PVH entry point QEMU boots it by: an ELF
 * note of the Xen vendor, type XEN_ELFNOTE_PHYS32_ENTRY (18) (include/xen/interface/elfnote.h;
 * arch/x86/platform/pvh/head.S emits it when CONFIG_PVH=y; QEMU's hw/i386/x86.c loads such an
 * ELF with `-kernel` and refuses one without the note). Pure: the shell reads the bytes.
 */

const PT_NOTE = 4;
const EM_X86_64 = 62;
const XEN_ELFNOTE_PHYS32_ENTRY = 18;

/** The file ranges of an x86-64 ELF's PT_NOTE segments, from its first bytes (header and program headers); undefined when `head` is not one. */
export function noteSegments(head: Buffer): { offset: number; size: number }[] | undefined {
  // ELFCLASS64, ELFDATA2LSB, e_machine x86-64.
  if (head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1 || head.readUInt16LE(0x12) !== EM_X86_64) return undefined;
  const phoff = Number(head.readBigUInt64LE(0x20));
  const phentsize = head.readUInt16LE(0x36);
  const phnum = head.readUInt16LE(0x38);
  if (phentsize < 56 || phoff + phnum * phentsize > head.length) return undefined;
  const out: { offset: number; size: number }[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (head.readUInt32LE(at) !== PT_NOTE) continue;
    out.push({ offset: Number(head.readBigUInt64LE(at + 8)), size: Number(head.readBigUInt64LE(at + 0x20)) });
  }
  return out;
}

/** Whether a whole uncompressed kernel (already read) has the PVH note. */
export function elfHasPvhEntry(elf: Buffer): boolean {
  const segments = noteSegments(elf.subarray(0, 4096));
  return (segments ?? []).some((s) => s.offset + s.size <= elf.length && hasPvhEntry(elf.subarray(s.offset, s.offset + s.size)));
}

/** Whether a PT_NOTE segment's bytes hold the Xen PHYS32_ENTRY note (Elf64_Nhdr: namesz, descsz, type; name and desc padded to 4). */
export function hasPvhEntry(notes: Buffer): boolean {
  const pad = (n: number) => (n + 3) & ~3;
  for (let at = 0; at + 12 <= notes.length; ) {
    const namesz = notes.readUInt32LE(at);
    const descsz = notes.readUInt32LE(at + 4);
    const type = notes.readUInt32LE(at + 8);
    const name = notes.toString('latin1', at + 12, at + 12 + namesz);
    if (name === 'Xen\0' && type === XEN_ELFNOTE_PHYS32_ENTRY) return true;
    const next = at + 12 + pad(namesz) + pad(descsz);
    if (next <= at) return false;
    at = next;
  }
  return false;
}
