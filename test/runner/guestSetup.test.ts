/**
 * The once-per-boot guest set-up (src/runner/guestSetup.ts): when it runs its command, when a
 * guest whose init did the rest skips it for a tree that passed the preflight before, and what
 * it remembers.
 */
import { describe, expect, it } from 'vitest';
import { createGuestSteps, templateToStartFrom, type PreflightMemo } from '../../src/runner/guestSetup.js';
import { isFatalBootError } from '../../src/runner/supply.js';
import { TimeoutError, type BootResult, type ExecOptions, type ExecResult, type Machine } from '../../src/vm/machine.js';

/** A Machine whose commands answer by what they contain; it records each. */
function fakeMachine(answer: (command: string) => ExecResult): Machine & { commands: string[] } {
  const commands: string[] = [];
  const never = new Promise<never>(() => undefined);
  return {
    name: 'vm1',
    argv: [],
    commands,
    boot: async () => ({ bootMs: 1, kernelRelease: 'r' }),
    onConsole: () => () => undefined,
    exited: never,
    transportClosed: never,
    exec: async (command: string) => {
      commands.push(command);
      return answer(command);
    },
    sysrq: async () => undefined,
    dumpGuestMemory: async () => undefined,
    consoleTail: () => '',
    dispose: async () => undefined,
  };
}

function memo(passed: boolean): PreflightMemo & { remembered: number } {
  const m = {
    remembered: 0,
    passed: () => passed,
    remember: () => {
      m.remembered++;
    },
  };
  return m;
}

const SECTIONS = [{ name: 'xfs', fstyp: 'xfs', mkfsOptions: '', mountOptions: '', env: {} }];
const prepared: BootResult = { bootMs: 1, kernelRelease: 'r', guestPrepared: true };
const notPrepared: BootResult = { bootMs: 1, kernelRelease: 'r' };
const setupOk = (command: string): ExecResult => ({ exitCode: 0, stdout: command.includes('fsstress') ? 'KT-SETUP-OK\n' : '', stderr: '' });

describe('setupGuest', () => {
  it('runs the set-up, preflight included, and remembers that the tree passed', async () => {
    const m = fakeMachine(setupOk);
    const seen = memo(false);
    await expect(createGuestSteps(SECTIONS, '/src/fstests', { preflight: seen }).setupGuest(m, prepared)).resolves.toBe('ran');
    expect(m.commands).toHaveLength(1);
    expect(m.commands[0]).toContain('./ltp/fsstress -?');
    expect(seen.remembered).toBe(1);
  });

  it("skips the command when the guest's init did the rest and the tree passed before", async () => {
    const m = fakeMachine(setupOk);
    const seen = memo(true);
    await expect(createGuestSteps(SECTIONS, '/src/fstests', { preflight: seen }).setupGuest(m, prepared)).resolves.toBe('remembered');
    expect(m.commands).toEqual([]);
  });

  it('runs it for a guest whose init did not prepare it (the NixOS VM), whatever the memo says', async () => {
    const m = fakeMachine(setupOk);
    await expect(createGuestSteps(SECTIONS, '/src/fstests', { preflight: memo(true) }).setupGuest(m, notPrepared)).resolves.toBe('ran');
    await expect(createGuestSteps(SECTIONS, '/src/fstests', { preflight: memo(true) }).setupGuest(m)).resolves.toBe('ran');
    expect(m.commands).toHaveLength(2);
  });

  it('runs it without a memo (kt shell, a virtiofs run)', async () => {
    const m = fakeMachine(setupOk);
    await expect(createGuestSteps(SECTIONS, '/src/fstests').setupGuest(m, prepared)).resolves.toBe('ran');
    expect(m.commands).toHaveLength(1);
  });

  it('remembers nothing when the preflight fails, and says why', async () => {
    const m = fakeMachine(() => ({ exitCode: 43, stdout: 'KT-PREFLIGHT: ltp/fsstress cannot run in the guest: No such file or directory\n', stderr: '' }));
    const seen = memo(false);
    await expect(createGuestSteps(SECTIONS, '/src/fstests', { preflight: seen }).setupGuest(m, prepared)).rejects.toMatchObject({
      code: 'E_GUEST_SETUP',
      message: expect.stringContaining('the fstests tree /src/fstests cannot be used in the guest: ltp/fsstress cannot run'),
    });
    expect(seen.remembered).toBe(0);
  });

  it('still loads the --module files when the set-up is skipped', async () => {
    const m = fakeMachine((command) => ({ exitCode: 0, stdout: command.includes('insmod') ? '@@KT-MODULE done\n' : '', stderr: '' }));
    await expect(createGuestSteps(SECTIONS, '/src/fstests', { preflight: memo(true), loadModules: true }).setupGuest(m, prepared)).resolves.toBe('remembered');
    expect(m.commands).toHaveLength(1);
    expect(m.commands[0]).toContain('insmod');
  });
});

/** A Machine whose module load drops the channel (its console shows only the load's marker). */
function droppingMachine(module: string, extra: Partial<Machine> & { qemuExitsWithIt?: boolean } = {}): Machine {
  const { qemuExitsWithIt, ...rest } = extra;
  let close!: () => void;
  const closed = new Promise<void>((resolve) => (close = resolve));
  return {
    ...fakeMachine(() => ({ exitCode: 0, stdout: '', stderr: '' })),
    transportClosed: closed,
    ...(qemuExitsWithIt ? { exited: closed.then(() => ({ exitCode: 0, signal: undefined, stderr: '' })) } : {}),
    consoleTail: () => `[    5.100000] kt: loading module ${module}\n`,
    exec: async () => {
      close();
      throw new Error('connection lost while running: set -u');
    },
    ...rest,
  };
}

/** The error the guest set-up's module load ends in. */
function moduleLoadFailure(m: Machine): Promise<unknown> {
  return createGuestSteps(SECTIONS, '/src/fstests', { preflight: memo(true), loadModules: true })
    .setupGuest(m, prepared)
    .catch((e: unknown) => e);
}

describe('a --module load that loses the channel', () => {
  it('is a lost VM (E_GUEST_LOST: another boot is tried) when the kernel reported nothing, and QEMU did not exit through pvpanic', async () => {
    // QEMU exits at once with the channel (sshd gone, say): no 10 s wait for a report.
    const err = await moduleLoadFailure(droppingMachine('kt_hello', { qemuExitsWithIt: true }));
    expect(err).toMatchObject({ code: 'E_GUEST_LOST', module: 'kt_hello', message: expect.stringMatching(/^vm1's connection dropped while loading module kt_hello \(kt_hello\.ko\), with no kernel report on its console \(qemu exited 0\)/) });
    expect(isFatalBootError(err)).toBe(false);
  });
});

describe('a --module load that runs past its deadline', () => {
  it('is that module hanging (E_GUEST_SETUP_MODULE_HANG: the run stops), told by the error exec rejected with', async () => {
    const err = await moduleLoadFailure(
      droppingMachine('kt_block', {
        exec: async () => {
          throw new TimeoutError('guest command "set -u" timed out after 300000 ms');
        },
      }),
    );
    expect(err).toMatchObject({ code: 'E_GUEST_SETUP_MODULE_HANG', module: 'kt_block' });
    expect(isFatalBootError(err)).toBe(true);
  }, 30_000);

  it('is that module hanging when ssh gave up on the keepalives of a guest QEMU still runs (the transport says so)', async () => {
    const err = await moduleLoadFailure(droppingMachine('kt_block', { channelLostToKeepalive: () => true }));
    expect(err).toMatchObject({ code: 'E_GUEST_SETUP_MODULE_HANG', message: expect.stringMatching(/^vm1 stopped answering while loading module kt_block/) });
  }, 30_000);
});

describe("the run's stop signal", () => {
  /** A Machine whose commands run until the signal they were given aborts (as the ssh transport's exec: src/vm/sshTransport.ts). */
  function hangingMachine(): Machine & { signals: (AbortSignal | undefined)[] } {
    const never = new Promise<never>(() => undefined);
    const signals: (AbortSignal | undefined)[] = [];
    return {
      ...fakeMachine(() => ({ exitCode: 0, stdout: '', stderr: '' })),
      exited: never,
      signals,
      exec: (_command: string, opts: ExecOptions = {}) => {
        signals.push(opts.signal);
        return new Promise<ExecResult>((_, reject) => opts.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      },
    };
  }

  it('reaches the set-up, module load and section commands, which end when it aborts', async () => {
    const steps = createGuestSteps(SECTIONS, '/src/fstests', { preflight: memo(true), loadModules: true });
    for (const step of [(m: Machine, s: AbortSignal) => steps.setupGuest(m, notPrepared, s), (m: Machine, s: AbortSignal) => steps.setupGuest(m, prepared, s), (m: Machine, s: AbortSignal) => steps.prepareSection(m, 'xfs', s)]) {
      const m = hangingMachine();
      const stop = new AbortController();
      const running = step(m, stop.signal);
      stop.abort('SIGINT');
      // The stop's own error, not a module or set-up error made of a dead command.
      await expect(running).rejects.toThrow(/^aborted$/);
      expect(m.signals).toEqual([stop.signal]);
    }
  });
});

describe('TEST_DEV made once (TestDevTemplates)', () => {
  const sectionOk = (): ExecResult => ({ exitCode: 0, stdout: 'KT-SECTION-OK\n', stderr: '' });
  /** The run's templates: section xfs's file, there or not. */
  const templates = (kept: boolean) => ({ pathFor: (s: string) => (s === 'xfs' ? '/c/test-dev/t.img' : undefined), usable: (s: string) => s === 'xfs' && kept });
  /** A machine that records the disk copies asked of it. */
  const copying = (fail = false) => {
    const m = fakeMachine(sectionOk);
    const copies: string[] = [];
    return Object.assign(m, {
      copies,
      keepDiskCopy: async (serial: string, dest: string) => {
        copies.push(`${serial} -> ${dest}`);
        if (fail) throw new Error('EROFS');
      },
    });
  };
  const fromTemplate = (path: string): BootResult => ({ bootMs: 1, kernelRelease: 'r', disksFromTemplate: { test: path } });

  it("starts a new VM's TEST disk from the section's template only when a good one is there", () => {
    expect(templateToStartFrom(templates(true), 'xfs')).toBe('/c/test-dev/t.img');
    expect(templateToStartFrom(templates(false), 'xfs')).toBeUndefined();
    expect(templateToStartFrom(templates(true), 'ext4')).toBeUndefined();
    expect(templateToStartFrom(undefined, 'xfs')).toBeUndefined();
  });

  it('skips the mkfs of the first set-up after a boot whose TEST disk began as this section\'s template, and keeps no copy', async () => {
    const m = copying();
    const steps = createGuestSteps(SECTIONS, '/src/fstests', { testDevTemplates: templates(true) });
    expect(steps.testDevOrigin!('xfs', fromTemplate('/c/test-dev/t.img'))).toBe('template');
    await steps.prepareSection(m, 'xfs', undefined, fromTemplate('/c/test-dev/t.img'));
    expect(m.commands[0]).not.toContain('mkfs.xfs');
    expect(m.commands[0]).toContain('KT-SECTION-OK');
    expect(m.copies).toEqual([]);
  });

  it('makes TEST_DEV when the disk began as another file, when no boot is given (a later switch), or without templates', async () => {
    const cases: [ReturnType<typeof templates> | undefined, BootResult | undefined][] = [
      [templates(true), fromTemplate('/c/test-dev/other.img')],
      [templates(true), undefined],
      [templates(true), notPrepared],
      [undefined, fromTemplate('/c/test-dev/t.img')],
    ];
    for (const [t, boot] of cases) {
      const m = copying();
      const steps = createGuestSteps(SECTIONS, '/src/fstests', t ? { testDevTemplates: t } : {});
      if (boot) expect(steps.testDevOrigin!('xfs', boot)).toBe('mkfs');
      await steps.prepareSection(m, 'xfs', undefined, boot);
      expect(m.commands[0]).toContain('mkfs.xfs');
      expect(m.copies).toEqual([]);
    }
  });

  it('after a mkfs, keeps the TEST disk as the template when there is none yet', async () => {
    const m = copying();
    await createGuestSteps(SECTIONS, '/src/fstests', { testDevTemplates: templates(false) }).prepareSection(m, 'xfs', undefined, notPrepared);
    expect(m.commands[0]).toContain('mkfs.xfs');
    expect(m.copies).toEqual(['test -> /c/test-dev/t.img']);
  });

  it('keeps none at a later switch to the section (no boot given): that TEST_DEV held tests\' data before its mkfs', async () => {
    const m = copying();
    await createGuestSteps(SECTIONS, '/src/fstests', { testDevTemplates: templates(false) }).prepareSection(m, 'xfs');
    expect(m.commands[0]).toContain('mkfs.xfs');
    expect(m.copies).toEqual([]);
  });

  it('keeps none for a section without a template (an external log device), and a copy that fails fails nothing', async () => {
    const none = copying();
    await createGuestSteps(SECTIONS, '/src/fstests', { testDevTemplates: { pathFor: () => undefined, usable: () => false } }).prepareSection(none, 'xfs', undefined, notPrepared);
    expect(none.copies).toEqual([]);
    const failing = copying(true);
    await expect(createGuestSteps(SECTIONS, '/src/fstests', { testDevTemplates: templates(false) }).prepareSection(failing, 'xfs', undefined, notPrepared)).resolves.toBeUndefined();
    expect(failing.copies).toHaveLength(1);
  });

  it('keeps no copy of a mkfs that failed', async () => {
    const m = Object.assign(fakeMachine(() => ({ exitCode: 1, stdout: '', stderr: 'mkfs.xfs: bad option' })), { copies: [] as string[] });
    Object.assign(m, { keepDiskCopy: async (s: string, d: string) => void m.copies.push(`${s} -> ${d}`) });
    await expect(createGuestSteps(SECTIONS, '/src/fstests', { testDevTemplates: templates(false) }).prepareSection(m, 'xfs', undefined, notPrepared)).rejects.toMatchObject({ code: 'E_GUEST_SETUP_MKFS' });
    expect(m.copies).toEqual([]);
  });
});
