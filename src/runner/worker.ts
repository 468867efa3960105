/**
 * One worker is one VM slot: it takes a ready machine from the supply (supply.ts), readies it
 * for the section of its next batch, pulls batches from the dispatcher and runs them
 * (batchRun.ts). A lost VM is discarded and the next one taken from the supply.
 *
 * Between batches nobody listens to the VM's console; what it said meanwhile (during its boot
 * and set-up, while it stood as a spare or waited for work, after its last batch) is recorded
 * before the VM runs its next batch or goes (idleCheck.ts). A VM that died meanwhile is recorded
 * as lost without blaming a test: none ran on it.
 */
import type { Machine } from '../vm/machine.js';
import { runBatch, type BatchDeps } from './batchRun.js';
import type { Dispatcher } from './dispatcher.js';
import { settleIdle, type SettleOptions } from './idleCheck.js';
import { disposeMachine, untilStopped } from './machineDisposal.js';
import { asBootError, isFatalBootError, type MachineSupply, type Slot } from './supply.js';
import type { WorkItem } from './workQueue.js';

export interface WorkerDeps extends Omit<BatchDeps, 'onFinished' | 'onFailing' | 'onCheckStarted' | 'onTestBegun'> {
  dispatcher: Dispatcher;
  /** Where VMs come from: booted and set up, spares kept ahead (supply.ts). */
  supply: MachineSupply;
  /** Makes the machine ready for a section: its check config, a fresh TEST_DEV filesystem; stops with `signal`. */
  prepareSection(machine: Machine, section: string, signal?: AbortSignal): Promise<void>;
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
        // A VM that ran tests leaves a fresh-VM item to one that did not, when it can (WorkQueue.take).
        const batch = await d.dispatcher.next((remaining) => d.batchSize(remaining), this.slot?.section, (this.slot?.tests ?? 0) > 0);
        if (!batch) break;
        if (d.stopSignal.aborted) {
          d.dispatcher.drop(batch);
          break;
        }
        // What the VM did while it waited for this batch: a VM that crashed or went away
        // meanwhile is discarded — no test of the next batch is blamed for it.
        if (this.slot && (await this.settle(this.slot, { context: 'while the VM waited for work' }))) await this.discard();
        if (batch[0]!.freshVm && this.slot && this.slot.tests > 0) await this.retire();
        const slot = await this.ready(batch);
        if (!slot) continue;
        if (d.stopSignal.aborted) {
          // Interrupted while the VM was made ready: nothing of the batch runs.
          d.dispatcher.drop(batch);
          break;
        }
        const section = batch[0]!.section;
        const end = await runBatch(slot.watch, batch, {
          ...d,
          // A spare this VM was taken from is replaced once a test runs here (MachineSupply.refill).
          emit: (event) => {
            if (event.type === 'test-begin') d.supply.refill();
            d.emit(event);
          },
          // check's start-up, which batching by time keeps batches above (order.ts batchBudget).
          onCheckStarted: (sec) => d.dispatcher.noteCheckStartup(sec),
          // Batching by time counts a running test by what is left of it (Dispatcher.begun).
          onTestBegun: (item) => d.dispatcher.begun(item),
          onFinished: (item, outcome) => {
            slot.tests++;
            slot.ran.set(item.test, item);
            d.dispatcher.finish(item, outcome);
          },
          // The VM is going: have its replacement on the way while the crash report completes.
          onFailing: () => d.supply.prefetch(section),
          ranBefore: slot.ran,
        });
        d.supply.refill();
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
            // check would not start. On a VM that ran tests already, that may be the state a test
            // left (SCRATCH_DEV busy, a TEST_DEV check could not repair): that VM goes, the batch
            // goes back, and only a fresh VM's refusal (or one in every VM) is the tree's.
            if (slot.tests > 0 && !d.stopSignal.aborted) {
              const last = [...slot.ran.keys()].pop();
              d.emit({
                type: 'warning',
                machine: slot.machine.name,
                message: `${slot.machine.name} is discarded: check would not start on it after ${slot.tests} test${slot.tests === 1 ? '' : 's'}${last ? ` (the last: ${last})` : ''}: ${end.error.message}`,
              });
              // Bounded: every VM that goes this way ran a test first, and a fresh VM's refusal ends the run.
              d.dispatcher.requeue(end.unfinished);
              // What its console still holds (a WARNING open since its last test) is recorded first.
              try {
                await this.settle(slot, { context: 'while check started', final: true });
              } finally {
                await this.discard();
              }
              break;
            }
            d.dispatcher.drop(end.unfinished);
            throw end.error;
        }
      }
    } finally {
      await this.retire();
    }
  }

  /**
   * Records what the VM's console said while no batch listened (idleCheck.ts); returns why it is
   * lost, when it is. Nothing is recorded once the run is stopped: the VMs are going anyway.
   */
  private async settle(slot: Slot, options: SettleOptions): Promise<string | undefined> {
    if (this.deps.stopSignal.aborted) return undefined;
    return settleIdle(slot, this.deps, { ...options, ran: slot.ran });
  }

  /**
   * A machine ready for the batch's section, or undefined when this attempt failed and the batch
   * went back to the queue. Throws when the run cannot go on.
   */
  private async ready(batch: WorkItem[]): Promise<Slot | undefined> {
    const d = this.deps;
    const section = batch[0]!.section;
    const taken = this.slot === undefined;
    let slot: Slot | undefined;
    try {
      slot = this.slot ??= await d.supply.take(section);
    } catch (err) {
      // From the supply: it already decided this ends the run.
      d.dispatcher.requeue(batch);
      if (d.stopSignal.aborted) return undefined;
      throw err;
    }
    if (!slot) {
      d.dispatcher.requeue(batch);
      return undefined;
    }
    const fresh = slot.tests === 0;
    const switched = slot.section !== section;
    if (switched) {
      // A fresh filesystem for the section: a VM re-formats TEST_DEV when its section changes.
      slot.section = undefined;
      const machine = slot.machine;
      try {
        await untilStopped(machine, d.stopSignal, d.emit, (signal) => d.prepareSection(machine, section, signal));
        slot.section = section;
      } catch (err) {
        d.dispatcher.requeue(batch);
        if (d.stopSignal.aborted) {
          await this.discard();
          return undefined;
        }
        // The VM was lost while being re-formatted for the section (mkfs of TEST_DEV): another VM
        // may fare better, unless it keeps happening (a kernel that dies in this mkfs). A section
        // switch that fails on a VM that already ran tests may be that VM's state (a busy TEST_DIR):
        // only a fresh VM's failure is the section's (the supply's boots decide that).
        const failed = err instanceof Error ? err.message : String(err);
        await this.settle(slot, { context: `while it made TEST_DEV for section ${section}`, failed });
        await this.discard();
        if ((isFatalBootError(err) && fresh) || !(err instanceof Error)) throw err;
        if (++this.prepareLosses >= d.maxBootFailures) throw asBootError(err, this.prepareLosses);
        return undefined;
      }
    }
    // What its console said since it was last watched: its boot, set-up and mkfs — or its death
    // while it stood as a spare (then no test of this batch is blamed: none ran on it). A VM that
    // kept its section was settled before this batch (run()).
    const lost = taken || switched ? await this.settle(slot, { context: fresh ? 'before its first batch' : `while it made TEST_DEV for section ${section}` }) : undefined;
    if (lost !== undefined) {
      d.dispatcher.requeue(batch);
      await this.discard();
      // A kernel that dies on every VM before a test can run would otherwise boot VMs forever.
      if (++this.prepareLosses >= d.maxBootFailures) throw asBootError(new Error(`${slot.machine.name}: ${lost}`), this.prepareLosses);
      return undefined;
    }
    this.prepareLosses = 0;
    return slot;
  }

  /** The VM goes (no more work, or a retry wants a fresh one): what it said since its last batch is recorded first. */
  private async retire(): Promise<void> {
    const s = this.slot;
    if (!s) return;
    try {
      await this.settle(s, { context: s.tests > 0 ? 'after its last batch' : 'before it ran a test', final: true });
    } finally {
      await this.discard();
    }
  }

  private async discard(): Promise<void> {
    const s = this.slot;
    this.slot = undefined;
    if (s) {
      s.watch.dispose();
      await disposeMachine(s.machine, this.deps.emit);
    }
  }
}
