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
import { HostError, isKtError } from '../errors.js';
import type { EventInput } from '../record/events.js';
import type { Machine } from '../vm/machine.js';

/** A VM in a worker's hands. */
export interface Slot {
  machine: Machine;
  /** Section its TEST_DEV and config are set up for. */
  section?: string;
  /** Tests it ran (a retry wants a VM that ran nothing). */
  tests: number;
}

export interface SupplyDeps {
  emit(event: EventInput): void;
  /** A new, not yet booted machine with a fresh name (vm3, vm4, ...). */
  createMachine(): Promise<Machine>;
  setupGuest(machine: Machine): Promise<void>;
  prepareSection(machine: Machine, section: string): Promise<void>;
  consoleLogOf(machine: Machine): string;
  stopSignal: AbortSignal;
  maxBootFailures: number;
}

/** Errors the same on every boot: retrying cannot help. */
export function isFatalBootError(err: unknown): boolean {
  return err instanceof HostError && (err.code.startsWith('E_GUEST_SETUP') || err.code.startsWith('E_BOOT_HOST_KEY'));
}

type Outcome = { ok: true; slot: Slot } | { ok: false; error: unknown };

export class MachineSupply {
  /** Spares booting or ready, oldest first. */
  private readonly spares: Promise<Outcome>[] = [];
  /** Every machine the supply made and has not handed out, to dispose at the end. */
  private readonly held = new Set<Machine>();
  private failuresInARow = 0;
  private closed = false;

  constructor(
    private readonly deps: SupplyDeps,
    /** VMs to keep booted ahead of need. */
    private readonly spareCount: number,
  ) {}

  /** Start the standing spares (call once the first VMs are on their way). */
  start(section: string): void {
    while (this.spares.length < this.spareCount) this.spares.push(this.bootOne(section));
  }

  /** A VM is failing: have a replacement on its way now, ready for `section`. */
  prefetch(section: string): void {
    if (this.closed || this.deps.stopSignal.aborted) return;
    if (this.spares.length <= this.spareCount) this.spares.push(this.bootOne(section));
  }

  /**
   * A ready VM: the oldest spare when there is one, else a fresh boot. Throws the boot error
   * when the run cannot go on; returns undefined when this boot failed but another may work.
   */
  async take(section: string): Promise<Slot | undefined> {
    const pending = this.spares.shift();
    const outcome = await (pending ?? this.bootOne(section));
    // Keep the standing spares: the one just taken is replaced.
    if (!this.closed && !this.deps.stopSignal.aborted && this.spareCount > 0) this.start(section);
    if (outcome.ok) {
      this.held.delete(outcome.slot.machine);
      return outcome.slot;
    }
    if (this.deps.stopSignal.aborted) return undefined;
    const err = outcome.error;
    if (isFatalBootError(err) || (!isKtError(err) && !(err instanceof Error))) throw err;
    // A boot can hang by bad luck (seen under TCG); the same failure again is the kernel's.
    if (this.failuresInARow >= this.deps.maxBootFailures) throw err;
    return undefined;
  }

  /** Disposes every VM not handed out (spares booting or ready). */
  async dispose(): Promise<void> {
    this.closed = true;
    const all = [...this.held];
    this.held.clear();
    await Promise.all(all.map((m) => m.dispose()));
    await Promise.allSettled(this.spares.splice(0));
  }

  private async bootOne(section: string): Promise<Outcome> {
    const d = this.deps;
    let machine: Machine | undefined;
    try {
      machine = await d.createMachine();
      this.held.add(machine);
      if (this.closed) throw new Error('the run is over');
      d.emit({ type: 'machine-boot', machine: machine.name, argv: machine.argv });
      const started = Date.now();
      const { kernelRelease, phases } = await machine.boot(d.stopSignal);
      await d.setupGuest(machine);
      d.emit({ type: 'machine-up', machine: machine.name, bootMs: Date.now() - started, kernelRelease, ...(phases ? { phases } : {}) });
      // A fresh filesystem for the section it will most likely run.
      await d.prepareSection(machine, section);
      this.failuresInARow = 0;
      return { ok: true, slot: { machine, section, tests: 0 } };
    } catch (error) {
      if (machine) {
        this.held.delete(machine);
        await machine.dispose();
      }
      if (this.closed || d.stopSignal.aborted) return { ok: false, error };
      if (!isFatalBootError(error)) {
        this.failuresInARow++;
        if (machine) {
          d.emit({
            type: 'machine-lost',
            machine: machine.name,
            reason: 'boot-failure',
            message: error instanceof Error ? error.message : String(error),
            consoleLog: d.consoleLogOf(machine),
          });
        }
      }
      return { ok: false, error };
    }
  }
}
