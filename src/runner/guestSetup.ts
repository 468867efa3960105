/**
 * The guest-side steps of a run for kt's guests (the Debian image and the NixOS VM alike): the
 * once-per-boot setup, the switch to a section (its check config, a fresh TEST_DEV), and the
 * check command of a batch. Each step runs over the machine's command channel and turns what
 * the guest printed into a typed error.
 */
import { HostError } from '../errors.js';
import { renderLocalConfig } from '../fstests/localConfig.js';
import type { PreflightOutcome, TestDevOrigin } from '../record/events.js';
import { TimeoutError, type BootResult, type Machine } from '../vm/machine.js';
import { moduleLoadError, renderModuleLoad } from '../modules/load.js';
import {
  GUEST_DEVICE_SERIALS,
  guestDevice,
  GUEST_SCRATCH_DEV,
  GUEST_SCRATCH_MNT,
  GUEST_TEST_DEV,
  GUEST_TEST_DIR,
  guestResultDir,
  renderCheckCommand,
  renderGuestSetup,
  renderSectionSetup,
} from './guestCommands.js';
import type { GuestSteps } from './run.js';

/** A section as the guest needs it. */
export interface GuestSectionConfig {
  /** `SUITE/SECTION` (or the suite name). */
  name: string;
  fstyp: string;
  mkfsOptions: string;
  mountOptions: string;
  /** More check config variables (USE_KMEMLEAK, TIME_FACTOR, ...). */
  env: Record<string, string>;
  /** Extra devices of the section (the VM has them: src/cli/machines.ts). */
  devices?: { logdevBytes?: number; rtdevBytes?: number; scratchPool?: number };
}

/** The device variables of a section, in fstests' common/config names. */
export function sectionDeviceVars(section: GuestSectionConfig): Record<string, string> {
  const d = section.devices ?? {};
  const vars: Record<string, string> = {};
  if (d.logdevBytes || d.rtdevBytes) vars['USE_EXTERNAL'] = 'yes';
  if (d.logdevBytes) {
    vars['TEST_LOGDEV'] = guestDevice(GUEST_DEVICE_SERIALS.testLog);
    vars['SCRATCH_LOGDEV'] = guestDevice(GUEST_DEVICE_SERIALS.scratchLog);
  }
  if (d.rtdevBytes) {
    vars['TEST_RTDEV'] = guestDevice(GUEST_DEVICE_SERIALS.testRt);
    vars['SCRATCH_RTDEV'] = guestDevice(GUEST_DEVICE_SERIALS.scratchRt);
  }
  if (d.scratchPool) {
    // fstests' common/config: SCRATCH_DEV unset, the pool's first device becomes SCRATCH_DEV.
    vars['SCRATCH_DEV_POOL'] = [GUEST_SCRATCH_DEV, ...Array.from({ length: d.scratchPool - 1 }, (_, i) => guestDevice(GUEST_DEVICE_SERIALS.pool(i + 2)))].join(' ');
  }
  return vars;
}

/** Guest setup of a fresh VM may mount a disk and run a helper: minutes under TCG at worst. */
const SETUP_TIMEOUT_MS = 300_000;

/** The check config of a section, sourced by check (HOST_OPTIONS). */
export function localConfigFor(section: GuestSectionConfig): string {
  return renderLocalConfig({
    fstyp: section.fstyp,
    testDev: GUEST_TEST_DEV,
    testDir: GUEST_TEST_DIR,
    ...(section.devices?.scratchPool ? {} : { scratchDev: GUEST_SCRATCH_DEV }),
    scratchMnt: GUEST_SCRATCH_MNT,
    resultBase: guestResultDir(section.name),
    mkfsOptions: section.mkfsOptions,
    mountOptions: section.mountOptions,
    // by-id names are symlinks; common/config compares canonical device names with CANON_DEVS.
    // KEEP_DMESG: check keeps every test's <seq>.dmesg, not only the ones it found something
    // in, so kt has the kernel log of each test (fstests' check, _check_dmesg).
    extra: { CANON_DEVS: 'yes', KEEP_DMESG: 'yes', ...sectionDeviceVars(section), ...section.env },
  });
}

/**
 * Loads the --module files in the guest (src/modules/load.ts). A module that fails to load,
 * oopses or panics while loading, or never finishes loading, is an error of the user's module:
 * the same on every VM, so the run stops and says which module and why (E_GUEST_SETUP_MODULE_*),
 * not a test outcome. A channel that dropped with no kernel report is a lost VM (E_GUEST_LOST):
 * another boot is tried.
 */
async function loadExtraModules(machine: Machine, signal: AbortSignal | undefined): Promise<void> {
  // How a load that returned no status ended (modules/load.ts moduleLoadError): a channel still
  // up means the deadline passed; a dropped one, with or without QEMU's exit, means the VM went.
  let channelClosed = false;
  let qemuExit: { exitCode: number | undefined } | undefined;
  void machine.transportClosed.then(() => (channelClosed = true));
  void machine.exited.then((e) => (qemuExit = e));
  const started = performance.now();
  let timedOut = false;
  const load = await machine.exec(renderModuleLoad(), { timeoutMs: SETUP_TIMEOUT_MS, ...(signal ? { signal } : {}) }).catch((err: unknown) => {
    // Stopped by the run: not the module's doing.
    if (signal?.aborted) throw err;
    timedOut = err instanceof TimeoutError;
    return { exitCode: null, stdout: '', stderr: '' };
  });
  const elapsedMs = performance.now() - started;
  // The channel died with the load: let the panic report reach the console. (Past its deadline
  // the guest is still up: nothing more is coming.)
  if (load.exitCode === null && !timedOut) await waitAtMost(machine.exited, MODULE_CRASH_SETTLE_MS);
  const ended =
    load.exitCode === null
      ? timedOut
        ? { kind: 'timeout' as const, afterMs: elapsedMs }
        : {
            kind: 'lost' as const,
            qemuExited: qemuExit !== undefined,
            qemuExitCode: qemuExit?.exitCode,
            // QEMU runs on, and ssh gave up on the guest's keepalives (the transport says so).
            keepaliveLost: channelClosed && qemuExit === undefined && machine.channelLostToKeepalive?.() === true,
          }
      : undefined;
  const err = moduleLoadError({ exitCode: load.exitCode, stdout: load.stdout, console: machine.consoleTail(400), machine: machine.name, ...(ended ? { ended } : {}) });
  if (err) throw err;
}

/**
 * After a section's mkfs, before anything mounts TEST_DEV: its disk as the section's template, when
 * there is none yet. A template that cannot be kept (a read-only cache, a full disk, a backend
 * whose disks kt does not make) only means the next VM runs the mkfs too.
 */
async function keepTemplate(machine: Machine, templates: TestDevTemplates, section: string): Promise<void> {
  const file = templates.pathFor(section);
  if (file === undefined || !machine.keepDiskCopy || templates.usable(section)) return;
  await machine.keepDiskCopy(GUEST_DEVICE_SERIALS.test, file).catch(() => undefined);
}

/** A VM lost during setup (no exit status): another boot may fare better. */
export class SetupLostError extends HostError {
  constructor(message: string) {
    super('E_GUEST_LOST', message, 'see the console log in the run directory (console/vmN.log)');
  }
}

/** After a module load lost the channel: how long the console gets to show the panic it caused. */
const MODULE_CRASH_SETTLE_MS = 10_000;

/** Resolves after `ms`, or when `until` settles first; leaves no timer behind. */
async function waitAtMost(until: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([until, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/**
 * Whether the run's fstests tree has passed the preflight (its ltp/fsstress starts) in the run's
 * guest before: what it depends on, the tree and the guest's userspace, has not changed since.
 * The CLI keeps it in kt's cache (src/cli/preflightMemo.ts).
 */
export interface PreflightMemo {
  passed(): boolean;
  /** Called after a preflight passed; must not throw. */
  remember(): void;
}

/**
 * TEST_DEV made once (docs/speed.md, "TEST_DEV made once"): a copy of the TEST disk of a VM whose
 * section's mkfs just ran, kept for later VMs of the same guest image, filesystem, mkfs options
 * and size. A VM whose TEST disk began as that copy (BootResult.disksFromTemplate) skips its
 * first mkfs. The CLI keeps the files in kt's cache (src/cli/testDevTemplates.ts).
 */
export interface TestDevTemplates {
  /**
   * The file that holds, or will hold, a fresh TEST_DEV of `section`; undefined when the section
   * makes its TEST_DEV with more than the TEST disk (an external log or realtime device) and so
   * gets none. Fixed for the run: no file is looked at.
   */
  pathFor(section: string): string | undefined;
  /** Whether a good template of `section` is there now (another kt may have kept one meanwhile). */
  usable(section: string): boolean;
}

/**
 * The file a new VM's TEST disk starts from, to be made ready for `section` first: the section's
 * template when a good one is there now; else none, and the VM's first set-up runs the mkfs.
 */
export function templateToStartFrom(templates: TestDevTemplates | undefined, section: string): string | undefined {
  return templates?.usable(section) ? templates.pathFor(section) : undefined;
}

/** Whether the first section set-up after `boot` finds TEST_DEV made: the disk began as this section's template. Pure. */
export function testDevOrigin(templates: TestDevTemplates | undefined, section: string, boot: BootResult | undefined): TestDevOrigin {
  const from = boot?.disksFromTemplate?.[GUEST_DEVICE_SERIALS.test];
  return from !== undefined && from === templates?.pathFor(section) ? 'template' : 'mkfs';
}

export interface GuestStepsOptions {
  /** --module files were staged: load them in every VM before its first test (docs/kernel.md). */
  loadModules?: boolean;
  /**
   * With it, a guest whose init did the rest of the set-up (BootResult.guestPrepared) skips the
   * set-up command when the memo says the tree passed: one shell and one ltp/fsstress start fewer
   * on the path to the first test, ~0.2 s of a TCG boot (docs/speed.md).
   */
  preflight?: PreflightMemo;
  /** With it, TEST_DEV is made once per image, filesystem and options, and copied after. */
  testDevTemplates?: TestDevTemplates;
}

export function createGuestSteps(sections: readonly GuestSectionConfig[], fstestsDir: string, options: GuestStepsOptions = {}): GuestSteps {
  const byName = new Map(sections.map((s) => [s.name, s]));
  const sectionOf = (name: string): GuestSectionConfig => {
    const s = byName.get(name);
    if (!s) throw new Error(`unknown section ${name}`);
    return s;
  };
  return {
    async setupGuest(machine: Machine, boot?: BootResult, signal?: AbortSignal): Promise<PreflightOutcome> {
      if (boot?.guestPrepared && options.preflight?.passed()) {
        if (options.loadModules) await loadExtraModules(machine, signal);
        return 'remembered';
      }
      // The signal (the run's stop) ends the command at once instead of after its timeout.
      const result = await machine.exec(renderGuestSetup(), { timeoutMs: SETUP_TIMEOUT_MS, ...(signal ? { signal } : {}) });
      if (result.stdout.includes('KT-SETUP-OK')) {
        options.preflight?.remember();
        if (options.loadModules) await loadExtraModules(machine, signal);
        return 'ran';
      }
      if (result.exitCode === null) throw new SetupLostError(`${machine.name} was lost while being prepared (mount of the fstests disk)`);
      const preflight = /KT-PREFLIGHT: (.*)/.exec(result.stdout)?.[1];
      throw new HostError(
        'E_GUEST_SETUP',
        preflight
          ? `the fstests tree ${fstestsDir} cannot be used in the guest: ${preflight}`
          : `preparing ${machine.name} failed (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim().slice(-2000)}`,
        preflight
          ? 'build fstests for the guest (Debian bookworm userspace: run make in a bookworm container or chroot), or use the Nix flake'
          : 'see the console log in the run directory',
      );
    },
    testDevOrigin: (section, boot) => testDevOrigin(options.testDevTemplates, section, boot),
    async prepareSection(machine: Machine, name: string, signal?: AbortSignal, boot?: BootResult): Promise<void> {
      const section = sectionOf(name);
      const vars = sectionDeviceVars(section);
      const made = testDevOrigin(options.testDevTemplates, name, boot) === 'template';
      const script = renderSectionSetup({
        section: name,
        localConfig: localConfigFor(section),
        fstyp: section.fstyp,
        mkfsOptions: section.mkfsOptions,
        ...(vars['TEST_LOGDEV'] ? { testLogDev: vars['TEST_LOGDEV'] } : {}),
        ...(vars['TEST_RTDEV'] ? { testRtDev: vars['TEST_RTDEV'] } : {}),
        mkfs: !made,
      });
      const result = await machine.exec(script, { timeoutMs: SETUP_TIMEOUT_MS, ...(signal ? { signal } : {}) });
      if (result.stdout.includes('KT-SECTION-OK')) {
        // Only from the first set-up after a boot: later ones re-make a TEST_DEV that tests used,
        // and a mkfs that does not discard (a guest kernel without virtio-blk discard) leaves
        // their data in the blocks it does not write.
        if (!made && boot && options.testDevTemplates) await keepTemplate(machine, options.testDevTemplates, name);
        return;
      }
      if (result.exitCode === null) throw new SetupLostError(`${machine.name} was lost while making TEST_DEV for section ${name}`);
      throw new HostError(
        'E_GUEST_SETUP_MKFS',
        `making the TEST_DEV filesystem of section ${name} failed (mkfs.${section.fstyp} ${section.mkfsOptions}, exit ${result.exitCode}): ${(result.stderr || result.stdout).trim().slice(-2000)}`,
        `fix the mkfs options of section ${name} (mkfsOptions in its suite file)`,
      );
    },
    checkCommand: (items) => renderCheckCommand(items[0]?.section ?? '', items.map((i) => i.test)),
    guestResultDir,
  };
}
