/**
 * The .modinfo section of a kernel module (.ko, an ELF64 relocatable object): "key=value\0"
 * strings written by MODULE_INFO() and modpost (include/linux/moduleparam.h, scripts/mod/
 * modpost.c: name=, vermagic=, depends=). Read on the host so a module built for another
 * kernel is refused before any VM boots. Pure.
 */

export interface ModInfo {
  /** name= (the module's name as the kernel knows it, e.g. kt_hello). */
  name?: string;
  /** vermagic= ("6.1.192 SMP mod_unload "), whose first word is the kernel release. */
  vermagic?: string;
  /** depends= (comma-separated module names). */
  depends: string[];
  /** Every key with its values, in order. */
  fields: Map<string, string[]>;
}

/** The bytes of one ELF64 section, by name, or undefined when the data is not such an object. */
export function elfSection(data: Uint8Array, wanted: string): Buffer | undefined {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // ELF magic, class 2 (64-bit), data 1 (little-endian): x86-64 modules (elf(5)).
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) return undefined;
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const shstrndx = b.readUInt16LE(0x3e);
  if (shentsize < 64 || shoff + shnum * shentsize > b.length || shstrndx >= shnum) return undefined;
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return { name: b.readUInt32LE(at), offset: Number(b.readBigUInt64LE(at + 0x18)), size: Number(b.readBigUInt64LE(at + 0x20)) };
  };
  const strtab = section(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const nameAt = strtab.offset + s.name;
    const end = b.indexOf(0, nameAt);
    if (end < 0) continue;
    if (b.toString('latin1', nameAt, end) === wanted) {
      if (s.offset + s.size > b.length) return undefined;
      return b.subarray(s.offset, s.offset + s.size);
    }
  }
  return undefined;
}

export function parseModInfo(ko: Uint8Array): ModInfo | undefined {
  const section = elfSection(ko, '.modinfo');
  if (!section) return undefined;
  const fields = new Map<string, string[]>();
  for (const entry of section.toString('utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const key = entry.slice(0, eq);
    fields.set(key, [...(fields.get(key) ?? []), entry.slice(eq + 1)]);
  }
  const first = (k: string) => fields.get(k)?.[0];
  const depends = (first('depends') ?? '').split(',').filter(Boolean);
  const name = first('name');
  const vermagic = first('vermagic');
  return { ...(name ? { name } : {}), ...(vermagic ? { vermagic } : {}), depends, fields };
}

/** The kernel release a module was built for: the first word of its vermagic. */
export function releaseOfVermagic(vermagic: string): string {
  return vermagic.trim().split(/\s+/)[0] ?? '';
}
