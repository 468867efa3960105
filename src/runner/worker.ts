/**
 * One worker is one VM slot: it boots a machine, readies it for the section of its next batch,
 * pulls batches from the dispatcher and runs them (batchRun.ts). A lost VM is discarded and a
 * fresh one booted; a kernel that fails to boot `maxBootFailures` times in a row ends the run.
 */
import { HostError, isKtError } from '../errors.js';
import type { EventInput } from '../record/events.js';
import type { Machine } from '../vm/machine.js';
import { runBatch, type BatchDeps } from './batchRun.js';
import type { Dispatcher } from './dispatcher.js';
import type { WorkItem } from './workQueue.js';

export interface WorkerDeps extends Omit<BatchDeps, 'onFinished'> {
  dispatcher: Dispatcher;
  /** A new, not yet booted machine with a fresh name (vm3, vm4, ...). */
  createMachine(): Promise<Machine>;
  /**
   * Readies a freshly booted machine (mounts the fstests tree, checks it can run there, loads
   * extra modules). Throws HostError E_GUEST_SETUP* for errors no other VM would avoid, anything
   * else for a VM that was lost on the way.
   */
  setupGuest(machine: Machine): Promise<void>;
  /** Makes the machine ready for a section: its check config, a fresh TEST_DEV filesystem. */
  prepareSection(machine: Machine, section: string): Promise<void>;
  /** Tests per check invocation for the current queue length. */
  batchSize(remaining: number): number;
  /** Consecutive boot failures after which the run gives up (the kernel does not boot). */
  maxBootFailures: number;
}

/** The machine in the slot and what it has done. */
interface Slot {
  machine: Machine;
  /** Section its TEST_DEV and config are set up for. */
  section?: string;
  /** Tests it ran (a retry wants a VM that ran nothing). */
  tests: number;
}

export class Worker {
  private slot: Slot | undefined;
  private bootFailures = 0;

  constructor(private readonly deps: WorkerDeps) {}

  async run(): Promise<void> {
    const d = this.deps;
    try {
      for (;;) {
        const batch = await d.dispatcher.next((remaining) => d.batchSize(remaining), this.slot?.section);
        if (!batch) break;
        if (d.stopSignal.aborted) {
          d.dispatcher.drop(batch);
          break;
        }
        if (batch[0]!.freshVm && this.slot && this.slot.tests > 0) await this.discard();
        const slot = await this.ready(batch);
        if (!slot) continue;
        const end = await runBatch(slot.machine, batch, {
          ...d,
          onFinished: (item, outcome) => {
            slot.tests++;
            d.dispatcher.finish(item, outcome);
          },
        });
        switch (end.kind) {
          case 'done':
            break;
          case 'lost':
            d.dispatcher.requeue(end.requeue);
            await this.discard();
            break;
          case 'interrupted':
            d.dispatcher.drop(end.unfinished);
            return;
          case 'setup-error':
            d.dispatcher.drop(end.unfinished);
            throw end.error;
        }
      }
    } finally {
      await this.discard();
    }
  }

  /**
   * A machine booted and set up for the batch's section, or undefined when this attempt failed
   * and the batch went back to the queue. Throws when the run cannot go on.
   */
  private async ready(batch: WorkItem[]): Promise<Slot | undefined> {
    const d = this.deps;
    const section = batch[0]!.section;
    let slot = this.slot;
    try {
      if (!slot) slot = await this.boot();
      if (slot.section !== section) {
        // A fresh filesystem for the section: a VM re-formats TEST_DEV when its section changes.
        slot.section = undefined;
        await d.prepareSection(slot.machine, section);
        slot.section = section;
      }
      this.bootFailures = 0;
      return slot;
    } catch (err) {
      d.dispatcher.requeue(batch);
      const machine = (slot ?? this.slot)?.machine;
      await this.discard();
      if (d.stopSignal.aborted) return undefined;
      // Setup errors of the fstests tree or config, and a guest whose ssh host key is not the
      // one pinned, are the same on every boot: no retry helps.
      if (err instanceof HostError && (err.code.startsWith('E_GUEST_SETUP') || err.code.startsWith('E_BOOT_HOST_KEY'))) throw err;
      if (!isKtError(err) && !(err instanceof Error)) throw err;
      this.bootFailures++;
      if (machine) {
        d.emit({
          type: 'machine-lost',
          machine: machine.name,
          reason: 'boot-failure',
          message: err.message,
          consoleLog: d.consoleLogOf(machine),
        } satisfies EventInput);
      }
      // A boot can hang by bad luck (seen under TCG); the same failure again is the kernel's.
      if (this.bootFailures >= d.maxBootFailures) throw err;
      return undefined;
    }
  }

  private async boot(): Promise<Slot> {
    const d = this.deps;
    const machine = await d.createMachine();
    this.slot = { machine, tests: 0 };
    d.emit({ type: 'machine-boot', machine: machine.name, argv: machine.argv });
    const started = Date.now();
    const { kernelRelease, phases } = await machine.boot(d.stopSignal);
    await d.setupGuest(machine);
    // Ready for tests: booted and set up (the section's mkfs follows in ready()).
    d.emit({ type: 'machine-up', machine: machine.name, bootMs: Date.now() - started, kernelRelease, ...(phases ? { phases } : {}) });
    return this.slot;
  }

  private async discard(): Promise<void> {
    const s = this.slot;
    this.slot = undefined;
    if (s) await s.machine.dispose();
  }
}
