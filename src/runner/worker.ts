/**
 * One worker is one VM slot: it takes a ready machine from the supply (supply.ts), readies it
 * for the section of its next batch, pulls batches from the dispatcher and runs them
 * (batchRun.ts). A lost VM is discarded and the next one taken from the supply.
 */
import type { Machine } from '../vm/machine.js';
import { runBatch, type BatchDeps } from './batchRun.js';
import type { Dispatcher } from './dispatcher.js';
import { isFatalBootError, type MachineSupply, type Slot } from './supply.js';
import type { WorkItem } from './workQueue.js';

export interface WorkerDeps extends Omit<BatchDeps, 'onFinished' | 'onFailing'> {
  dispatcher: Dispatcher;
  /** Where VMs come from: booted and set up, spares kept ahead (supply.ts). */
  supply: MachineSupply;
  /** Makes the machine ready for a section: its check config, a fresh TEST_DEV filesystem. */
  prepareSection(machine: Machine, section: string): Promise<void>;
  /** Tests per check invocation for the current queue length. */
  batchSize(remaining: number): number;
  /** VMs lost in a row while being readied for a section before the run gives up. */
  maxBootFailures: number;
}

export class Worker {
  private slot: Slot | undefined;
  /** VMs lost in a row while being readied for a section. */
  private prepareLosses = 0;

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
        const section = batch[0]!.section;
        const end = await runBatch(slot.machine, batch, {
          ...d,
          onFinished: (item, outcome) => {
            slot.tests++;
            d.dispatcher.finish(item, outcome);
          },
          // The VM is going: have its replacement on the way while the crash report completes.
          onFailing: () => d.supply.prefetch(section),
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
   * A machine ready for the batch's section, or undefined when this attempt failed and the batch
   * went back to the queue. Throws when the run cannot go on.
   */
  private async ready(batch: WorkItem[]): Promise<Slot | undefined> {
    const d = this.deps;
    const section = batch[0]!.section;
    try {
      this.slot ??= await d.supply.take(section);
      if (!this.slot) {
        d.dispatcher.requeue(batch);
        return undefined;
      }
      if (this.slot.section !== section) {
        // A fresh filesystem for the section: a VM re-formats TEST_DEV when its section changes.
        this.slot.section = undefined;
        await d.prepareSection(this.slot.machine, section);
        this.slot.section = section;
      }
      this.prepareLosses = 0;
      return this.slot;
    } catch (err) {
      d.dispatcher.requeue(batch);
      const machine = this.slot?.machine;
      await this.discard();
      if (d.stopSignal.aborted) return undefined;
      if (!machine) throw err; // from the supply: it already decided this ends the run
      // The VM was lost while being re-formatted for the section (mkfs of TEST_DEV): another VM
      // may fare better, unless it keeps happening (a kernel that dies in this mkfs).
      if (isFatalBootError(err) || !(err instanceof Error)) throw err;
      d.emit({ type: 'machine-lost', machine: machine.name, reason: 'boot-failure', message: err.message, consoleLog: d.consoleLogOf(machine) });
      if (++this.prepareLosses >= d.maxBootFailures) throw err;
      return undefined;
    }
  }

  private async discard(): Promise<void> {
    const s = this.slot;
    this.slot = undefined;
    if (s) await s.machine.dispose();
  }
}
