/**
 * The accelerator decision and the KVM probe's verdicts. The probe itself runs a real program:
 * a stand-in `qemu-system-x86_64` first on PATH that behaves as QEMU does on a host whose KVM
 * refuses the guest (this development host's nested /dev/kvm aborts QEMU with "failed to set
 * MSR 0x10a", target/i386/kvm/kvm.c), that prints and hangs, or that boots.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { classifyProbe, decideAccel, probeKeep, probeKvmBoot, probeWhy, PROBE_MARKER, SILENT_PROBE_KEEP_MS } from '../../src/vm/accel.js';

let tmp: string;
let savedPath: string | undefined;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-accel-'));
  savedPath = process.env.PATH;
});
afterEach(() => {
  process.env.PATH = savedPath;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A stand-in QEMU running `body` (sh), first on PATH. */
function fakeQemu(body: string): void {
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'qemu-system-x86_64'), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  process.env.PATH = `${bin}:${savedPath ?? ''}`;
}

describe('decideAccel', () => {
  it('uses KVM when the probe guest booted, TCG with the reason when it did not', () => {
    expect(decideAccel('auto', { kvmOpenable: true, kvmBootsGuest: true })).toEqual({ accel: 'kvm' });
    const fallback = decideAccel('auto', { kvmOpenable: true, kvmBootsGuest: false, kvmWhy: 'QEMU under KVM ended with SIGABRT: error: failed to set MSR 0x10a to 0x69' });
    expect(fallback.accel).toBe('tcg');
    expect(fallback.note).toContain('failed to set MSR 0x10a');
    expect(decideAccel('auto', { kvmOpenable: false }).accel).toBe('tcg');
    expect(decideAccel('tcg', { kvmOpenable: true })).toEqual({ accel: 'tcg' });
  });

  it('refuses --accel kvm without a usable /dev/kvm', () => {
    expect(() => decideAccel('kvm', { kvmOpenable: false })).toThrow(/E_KVM_UNAVAILABLE|cannot be opened/);
  });
});

describe('the probe verdict', () => {
  it('keeps a definite verdict for the host boot, a silent guest\'s for an hour, a QEMU that failed at once not at all', () => {
    const verdicts = {
      boots: classifyProbe({ marker: true, consoleBytes: 100 }),
      hangs: classifyProbe({ marker: false, consoleBytes: 100 }),
      silent: classifyProbe({ marker: false, consoleBytes: 0 }),
      failed: classifyProbe({ marker: false, consoleBytes: 0, exit: { signal: 'SIGABRT', stderr: 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\n' } }),
    };
    expect(Object.fromEntries(Object.entries(verdicts).map(([k, v]) => [k, [v.kind, probeKeep(v)]]))).toEqual({
      boots: ['boots', 'boot'], hangs: ['hangs', 'boot'], silent: ['silent', SILENT_PROBE_KEEP_MS], failed: ['failed', 0],
    });
    expect(probeWhy(verdicts.failed)).toBe('QEMU under KVM ended with SIGABRT: qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69');
    expect(probeWhy(verdicts.boots)).toBeUndefined();
  });

  it('reports what a QEMU that refused KVM printed', async () => {
    fakeQemu('echo "qemu-system-x86_64: failed to initialize kvm: Device or resource busy" >&2; exit 1');
    const probe = await probeKvmBoot('/k', '/i', tmp, 60_000);
    expect(probe).toEqual({ kind: 'failed', exit: 'status 1', stderr: 'qemu-system-x86_64: failed to initialize kvm: Device or resource busy' });
  });

  it('says a guest that printed and then stopped hangs, once the deadline passes', async () => {
    fakeQemu('echo "SeaBIOS (version 1.16.2-debian-1.16.2-1)"; exec sleep 600');
    // The deadline is generous so that a busy host still runs the stand-in's echo before it.
    expect(await probeKvmBoot('/k', '/i', tmp, 10_000)).toEqual({ kind: 'hangs' });
  });

  it('says a guest that printed the marker boots', async () => {
    fakeQemu(`echo "${PROBE_MARKER}"; exec sleep 600`);
    expect(await probeKvmBoot('/k', '/i', tmp, 60_000)).toEqual({ kind: 'boots' });
  });
});
