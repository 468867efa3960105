/**
 * Accelerator choice. KVM when it really runs a guest, TCG otherwise (README "What kt needs").
 *
 * /dev/kvm opening is not enough: on nested hypervisors it opens, SeaBIOS and the kernel's
 * real-mode setup print, and then the 64-bit kernel hangs (seen on kt's own build hosts). So
 * `auto` boots kt's initramfs with `kt.probe=1`, which prints KT-PROBE-OK and powers off, under
 * a short deadline. The verdict is cached per host boot (boot_id), so the probe costs once.
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
      note: '/dev/kvm opens but a probe guest did not boot under KVM (nested virtualisation?): using TCG',
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

/** Boots kernel+initramfs under KVM with kt.probe=1; true when the marker appears in time. */
export async function probeKvmBoot(kernel: string, initramfs: string, workDir: string, timeoutMs = 20_000): Promise<boolean> {
  const argv = [
    'qemu-system-x86_64', '-accel', 'kvm', '-machine', 'q35', '-cpu', 'host', '-m', '256M', '-smp', '1',
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-kernel', kernel, '-initrd', initramfs,
    '-append', 'console=ttyS0,115200 rdinit=/init panic=-1 kt.probe=1 quiet',
    '-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console',
  ];
  const qemu = launchQemu(argv, { cwd: workDir });
  let text = '';
  const found = new Promise<boolean>((resolve) => {
    qemu.onConsole((chunk) => {
      text = (text + chunk.toString('latin1')).slice(-4096);
      if (text.includes(PROBE_MARKER)) resolve(true);
    });
    void qemu.exited.then(() => resolve(text.includes(PROBE_MARKER)));
    setTimeout(() => resolve(false), timeoutMs);
  });
  const ok = await found;
  await qemu.kill(500);
  return ok;
}

/** Decides the accelerator, probing KVM at most once per host boot. */
export async function resolveAccel(
  request: AccelRequest,
  probe: { kernel: string; initramfs: string; cacheDir: string; workDir: string },
): Promise<AccelDecision> {
  const kvmOpenable = request === 'tcg' ? false : isKvmOpenable();
  if (request !== 'auto' || !kvmOpenable) return decideAccel(request, { kvmOpenable });
  const cacheFile = path.join(probe.cacheDir, 'kvm-probe.json');
  const id = bootId();
  try {
    const cached = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as { bootId: string; kvmBootsGuest: boolean };
    if (cached.bootId === id) return decideAccel(request, { kvmOpenable, kvmBootsGuest: cached.kvmBootsGuest });
  } catch {
    // no cache yet
  }
  let kvmBootsGuest: boolean;
  try {
    kvmBootsGuest = await probeKvmBoot(probe.kernel, probe.initramfs, probe.workDir);
  } catch (err) {
    throw new HostError('E_KVM_PROBE', `could not run the KVM probe: ${String(err)}`, 'use --accel tcg');
  }
  fs.mkdirSync(probe.cacheDir, { recursive: true });
  fs.writeFileSync(cacheFile, JSON.stringify({ bootId: id, kvmBootsGuest }));
  return decideAccel(request, { kvmOpenable, kvmBootsGuest });
}
