/**
 * Whether an uncompressed kernel is the one a bzImage carries, by their version strings: the
 * bzImage header's kernel_version is UTS_RELEASE " (" LINUX_COMPILE_BY "@" LINUX_COMPILE_HOST
 * ") " UTS_VERSION (arch/x86/boot/version.c), and the kernel's linux_banner is "Linux version "
 * the same first part, the compiler in parentheses, then the same UTS_VERSION (init/version.c,
 * init/version-timestamp.c). UTS_VERSION holds the build's number and time ("#2 SMP Wed Dec  2
 * 11:56:16 UTC 2026"), so two builds of one tree differ in it. Pure.
 */
export function carriesBanner(elf: Buffer, bzImageVersion: string): boolean {
  const split = bzImageVersion.indexOf(') ');
  if (split < 0) return false;
  const head = Buffer.from(`Linux version ${bzImageVersion.slice(0, split + 1)} (`, 'latin1');
  const tail = `) ${bzImageVersion.slice(split + 2)}`;
  for (let at = elf.indexOf(head); at >= 0; at = elf.indexOf(head, at + 1)) {
    const end = elf.indexOf(0x0a, at);
    // A banner is one line of a few hundred bytes; an early copy of it may lack the build number.
    if (end > at && end - at < 1024 && elf.toString('latin1', at, end).endsWith(tail)) return true;
  }
  return false;
}
