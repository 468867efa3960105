/**
 * Where workers get their VMs: booted, set up (fstests tree mounted, preflight done) and made
 * ready for a section. With spares > 0 the supply keeps that many VMs booted ahead, so a worker
 * whose VM crashed gets a ready one at once instead of waiting a whole boot; a worker that sees
 * its VM failing asks for one right away (prefetch), before the crash report is even complete.
 *
 * Boot failures are counted across the supply: `maxBootFailures` in a row end the run (the kernel
 * does not boot), a success resets the count. Errors that every boot would meet (the fstests
 * tree cannot run in the guest, a guest whose host key is not the pinned one) end it at once.
 */
import { setMaxListeners } from 'node:events';
import { HostError, UsageError } from '../errors.js';
import type { EventInput, PreflightOutcome, TestDevOrigin } from '../record/events.js';
import type { BootResult, Machine } from '../vm/machine.js';
import type { BatchTiming } from './batchRun.js';
import { settleIdle } from './idleCheck.js';
import { disposeMachine, untilStopped } from './machineDisposal.js';
import { MachineWatch } from './machineWatch.js';
import type { ConsoleWatcher } from './ports.js';
import type { WorkItem } from './workQueue.js';

/** A VM in a worker's hands. */
export interface Slot {
  machine: Machine;
  /** Its console, exit and channel, watched for its whole life. */
  watch: MachineWatch;
  /** Section its TEST_DEV and config are set up for. */
  section?: string;
  /** Tests it ran (a retry wants a VM that ran nothing). */
  tests: number;
  /** The tests it ran, by name (the latest attempt): a console report names its test this way. */
  ran: Map<string, WorkItem>;
}

export interface SupplyDeps {
  emit(event: EventInput): void;
  /** A new, not yet booted machine with a fresh name (vm3, vm4, ...), to be made ready for `section`. */
  createMachine(section: string): Promise<Machine>;
  /** The once-per-boot set-up; its guest commands stop with `signal`. */
  setupGuest(machine: Machine, boot: BootResult, signal?: AbortSignal): Promise<PreflightOutcome>;
  createConsoleWatcher(): ConsoleWatcher;
  /** `boot` for the first section set-up after the boot (GuestSteps.prepareSection). */
  prepareSection(machine: Machine, section: string, signal?: AbortSignal, boot?: BootResult): Promise<void>;
  /** For machine-up: how that first set-up gives TEST_DEV its filesystem. */
  testDevOrigin?(section: string, boot: BootResult): TestDevOrigin | undefined;
  consoleLogOf(machine: Machine): string;
  stopSignal: AbortSignal;
  maxBootFailures: number;
  /** How long a VM that is dying gets to finish its crash report (crashExitGraceMs). */
  timing?: Partial<BatchTiming>;
}

/**
 * Errors the same on every boot: retrying cannot help (the fstests tree cannot run in the
 * guest, the section's config is wrong, the guest's host key is not the pinned one).
 */
export function isFatalBootError(err: unknown): boolean {
  return (err instanceof HostError && (err.code.startsWith('E_GUEST_SETUP') || err.code.startsWith('E_BOOT_HOST_KEY'))) || err instanceof UsageError;
}

/** The boot error that ends a run, as a typed error (a lost VM's plain Error gets a code). */
export function asBootError(err: unknown, failures: number): HostError | UsageError {
  if (err instanceof HostError || err instanceof UsageError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new HostError('E_BOOT_FAILED', `${failures} VMs in a row could not be made ready; the last: ${message}`, 'see the console logs in the run directory (console/vmN.log)');
}

type Outcome = { ok: true; slot: Slot } | { ok: false; error: unknown };

export class MachineSupply {
  /** Spares booting or ready, oldest first. */
  private readonly spares: Promise<Outcome>[] = [];
  /** Boots a worker is waiting on (not spares), until they end. */
  private readonly booting = new Set<Promise<Outcome>>();
  /** startSparesOnceUp() was called for this section and the spares are not started yet. */
  private sparesFor: string | undefined;
  /** A spare was taken: its replacement waits for refill() (see take()). */
  private refillFor: string | undefined;
  /** Every machine the supply made and has not handed out, to dispose at the end. */
  private readonly held = new Set<Machine>();
  /** Slots booted and ready, not handed out yet (standing spares). */
  private readonly standing = new Set<Slot>();
  private failuresInARow = 0;
  private closed = false;
  /** Aborted at dispose: a boot in flight stops (with the run's stop signal). */
  private readonly cancel = new AbortController();
  private readonly signal: AbortSignal;

  constructor(
    private readonly deps: SupplyDeps,
    /** VMs to keep booted ahead of need. */
    private readonly spareCount: number,
  ) {
    this.signal = AbortSignal.any([deps.stopSignal, this.cancel.signal]);
    // Every VM booting at once listens to it (one listener each, removed when its boot ends):
    // at -j 11 and more that passes Node's default of 10 and would print a leak warning.
    setMaxListeners(0, this.signal);
  }

  /** Start the standing spares (call once the first VMs are on their way). */
  start(section: string): void {
    while (this.spares.length < this.spareCount) this.spares.push(this.bootOne(section));
  }

  /**
   * Start the standing spares once the workers' first VMs are up: when a boot a worker waits
   * on ends and no other is in flight. On a host short of cores — TCG, where a boot is
   * CPU-bound — a spare booting beside them would slow the very boots the run is waiting for,
   * to guard against a crash that has not happened; a VM that starts failing before then gets
   * its replacement from prefetch().
   */
  startSparesOnceUp(section: string): void {
    if (this.spareCount > 0) this.sparesFor = section;
  }

  /**
   * A VM is failing: have a replacement on its way now, ready for `section` — unless a spare
   * already stands (or boots) for it: that one is taken, and its own replacement waits for
   * refill().
   */
  prefetch(section: string): void {
    if (this.closed || this.deps.stopSignal.aborted) return;
    if (this.spares.length < Math.max(1, this.spareCount)) this.spares.push(this.bootOne(section));
  }

  /**
   * Boot the replacement of a spare taken earlier: the worker calls it when the first test of
   * the taken VM's batch has begun (or the batch ended). Booting it at the moment of the take
   * would, on a host short of cores (TCG), slow check's start-up on the spare — the very thing
   * recovery after a crash waits for.
   */
  refill(): void {
    const section = this.refillFor;
    if (section === undefined) return;
    this.refillFor = undefined;
    if (!this.closed && !this.deps.stopSignal.aborted) this.start(section);
  }

  /**
   * A ready VM: the oldest spare when there is one, else a fresh boot. Throws the boot error
   * when the run cannot go on; returns undefined when this boot failed but another may work.
   */
  async take(section: string): Promise<Slot | undefined> {
    const pending = this.spares.shift();
    const outcome = await (pending ?? this.tracked(this.bootOne(section)));
    // Keep the standing spares (once they have started at all): a taken spare is replaced at
    // refill(), a failed or fresh boot's absence at once.
    if (!this.closed && !this.deps.stopSignal.aborted && this.spareCount > 0 && this.sparesFor === undefined) {
      if (pending && outcome.ok) this.refillFor = section;
      else this.start(section);
    }
    if (outcome.ok) {
      // Handed out: the worker disposes it from now on (and records what its console said).
      this.held.delete(outcome.slot.machine);
      this.standing.delete(outcome.slot);
      return outcome.slot;
    }
    if (this.deps.stopSignal.aborted) return undefined;
    const err = outcome.error;
    if (isFatalBootError(err)) throw err;
    // A boot can hang by bad luck (seen under TCG); the same failure again is the kernel's.
    if (this.failuresInARow >= this.deps.maxBootFailures) throw asBootError(err, this.failuresInARow);
    return undefined;
  }

  /**
   * Disposes every VM not handed out (spares booting or ready), stopping boots in flight. A spare
   * nobody took is not forgotten: what its console said (a WARNING during its boot, its death
   * while it stood) is recorded first, unless the run was stopped.
   */
  async dispose(): Promise<void> {
    this.closed = true;
    const standing = [...this.standing];
    this.standing.clear();
    if (!this.deps.stopSignal.aborted) await Promise.all(standing.map((slot) => settleIdle(slot, this.deps, { context: 'while it stood as a spare', final: true })));
    this.cancel.abort();
    const all = [...this.held];
    this.held.clear();
    await Promise.all(all.map((m) => disposeMachine(m, this.deps.emit)));
    // Spares that were ready: their watches go with them (the machines were disposed above).
    for (const outcome of await Promise.all(this.spares.splice(0))) if (outcome.ok) outcome.slot.watch.dispose();
  }

  private tracked(boot: Promise<Outcome>): Promise<Outcome> {
    this.booting.add(boot);
    return boot.then(
      (outcome) => {
        this.booting.delete(boot);
        this.startSparesIfDue(outcome);
        return outcome;
      },
      (err: unknown) => {
        // bootOne returns { ok: false } for a failed boot; a throw from its clean-up still
        // must not leave the set non-empty (the spares would never start).
        this.booting.delete(boot);
        throw err;
      },
    );
  }

  /**
   * After a boot a worker waited on: the standing spares start when no other such boot is in
   * flight — unless this boot failed in a way that ends the run (a fatal error, the boot-failure
   * budget spent), where a spare would be a VM booted for nothing.
   */
  private startSparesIfDue(outcome: Outcome): void {
    const section = this.sparesFor;
    if (section === undefined || this.booting.size > 0 || this.closed || this.deps.stopSignal.aborted) return;
    if (!outcome.ok && (isFatalBootError(outcome.error) || this.failuresInARow >= this.deps.maxBootFailures)) return;
    this.sparesFor = undefined;
    this.start(section);
  }

  /**
   * One VM booted, set up and ready for `section`. Never rejects: a spare's boot is awaited only
   * when it is taken or at dispose, and a rejection before that would be unhandled (and end kt).
   */
  private bootOne(section: string): Promise<Outcome> {
    return this.boot(section).catch((error: unknown) => ({ ok: false, error }));
  }

  private async boot(section: string): Promise<Outcome> {
    const d = this.deps;
    let machine: Machine | undefined;
    let watch: MachineWatch | undefined;
    /** Dispose may come while a boot step is in flight: stop at the next step. */
    const alive = () => {
      if (this.closed) throw new Error('the run is over');
    };
    try {
      machine = await d.createMachine(section);
      this.held.add(machine);
      alive();
      // Watched from its first console byte: a panic during set-up or mkfs is read whole.
      watch = new MachineWatch(machine, d.createConsoleWatcher());
      d.emit({ type: 'machine-boot', machine: machine.name, argv: machine.argv });
      const started = Date.now();
      const m = machine;
      // A stop (Ctrl-C, or the supply's end) ends every step at once: the boot's wait, and the
      // set-up and mkfs commands, which may otherwise run for their whole timeout (minutes).
      await untilStopped(m, this.signal, d.emit, async (signal) => {
        const boot = await m.boot(signal);
        alive();
        // The once-per-boot set-up and a fresh filesystem for the section it will most likely run
        // are independent: both run at once, over two channels of the one connection, which
        // hides the shorter behind the longer (docs/speed.md). The set-up's error wins.
        const booted = Date.now();
        const sectionReady = d.prepareSection(m, section, signal, boot);
        sectionReady.catch(() => undefined);
        const preflight = await d.setupGuest(m, boot, signal);
        const setupMs = Date.now() - booted;
        alive();
        const testDev = d.testDevOrigin?.(section, boot);
        d.emit({ type: 'machine-up', machine: m.name, bootMs: Date.now() - started, kernelRelease: boot.kernelRelease, phases: { ...boot.phases, guestSetup: setupMs }, preflight, ...(testDev ? { testDev } : {}) });
        await sectionReady;
      });
      alive();
      this.failuresInARow = 0;
      const slot: Slot = { machine, watch, section, tests: 0, ran: new Map() };
      this.standing.add(slot);
      return { ok: true, slot };
    } catch (error) {
      try {
        // Stopped by the run (Ctrl-C, the supply's end): nothing about this VM is news.
        if (!this.closed && !d.stopSignal.aborted) {
          if (!isFatalBootError(error)) this.failuresInARow++;
          // The record keeps every lost VM, also the one whose error ends the run (a module that
          // panicked at load: its crash is in the event), and what its console said before.
          if (machine && watch) await settleIdle({ machine, watch }, d, { context: 'while it was made ready', failed: error instanceof Error ? error.message : String(error) });
        }
      } finally {
        watch?.dispose();
        if (machine) {
          this.held.delete(machine);
          await disposeMachine(machine, d.emit);
        }
      }
      return { ok: false, error };
    }
  }
}
