/**
 * The benchmark's boot rows (docs/speed.md):
 *  - bare: the same kernel booting a busybox initramfs whose /init prints a marker, QEMU start →
 *    marker, with the kernel's default console level (its ~400 boot lines, as the row measured
 *    before) and, `quiet`, with kt's own boot-speed parameters (src/vm/qemuArgs.ts
 *    BOOT_SPEED_PARAMS: console level, no entropy wait, no crypto self-tests): kt's boot must
 *    not look good only because the bare kernel does more; `pvh`: quiet, and booted the way kt
 *    boots it, by the PVH entry of its uncompressed ELF (src/vm/pvh/pvhKernel.ts) — the floor
 *    of kt's own kernel boot;
 *  - kt: QEMU start → ready for the first test, as a run readies a VM (src/runner/supply.ts): the
 *    real QemuMachine boot (commands accepted), then the guest set-up and the section's TEST_DEV
 *    mkfs at once; its phases come from the guest's boot stamps (src/vm/bootPhases.ts); in the
 *    boot row also TEST_DEV mounted as check's start-up mounts it, which waits for a
 *    filesystem module still loading (the image kernel's xfs);
 *  - checkStart: on a ready VM, `check` started → its first test named on stdout;
 *  - checkPhases: the same start-up under xtrace, cut at check's steps (checkTrace.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateSshKeyPair } from '../vm/sshKeyPair.js';
import type { PreflightOutcome, TestDevOrigin } from '../record/events.js';
import { createGuestSteps, templateToStartFrom, testDevOrigin, type PreflightMemo, type TestDevTemplates } from '../runner/guestSetup.js';
import { GUEST_TEST_DEV, GUEST_TEST_DIR, renderCheckCommand } from '../runner/guestCommands.js';
import type { GuestSteps } from '../runner/run.js';
import { writeCpio } from '../vm/image/cpio.js';
import { launchQemu } from '../vm/launch.js';
import type { Machine } from '../vm/machine.js';
import { QemuMachine } from '../vm/qemuMachine.js';
import { BOOT_SPEED_PARAMS } from '../vm/qemuArgs.js';
import type { BootKernel } from '../vm/pvh/pvhKernel.js';
import { guestModulesFor, resolveVmSpec, type Accel, type VmSpec } from '../vm/spec.js';
import { median } from '../util/median.js';
import { parseCheckTrace, renderCheckTraceCommand, traceReachedTest, type CheckTracePhases } from './checkTrace.js';

export interface BenchImage {
  kernel: string;
  /** What -kernel gets and how it boots, as a run chooses it (src/vm/pvh/pvhKernel.ts). */
  boot: BootKernel;
  initramfs: string;
  rootImage: string;
}

export interface BareBoot {
  ms: number;
  /** The guest's uptime at the marker: ms - this is QEMU's start, firmware and early kernel. */
  uptimeMs: number;
}

/** Bare boot: the same kernel with an initramfs of busybox whose init prints a marker. */
export async function bareBoot(kernel: string, work: string, accel: Accel, quiet = false, cpus = 2): Promise<BareBoot> {
  const append = ['console=ttyS0,115200', 'rdinit=/init', 'panic=-1', ...(quiet ? BOOT_SPEED_PARAMS : [])].join(' ');
  const busybox = fs.readFileSync('/bin/busybox');
  const init = '#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\nread up _ </proc/uptime\n/bin/busybox echo KT-BARE-READY $up\n/bin/busybox poweroff -f\n';
  const cpio = writeCpio([
    { kind: 'dir', path: 'bin' },
    { kind: 'dir', path: 'dev' },
    { kind: 'dir', path: 'proc' },
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1, mode: 0o600 },
    { kind: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
    { kind: 'file', path: 'init', data: Buffer.from(init), mode: 0o755 },
  ]);
  const initrd = path.join(work, 'bare.cpio');
  fs.writeFileSync(initrd, cpio);
  const argv = [
    'qemu-system-x86_64', '-machine', 'q35', '-accel', accel === 'kvm' ? 'kvm' : 'tcg,thread=multi', '-cpu', accel === 'kvm' ? 'host' : 'max',
    '-smp', String(cpus), '-m', '2048M', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-kernel', kernel, '-initrd', initrd, '-append', append,
    '-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console',
  ];
  const started = Date.now();
  const q = launchQemu(argv, { cwd: work });
  let text = '';
  try {
    return await new Promise<BareBoot>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('bare boot timed out')), 120_000);
      q.onConsole((c) => {
        text += c.toString('latin1');
        const m = /KT-BARE-READY (\d+\.\d+)/.exec(text);
        if (m) {
          clearTimeout(timer);
          resolve({ ms: Date.now() - started, uptimeMs: Math.round(Number(m[1]) * 1000) });
        }
      });
    });
  } finally {
    await q.kill(500);
  }
}

export interface KtReady {
  machine: QemuMachine;
  guest: GuestSteps;
  /** QEMU start → commands accepted (Machine.boot). */
  bootMs: number;
  /** QEMU start → ready for the first test: set-up and TEST_DEV mkfs done. */
  readyMs: number;
  /**
   * With `measureTestMount`: QEMU start → TEST_DEV mounted by a command sent at readyMs (then
   * unmounted again, so that check mounts it as in a run): ready with TEST mounted, the boot
   * goal's measure (docs/speed.md, "The rows"). Includes one command's start over ssh (~0.1 s
   * under TCG), which check's own mount does not pay separately.
   */
  testMountedMs?: number;
  /** Whether the set-up ran the preflight or skipped it as remembered (src/runner/guestSetup.ts). */
  preflight: PreflightOutcome;
  /** How TEST_DEV got its filesystem: the VM's mkfs, or a copy of one made once (ktReady's testDevTemplate). */
  testDev: TestDevOrigin;
  phases: Record<string, number>;
}

/** TEST and SCRATCH of the benchmark's VMs: kt's default --test-size and --scratch-size. */
export const BENCH_DISK_BYTES = 5 * 2 ** 30;

/** The section of the benchmark's VMs: kt's default filesystem, no options. */
export const BENCH_SECTION = { name: 'xfs', fstyp: 'xfs', mkfsOptions: '', mountOptions: '', env: {} } as const;

/**
 * The VM the benchmark boots as a run would for kt's default section (xfs): 2 vCPUs unless told,
 * 2 GiB, 5 GiB TEST and SCRATCH, the virtio-serial command channel; its dir is <work>/vm<index>.
 */
export function benchVmSpec(opts: { runId: string; index: number; image: BenchImage; fstestsImage: string; work: string; accel: Accel; cpus?: number; sshPublicKey: string; testTemplate?: string; extraCmdline?: readonly string[] }): VmSpec {
  return resolveVmSpec({
    ...(opts.testTemplate ? { testTemplate: opts.testTemplate } : {}),
    runId: opts.runId, index: opts.index, accel: opts.accel, cpus: opts.cpus ?? 2, memoryMiB: 2048,
    kernel: opts.image.boot.path, pvhEntry: opts.image.boot.entry === 'pvh', initramfs: opts.image.initramfs, rootImage: opts.image.rootImage, fstestsImage: opts.fstestsImage,
    testSizeBytes: BENCH_DISK_BYTES, scratchSizeBytes: BENCH_DISK_BYTES, extraCmdline: [...(opts.extraCmdline ?? [])], baseDir: opts.work,
    sshKeyBlob: opts.sshPublicKey.split(' ')[1]!, transport: 'virtio-serial', hungTaskTimeoutSec: 0, vmcore: false,
    guestModules: guestModulesFor(['xfs']),
  });
}

/** kt's boot as a run does it, up to ready for the first test; the caller disposes the machine. */
export async function ktReady(opts: {
  image: BenchImage;
  fstestsImage: string;
  fstestsDir: string;
  work: string;
  index: number;
  accel: Accel;
  cpus?: number;
  preflight?: PreflightMemo;
  /**
   * Also time TEST_DEV's mount (the boot row only): it waits for the xfs load, which the other
   * rows' VMs must still pay in their own first check, as in a run.
   */
  measureTestMount?: boolean;
  /** TEST_DEV made once, as a run does (src/cli/testDevTemplates.ts). Without it every VM makes TEST_DEV itself. */
  testDevTemplates?: TestDevTemplates;
  /** More kernel parameters (the bootCpu row's tracing, bootCpu.ts). */
  extraCmdline?: readonly string[];
}): Promise<KtReady> {
  // One ssh2 pair in 256 is malformed and would fail the boot (src/vm/sshKeyPair.ts).
  const keys = generateSshKeyPair();
  const testDevTemplates = opts.testDevTemplates;
  const template = templateToStartFrom(testDevTemplates, BENCH_SECTION.name);
  const spec = benchVmSpec({ ...opts, runId: 'bench', sshPublicKey: keys.public, ...(template ? { testTemplate: template } : {}) });
  const machine = new QemuMachine({ spec, name: `vm${opts.index}`, consoleLogPath: path.join(opts.work, `console-${opts.index}.log`), privateKey: keys.private, bootTimeoutMs: 300_000, keep: false });
  const guest = createGuestSteps([{ ...BENCH_SECTION }], opts.fstestsDir, { ...(opts.preflight ? { preflight: opts.preflight } : {}), ...(testDevTemplates ? { testDevTemplates } : {}) });
  const started = Date.now();
  try {
    const boot = await machine.boot(new AbortController().signal);
    const booted = Date.now();
    // As MachineSupply.bootOne: set-up and the section's mkfs at once.
    const testDev = testDevOrigin(testDevTemplates, BENCH_SECTION.name, boot);
    const section = guest.prepareSection(machine, BENCH_SECTION.name, undefined, boot).then(() => Date.now() - booted);
    section.catch(() => undefined);
    const preflight = await guest.setupGuest(machine, boot);
    const setupMs = Date.now() - booted;
    const sectionMs = await section;
    const readyMs = Date.now() - started;
    const testMountedMs = opts.measureTestMount ? await testMounted(machine, started) : undefined;
    return {
      machine, guest, bootMs: boot.bootMs, readyMs, ...(testMountedMs !== undefined ? { testMountedMs } : {}), preflight, testDev,
      phases: { ...boot.phases, guestSetup: setupMs, prepareSection: sectionMs },
    };
  } catch (err) {
    await machine.dispose();
    throw err;
  }
}

/**
 * The median round trip of `n` commands that do nothing (`true`), one after another, on a
 * ready VM: opening a channel, the guest's ssh server starting root's shell (dash in kt's
 * image), the exit status back. Every test of a run pays it a few times (check, its artifacts),
 * so it is the command channel's cost beyond the boot (docs/speed.md, the boot row).
 */
export async function commandRoundTrip(machine: Pick<Machine, 'exec'>, n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await machine.exec('true', { timeoutMs: 60_000 });
    if (r.exitCode !== 0) {
      const how = r.exitCode === null ? `was killed${r.signal ? ` by SIG${r.signal}` : ''}` : `exited ${r.exitCode}`;
      const said = (r.stderr || r.stdout).trim().slice(-500);
      throw new Error(`\`true\` ${how} on a ready VM${said ? `: ${said}` : ''}`);
    }
    times.push(performance.now() - t0);
  }
  return Math.round(median(times));
}

/** Host ms since `started` when TEST_DEV was mounted (xfs, as kt's default section); unmounted again. */
async function testMounted(machine: QemuMachine, started: number): Promise<number> {
  let mountedAt: number | undefined;
  let out = '';
  const r = await machine.exec(`mount -t xfs ${GUEST_TEST_DEV} ${GUEST_TEST_DIR} && echo KT-MOUNTED && umount ${GUEST_TEST_DIR}`, {
    timeoutMs: 300_000,
    onStdout: (chunk) => {
      // The marker may arrive split over two chunks.
      out += chunk.toString('utf8');
      if (mountedAt === undefined && out.includes('KT-MOUNTED')) mountedAt = Date.now();
    },
  });
  if (mountedAt === undefined || r.exitCode !== 0) throw new Error(`mounting TEST_DEV failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().slice(-500)}`);
  return mountedAt - started;
}

/** On a ready VM: check started → its first test named on stdout, then the run's end. */
export async function checkStart(ready: KtReady, test: string): Promise<{ firstTestMs: number; totalMs: number }> {
  const started = Date.now();
  let firstTestMs: number | undefined;
  let out = '';
  await ready.machine.exec(renderCheckCommand('xfs', [test]), {
    timeoutMs: 1_800_000,
    onStdout: (chunk) => {
      out += chunk.toString('utf8');
      // check prints the test's name at the start of its line when the test starts (docs/fstests.md §2.2).
      if (firstTestMs === undefined && new RegExp(`^${test.replace(/[/.]/g, '\\$&')}\\b`, 'm').test(out)) firstTestMs = Date.now() - started;
    },
  });
  return { firstTestMs: firstTestMs ?? Number.NaN, totalMs: Date.now() - started };
}

/** Bytes of the trace looked at for the first test's start: a line may be split over chunks. */
const TRACE_WINDOW = 4096;

/**
 * On a ready VM: check of `test` under xtrace (checkTrace.ts), stopped once its first test's
 * script starts: the test's own run is not the start-up's.
 */
export async function checkPhases(ready: KtReady, test: string): Promise<CheckTracePhases> {
  let trace = '';
  let scanned = 0;
  const stop = new AbortController();
  try {
    await ready.machine.exec(renderCheckTraceCommand('xfs', test), {
      timeoutMs: 1_800_000,
      signal: stop.signal,
      onStdout: (chunk) => {
        trace += chunk.toString('utf8');
        if (!stop.signal.aborted && traceReachedTest(trace.slice(Math.max(0, scanned - TRACE_WINDOW)))) stop.abort();
        scanned = trace.length;
      },
    });
  } catch (err) {
    // Stopped on purpose once the test began; anything else is the row's failure.
    if (!stop.signal.aborted) throw err;
  }
  return parseCheckTrace(trace);
}
