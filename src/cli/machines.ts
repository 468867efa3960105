/**
 * The machine side of `kt run`, composed once: the per-VM options derived from the run config
 * (used alike by `--dry-run`, which prints them, and by the real run, which boots them), and
 * the factory the runner is given. The runner sees only `Machine`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RunConfig } from '../config/runConfig.js';
import type { Machine } from '../vm/machine.js';
import type { BootKernel } from '../vm/pvh/pvhKernel.js';
import { guestModulesFor, resolveVmSpec, type Accel, type VirtiofsOptions, type VmOptions } from '../vm/spec.js';
import { renderQemuArgs } from '../vm/qemuArgs.js';
import { renderUsernsDaemonArgs, renderVirtiofsdArgs } from '../vm/virtiofs/argv.js';
// The machine classes (ssh2, execa) load when the first VM is made: --dry-run never needs them.
import { locateRunScript } from '../vm/nixos/runScript.js';
import { renderNixosDryRun } from '../vm/nixos/runEnv.js';
import { resolveNixosVmSpec, type NixosVmOptions } from '../vm/nixos/spec.js';
import { shellJoin } from '../util/shell.js';
import { GUEST_DEVICE_SERIALS } from '../runner/guestCommands.js';
import { templateToStartFrom, type TestDevTemplates } from '../runner/guestSetup.js';

/** What the Debian backend boots besides the config: kt's image and the packed fstests tree. */
export interface DirectArtifacts {
  kernel: string;
  /**
   * What QEMU's -kernel gets for the run's kernel (--kernel, else `kernel`), and how it boots:
   * its uncompressed ELF by the PVH entry, or the bzImage (src/vm/pvh/pvhKernel.ts).
   */
  boot?: BootKernel;
  initramfs: string;
  rootImage: string;
  fstestsImage: string;
  /** --rootfs virtiofs: the trees the VMs boot from instead of the two images (src/cli/virtiofsRun.ts). */
  virtiofs?: VirtiofsOptions;
  /**
   * The guest's ssh host key and the manifest it is named by, when the image files above are
   * the run's pin of kt's image (src/vm/image/pinImage.ts): the image's own manifest, not the
   * pin's, which is gone after the run (QemuMachine's `hostKey`).
   */
  hostKey?: { key: string; source: string };
}

/**
 * Where the run keeps its copy of the file QEMU boots for a kernel of the user's (--kernel, a
 * tree's): `<run dir>/kernel/<name>`. Undefined for kt's image kernel, whose directory never
 * changes once built. Pure.
 */
export function pinnedKernelPath(config: RunConfig, direct: DirectArtifacts | undefined, dir: string): string | undefined {
  if (!direct || !config.kernel) return undefined;
  return path.join(dir, 'kernel', path.basename(direct.boot?.path ?? config.kernel));
}

/**
 * The developer may rebuild while a run goes on, and QEMU reads -kernel at every boot, spares
 * and crash replacements included — a vmlinux.bin is rewritten early in a make, seconds before
 * its bzImage. So the run boots a copy made at its start (a reflink where the filesystem has
 * them): every VM boots the kernel the record names. When the copy fails (no space), the run
 * boots the file in place and says so.
 */
export function pinBootKernel(config: RunConfig, direct: DirectArtifacts | undefined, dir: string, warn: (message: string) => void): DirectArtifacts | undefined {
  const to = pinnedKernelPath(config, direct, dir);
  if (!direct || to === undefined) return direct;
  const from = direct.boot?.path ?? config.kernel!;
  try {
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to, fs.constants.COPYFILE_FICLONE);
    return { ...direct, boot: { entry: direct.boot?.entry ?? 'bzImage', path: to } };
  } catch (err) {
    warn(`could not copy ${from} into the run (${(err as NodeJS.ErrnoException).code ?? String(err)}): VMs boot it in place, so do not rebuild during the run`);
    return direct;
  }
}

/** Per-run values a VM's options need: the run's id, its private dir and key. */
export interface RunIdentity {
  runId: string;
  baseDir: string;
  sshKeyBlob: string;
}

/**
 * Seconds a task may stay blocked before the guest's hung-task detector reports it: the
 * kernel's default (CONFIG_DEFAULT_HUNG_TASK_TIMEOUT, 120 s) under KVM; under TCG, where
 * everything runs 20–40× slower, 480 s — still inside the 600 s floor of a TCG test deadline,
 * so a real hang is titled by the detector's report before kt gives up on the test.
 */
export function hungTaskTimeoutFor(accel: Accel): number {
  return accel === 'tcg' ? 480 : 0;
}

/**
 * The extra disks every VM of the run gets: the union of what its sections need (one VM may run
 * every section), each as large as the largest asked. Serials as the guest expects them
 * (src/runner/guestCommands.ts GUEST_DEVICE_SERIALS).
 */
export function extraDisksFor(config: RunConfig): { serial: string; sizeBytes: number }[] {
  const max = (f: (s: RunConfig['sections'][number]) => number | undefined) => Math.max(0, ...config.sections.map((s) => f(s) ?? 0));
  const log = max((s) => s.devices.logdevBytes);
  const rt = max((s) => s.devices.rtdevBytes);
  const pool = max((s) => s.devices.scratchPool);
  const disks: { serial: string; sizeBytes: number }[] = [];
  if (log) disks.push({ serial: GUEST_DEVICE_SERIALS.testLog, sizeBytes: log }, { serial: GUEST_DEVICE_SERIALS.scratchLog, sizeBytes: log });
  if (rt) disks.push({ serial: GUEST_DEVICE_SERIALS.testRt, sizeBytes: rt }, { serial: GUEST_DEVICE_SERIALS.scratchRt, sizeBytes: rt });
  for (let n = 2; n <= pool; n++) disks.push({ serial: GUEST_DEVICE_SERIALS.pool(n), sizeBytes: config.scratchSizeBytes });
  return disks;
}

/** The options of VM `index`, for either backend. Pure. */
export function machineOptions(
  config: RunConfig,
  accel: Accel,
  id: RunIdentity,
  index: number,
  direct: DirectArtifacts | undefined,
  /** The file to start the TEST disk from (the direct backend's VmOptions.testTemplate). */
  testTemplate?: string,
): { kind: 'direct'; options: VmOptions } | { kind: 'nixos'; options: NixosVmOptions } {
  const common = {
    runId: id.runId,
    index,
    accel,
    cpus: config.cpus,
    memoryMiB: config.memoryMiB,
    extraCmdline: config.append,
    baseDir: id.baseDir,
    sshKeyBlob: id.sshKeyBlob,
    transport: config.transport,
    hungTaskTimeoutSec: hungTaskTimeoutFor(accel),
    vmcore: config.vmcore,
  };
  if (config.backend.kind === 'nixos') {
    const located = locateRunScript(config.backend.vmPath);
    return { kind: 'nixos', options: { ...common, ...located, ...(config.kernel ? { kernel: config.kernel } : {}) } };
  }
  if (!direct) throw new Error('the direct backend needs its image artifacts');
  return {
    kind: 'direct',
    options: {
      ...common,
      kernel: direct.boot?.path ?? config.kernel ?? direct.kernel,
      ...(direct.boot?.entry === 'pvh' ? { pvhEntry: true } : {}),
      initramfs: direct.initramfs,
      rootImage: direct.rootImage,
      fstestsImage: direct.fstestsImage,
      testSizeBytes: config.testSizeBytes,
      ...(testTemplate ? { testTemplate } : {}),
      scratchSizeBytes: config.scratchSizeBytes,
      extraDisks: extraDisksFor(config),
      guestModules: guestModulesFor(config.sections.map((s) => s.fstyp)),
      ...(direct.virtiofs ? { virtiofs: direct.virtiofs } : {}),
    },
  };
}

/** The command line `--dry-run` prints for VM `index` (exactly what a real run would start). */
export function renderMachineCommand(config: RunConfig, accel: Accel, id: RunIdentity, index: number, direct: DirectArtifacts | undefined): string {
  const m = machineOptions(config, accel, id, index, direct);
  if (m.kind === 'nixos') return renderNixosDryRun(resolveNixosVmSpec(m.options));
  const spec = resolveVmSpec(m.options);
  // With virtiofs, the daemons kt starts first (each in the background), then QEMU.
  const v = spec.virtiofs;
  const daemonArgv = (s: NonNullable<typeof v>['shares'][number]) => {
    const argv = renderVirtiofsdArgs(v!.daemon, s);
    return v!.userns ? renderUsernsDaemonArgs(argv, v!.userns.tools, '<userns-holder-pid>') : argv;
  };
  const daemons = v ? v.shares.map((s) => `${shellJoin(daemonArgv(s))} &\nkt: vm${index}: `).join('') : '';
  return daemons + shellJoin(renderQemuArgs(spec));
}

/** The factory the runner gets: VM `index` of this run, not booted. */
export function createMachineFactory(
  config: RunConfig,
  accel: Accel,
  id: RunIdentity,
  direct: DirectArtifacts | undefined,
  runDir: string,
  privateKey: string,
  /** With it, a VM's TEST disk starts as its first section's kept TEST_DEV, when there is one. */
  templates?: TestDevTemplates,
): (index: number, section?: string) => Promise<Machine> {
  return async (index, section) => {
    const name = `vm${index}`;
    const common = {
      name,
      consoleLogPath: path.join(runDir, 'console', `${name}.log`),
      privateKey,
      bootTimeoutMs: config.bootTimeoutSec * 1000,
      keep: config.keep,
    };
    const template = section !== undefined ? templateToStartFrom(templates, section) : undefined;
    const m = machineOptions(config, accel, id, index, direct, template);
    if (m.kind === 'nixos') return new (await import('../vm/nixos/nixosMachine.js')).NixosMachine({ spec: resolveNixosVmSpec(m.options), ...common });
    return new (await import('../vm/qemuMachine.js')).QemuMachine({ spec: resolveVmSpec(m.options), ...common, ...(direct?.hostKey ? { hostKey: direct.hostKey } : {}) });
  };
}
