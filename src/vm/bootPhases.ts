/**
 * Where a boot's time went, from what the guest printed and when the host saw it (pure).
 *
 * guest/init and guest/kt-init read /proc/uptime at the end of each step and kt-init prints
 * them on the console just before "kt-init: ready", as one line:
 *
 *   kt-init: boot-stamps init=3.37 initramfs-modules=3.71 root-mount=3.83 sshd-start=4.02
 *            early-setup=4.23 kt-init=4.91 modules=5.32 sshd=5.33 setup=5.60 ready=5.67   (one line)
 *
 * Each stamp is the guest's uptime in seconds when a step ended; the step's phase is the time
 * since the previous stamp. The kernel's clock starts at 0 when the kernel starts, so the host
 * time of the ready line minus its uptime is when the kernel started: everything before that is
 * QEMU's own start, the firmware and the kernel's decompression (`qemuStart`). docs/speed.md
 * explains each phase and what was cut.
 */

/** The console line prefix kt-init prints its stamps after. */
export const BOOT_STAMPS_PREFIX = 'kt-init: boot-stamps ';
/** kt-init prints `uname -r` after this prefix, saving the host a command round trip. */
export const RELEASE_PREFIX = 'kt-init: release ';

/**
 * kt-init prints this line before its ready line when it has done everything kt's per-boot
 * guest set-up does besides the fstests tree's preflight (src/runner/guestCommands.ts
 * renderGuestSetup): the fstests tree on /var/lib/xfstests, the mount points, check's result
 * base, the console back to level 7.
 */
export const PREPARED_LINE = 'kt-init: prepared';

/** Whether a console line is kt-init's PREPARED_LINE. */
export function isPreparedLine(line: string): boolean {
  return line.trimEnd().endsWith(PREPARED_LINE);
}

/** The phase each stamp closes, by the stamp's name: what ran since the previous stamp. */
const PHASE_OF_STAMP: Readonly<Record<string, string>> = {
  init: 'kernel',
  'initramfs-modules': 'initramfsModules',
  'root-mount': 'rootMount',
  'early-setup': 'earlySetup',
  'kt-init': 'switchRoot',
  modules: 'modules',
  sshd: 'sshd',
  setup: 'setup',
  ready: 'ktInitRest',
};

export interface BootStamp {
  name: string;
  /** Guest uptime in seconds. */
  uptime: number;
}

/** The stamps of a `kt-init: boot-stamps` line, in order; undefined when it is not one. */
export function parseBootStamps(line: string): BootStamp[] | undefined {
  const at = line.indexOf(BOOT_STAMPS_PREFIX);
  if (at < 0) return undefined;
  const stamps: BootStamp[] = [];
  for (const word of line.slice(at + BOOT_STAMPS_PREFIX.length).trim().split(/\s+/)) {
    const m = /^([a-z][a-z0-9-]*)=(\d+(?:\.\d+)?)$/.exec(word);
    if (!m) continue;
    stamps.push({ name: m[1]!, uptime: Number(m[2]) });
  }
  return stamps.length > 0 ? stamps : undefined;
}

/** The kernel release of a `kt-init: release` line. */
export function parseReleaseLine(line: string): string | undefined {
  const at = line.indexOf(RELEASE_PREFIX);
  if (at < 0) return undefined;
  const release = line.slice(at + RELEASE_PREFIX.length).trim();
  return /^\S+$/.test(release) ? release : undefined;
}

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export interface BootTimes {
  /** Host ms from QEMU's start until the ready line was read. */
  readySeenMs: number;
  /** Host ms from QEMU's start until the boot returned (commands accepted). */
  bootMs: number;
  /** The guest's stamps, when it printed them. */
  stamps?: readonly BootStamp[];
}

/**
 * Phases in ms, in boot order, summing to bootMs: qemuStart, one phase per guest stamp, and
 * afterReady (the host's wait beyond the ready line: the ssh handshake when it did not overlap,
 * the first command). Without stamps (a guest that prints none): untilReady and afterReady.
 */
export function bootPhases(t: BootTimes): Record<string, number> {
  const phases: Record<string, number> = {};
  const stamps = t.stamps ?? [];
  const last = stamps.at(-1);
  // The stamps must be in order and end before the ready line was seen on the host.
  const usable = last !== undefined && stamps.every((s, i) => i === 0 || s.uptime >= stamps[i - 1]!.uptime) && last.uptime * 1000 <= t.readySeenMs;
  if (!usable) {
    phases['untilReady'] = Math.round(t.readySeenMs);
  } else {
    const kernelStart = t.readySeenMs - last.uptime * 1000;
    phases['qemuStart'] = Math.round(kernelStart);
    let prev = 0;
    for (const s of stamps) {
      const name = PHASE_OF_STAMP[s.name] ?? camel(s.name);
      phases[name] = (phases[name] ?? 0) + Math.round((s.uptime - prev) * 1000);
      prev = s.uptime;
    }
  }
  phases['afterReady'] = Math.max(0, Math.round(t.bootMs - t.readySeenMs));
  return phases;
}
