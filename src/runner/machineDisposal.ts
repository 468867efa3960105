/**
 * Ending a VM from the runner: a disposal that fails (QEMU would not die, its directory would
 * not go) is reported, never thrown — it happens on paths that are already ending (a lost VM, a
 * failed boot, a spare nobody took), where a rejection would escape unhandled and end kt. And a
 * guest command that readies a VM (set-up, a section's mkfs: minutes under TCG) ends with the
 * run's stop signal, not with its own timeout.
 */
import type { EventInput } from '../record/events.js';
import type { Machine } from '../vm/machine.js';
import { Disposer } from './disposer.js';

/** Disposes the machine; a failure becomes a warning event. Never rejects. */
export async function disposeMachine(machine: Machine, emit: (event: EventInput) => void): Promise<void> {
  try {
    await machine.dispose();
  } catch (err) {
    try {
      emit({ type: 'warning', machine: machine.name, message: `kt could not stop ${machine.name}: ${err instanceof Error ? err.message : String(err)}` });
    } catch {
      // The record itself failed (disk full): the run is ending with that error already.
    }
  }
}

/**
 * Runs a guest step on the machine until it ends or `signal` aborts. The step gets the signal
 * (exec stops its command); on abort the machine is disposed too, which closes its channel, so
 * every command the step has in flight rejects at once.
 */
export async function untilStopped<T>(machine: Machine, signal: AbortSignal, emit: (event: EventInput) => void, step: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const d = new Disposer();
  try {
    d.onAbort(signal, () => void disposeMachine(machine, emit));
    return await step(signal);
  } finally {
    d.dispose();
  }
}
