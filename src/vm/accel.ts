/**
 * Accelerator choice. KVM when it really runs a guest, TCG otherwise (README "What kt needs").
 *
 * /dev/kvm opening is not enough: on nested hypervisors it opens, SeaBIOS and the kernel's
 * real-mode setup print, and then the 64-bit kernel hangs (seen on kt's own build hosts). So
 * `auto` boots kt's initramfs with `kt.probe=1`, which prints KT-PROBE-OK and powers off, under
 * a short deadline. A definite verdict is cached per host boot (boot_id), so the probe costs
 * once (probeKeep says for how long).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError, HostError } from '../errors.js';
import { launchQemu } from './launch.js';
import type { Accel } from './spec.js';

export type AccelRequest = 'auto' | Accel;

/** guest/initramfs-init prints this on ttyS0 for kt.probe=1. */
export const PROBE_MARKER = 'KT-PROBE-OK';

export interface AccelFacts {
  /** /dev/kvm can be opened read-write. */
  kvmOpenable: boolean;
  /** Result of a real probe boot under KVM, when one was made. */
  kvmBootsGuest?: boolean;
  /** Why the probe guest did not boot, for the note (probeNote). */
  kvmWhy?: string;
}

/** What one probe boot under KVM showed. */
export type KvmProbe =
  | { kind: 'boots' }
  /** The guest printed, then never reached the marker: the nested-hypervisor hang. */
  | { kind: 'hangs' }
  /** Nothing on the console before the deadline: a stuck guest, or a host too busy to tell. */
  | { kind: 'silent' }
  /** QEMU ended without the marker (it refused KVM, or aborted): its own words. */
  | { kind: 'failed'; exit: string; stderr: string };

/** The probe's verdict from what was seen (pure). */
export function classifyProbe(seen: { marker: boolean; consoleBytes: number; exit?: { exitCode?: number; signal?: string; stderr: string } }): KvmProbe {
  if (seen.marker) return { kind: 'boots' };
  if (seen.exit) return { kind: 'failed', exit: seen.exit.signal ?? `status ${seen.exit.exitCode ?? '?'}`, stderr: seen.exit.stderr.trim() };
  return seen.consoleBytes > 0 ? { kind: 'hangs' } : { kind: 'silent' };
}

/** How long a silent probe's verdict is kept: a host that was only too busy gets asked again. */
export const SILENT_PROBE_KEEP_MS = 3600_000;

/**
 * How long a verdict holds: 'boot' for the rest of this host boot (the guest booted, or it started
 * and hung: nested virtualisation does not get better until the host changes), a number of ms for
 * a guest that printed nothing in the probe's 20 s (a stuck KVM, or a host too busy to tell:
 * asking every run would cost each 20 s, remembering it until reboot would keep a busy moment's
 * verdict), 0 for a QEMU that failed at once (asking again costs well under a second, and its
 * cause, a busy /dev/kvm or a missing CPU feature, may be gone). Pure.
 */
export function probeKeep(probe: KvmProbe): 'boot' | number {
  switch (probe.kind) {
    case 'boots':
    case 'hangs':
      return 'boot';
    case 'silent':
      return SILENT_PROBE_KEEP_MS;
    case 'failed':
      return 0;
  }
}

/** Why KVM was not used, in the user's note. */
export function probeWhy(probe: KvmProbe): string | undefined {
  switch (probe.kind) {
    case 'boots':
      return undefined;
    case 'hangs':
      return 'a probe guest started under KVM and then hung (nested virtualisation?)';
    case 'silent':
      return 'a probe guest printed nothing under KVM within the probe\'s deadline';
    case 'failed': {
      const line = probe.stderr.split('\n').find((l) => l.trim() !== '') ?? '';
      return `QEMU under KVM ended with ${probe.exit}${line ? `: ${line.trim()}` : ''}`;
    }
  }
}

export interface AccelDecision {
  accel: Accel;
  /** Said once to the user when auto fell back. */
  note?: string;
}

/** Pure decision from the facts. */
export function decideAccel(request: AccelRequest, facts: AccelFacts): AccelDecision {
  if (request === 'tcg') return { accel: 'tcg' };
  if (request === 'kvm') {
    if (!facts.kvmOpenable) {
      throw new UsageError(
        'E_KVM_UNAVAILABLE',
        '--accel kvm was given but /dev/kvm cannot be opened read-write',
        'load the kvm module and add your user to the kvm group, or use --accel tcg (slow) / --accel auto',
      );
    }
    return { accel: 'kvm' };
  }
  if (!facts.kvmOpenable) return { accel: 'tcg', note: '/dev/kvm is not usable: using TCG (software emulation, slow)' };
  if (facts.kvmBootsGuest === false) {
    return {
      accel: 'tcg',
      note: `/dev/kvm opens but ${facts.kvmWhy ?? 'a probe guest did not boot under KVM (nested virtualisation?)'}: using TCG (pass --accel kvm to insist)`,
    };
  }
  return { accel: 'kvm' };
}

export function isKvmOpenable(device = '/dev/kvm'): boolean {
  try {
    fs.closeSync(fs.openSync(device, 'r+'));
    return true;
  } catch {
    return false;
  }
}

function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Boots kernel+initramfs under KVM with kt.probe=1, and says what happened (classifyProbe). */
export async function probeKvmBoot(kernel: string, initramfs: string, workDir: string, timeoutMs = 20_000): Promise<KvmProbe> {
  const argv = [
    'qemu-system-x86_64', '-accel', 'kvm', '-machine', 'q35', '-cpu', 'host', '-m', '256M', '-smp', '1',
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-kernel', kernel, '-initrd', initramfs,
    '-append', 'console=ttyS0,115200 rdinit=/init panic=-1 kt.probe=1 quiet',
    '-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console',
  ];
  const qemu = launchQemu(argv, { cwd: workDir });
  let text = '';
  let consoleBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<KvmProbe>((resolve) => {
      qemu.onConsole((chunk) => {
        consoleBytes += chunk.length;
        text = (text + chunk.toString('latin1')).slice(-4096);
        if (text.includes(PROBE_MARKER)) resolve({ kind: 'boots' });
      });
      void qemu.exited.then((exit) => resolve(classifyProbe({ marker: text.includes(PROBE_MARKER), consoleBytes, exit })));
      timer = setTimeout(() => resolve(classifyProbe({ marker: false, consoleBytes })), timeoutMs);
    });
  } finally {
    clearTimeout(timer);
    await qemu.kill(500);
  }
}

/** Decides the accelerator, probing KVM at most once per host boot for a definite verdict (probeKeep). */
export async function resolveAccel(
  request: AccelRequest,
  probe: { kernel: string; initramfs: string; cacheDir: string; workDir: string },
): Promise<AccelDecision> {
  const kvmOpenable = request === 'tcg' ? false : isKvmOpenable();
  if (request !== 'auto' || !kvmOpenable) return decideAccel(request, { kvmOpenable });
  const cacheFile = path.join(probe.cacheDir, 'kvm-probe.json');
  const id = bootId();
  try {
    const cached = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as { bootId: string; kvmBootsGuest: boolean; why?: string; until?: number };
    if (cached.bootId === id && (cached.until === undefined || Date.now() < cached.until)) {
      return decideAccel(request, { kvmOpenable, kvmBootsGuest: cached.kvmBootsGuest, kvmWhy: cached.why && `${cached.why} (remembered in ${cacheFile}; delete it to probe again)` });
    }
  } catch {
    // no cache yet
  }
  let result: KvmProbe;
  try {
    result = await probeKvmBoot(probe.kernel, probe.initramfs, probe.workDir);
  } catch (err) {
    throw new HostError('E_KVM_PROBE', `could not run the KVM probe: ${String(err)}`, 'use --accel tcg');
  }
  const kvmBootsGuest = result.kind === 'boots';
  const why = probeWhy(result);
  const keep = probeKeep(result);
  if (keep !== 0) {
    fs.mkdirSync(probe.cacheDir, { recursive: true });
    fs.writeFileSync(cacheFile, JSON.stringify({ bootId: id, kvmBootsGuest, ...(why ? { why } : {}), ...(keep === 'boot' ? {} : { until: Date.now() + keep }) }));
  }
  return decideAccel(request, { kvmOpenable, kvmBootsGuest, kvmWhy: why });
}
