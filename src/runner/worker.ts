/**
 * One worker is one VM slot: it takes a ready machine from the supply (supply.ts), readies it
 * for the section of its next batch, pulls batches from the dispatcher and runs them
 * (batchRun.ts). A lost VM is discarded and the next one taken from the supply.
 */
import type { Machine } from '../vm/machine.js';
import { runBatch, type BatchDeps } from './batchRun.js';
import type { Dispatcher } from './dispatcher.js';
import { asBootError, isFatalBootError, type MachineSupply, type Slot } from './supply.js';
import { describeQemuExit, toCrashInfo } from './blame.js';
import type { WorkItem } from './workQueue.js';

export interface WorkerDeps extends Omit<BatchDeps, 'onFinished' | 'onFailing' | 'onCheckStarted'> {
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
        if (this.slot) await this.checkIdle();
        if (batch[0]!.freshVm && this.slot && this.slot.tests > 0) await this.discard();
        const slot = await this.ready(batch);
        if (!slot) continue;
        if (d.stopSignal.aborted) {
          // Interrupted while the VM was made ready: nothing of the batch runs.
          d.dispatcher.drop(batch);
          break;
        }
        const section = batch[0]!.section;
        const checkCalled = Date.now();
        const end = await runBatch(slot.watch, batch, {
          ...d,
          // A spare this VM was taken from is replaced once a test runs here (MachineSupply.refill).
          emit: (event) => {
            if (event.type === 'test-begin') d.supply.refill();
            d.emit(event);
          },
          // check's start-up, which batching by time keeps batches above (order.ts batchBudget).
          onCheckStarted: () => d.dispatcher.noteCheckStartup((Date.now() - checkCalled) / 1000),
          onFinished: (item, outcome) => {
            slot.tests++;
            d.dispatcher.finish(item, outcome);
          },
          // The VM is going: have its replacement on the way while the crash report completes.
          onFailing: () => d.supply.prefetch(section),
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
            d.dispatcher.drop(end.unfinished);
            throw end.error;
        }
      }
    } finally {
      await this.discard();
    }
  }

  /**
   * What the VM did while it waited for this batch (or since its last one ended): non-fatal
   * reports are recorded for the test they name; a VM that crashed or went away meanwhile is
   * discarded — no test of the next batch is blamed for it.
   */
  private async checkIdle(): Promise<void> {
    const d = this.deps;
    const slot = this.slot!;
    const reports = slot.watch.takeIdleReports();
    const fatal = reports.find((r) => r.fatal);
    for (const r of reports) {
      if (r.fatal) continue;
      d.emit({ type: 'console-report', machine: slot.machine.name, ...(r.test !== undefined ? { test: r.test, ...(slot.section ? { section: slot.section } : {}) } : {}), report: toCrashInfo(r) });
    }
    // A panic report that has begun counts too: the VM is going (the report ends with it).
    if (!fatal && !slot.watch.dead && !slot.watch.fatalPending) return;
    const exit = slot.watch.exit;
    d.emit({
      type: 'machine-lost',
      machine: slot.machine.name,
      reason: fatal ? 'crash' : exit ? 'qemu-exit' : 'transport',
      message: `${fatal ? fatal.title : exit ? describeQemuExit(exit.exitCode, exit.signal) : 'the ssh connection to the guest dropped'} (while the VM waited for work)`,
      ...(fatal ? { crash: toCrashInfo(fatal) } : {}),
      consoleLog: d.consoleLogOf(slot.machine),
    });
    await this.discard();
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
      const lost = this.slot;
      const machine = lost?.machine;
      await this.discard();
      if (d.stopSignal.aborted) return undefined;
      if (!machine) throw err; // from the supply: it already decided this ends the run
      // The VM was lost while being re-formatted for the section (mkfs of TEST_DEV): another VM
      // may fare better, unless it keeps happening (a kernel that dies in this mkfs). A section
      // switch that fails on a VM that already ran tests may be that VM's state (a busy TEST_DIR):
      // only a fresh VM's failure is the section's (the supply's boots decide that).
      const usedVm = (lost?.tests ?? 0) > 0;
      if ((isFatalBootError(err) && !usedVm) || !(err instanceof Error)) throw err;
      const crash = lost ? [...lost.watch.takeIdleReports(), ...lost.watch.flush()].find((r) => r.fatal) : undefined;
      d.emit({
        type: 'machine-lost',
        machine: machine.name,
        reason: crash ? 'crash' : 'boot-failure',
        message: crash ? crash.title : err.message,
        ...(crash ? { crash: toCrashInfo(crash) } : {}),
        consoleLog: d.consoleLogOf(machine),
      });
      if (++this.prepareLosses >= d.maxBootFailures) throw asBootError(err, this.prepareLosses);
      return undefined;
    }
  }

  private async discard(): Promise<void> {
    const s = this.slot;
    this.slot = undefined;
    if (s) {
      s.watch.dispose();
      await s.machine.dispose();
    }
  }
}
