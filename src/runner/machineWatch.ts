/**
 * Everything kt watches on one VM for its whole life, not per batch: the console (through one
 * crash detector, so a report that spans two batches, or happens while the VM waits for work or
 * makes a section's filesystem, is still read whole), QEMU's exit and the command channel's loss.
 * A batch attaches a listener for its duration; what happens while none is attached is kept for
 * the next one to see (a VM that died while idle is discarded without blaming a test).
 *
 * One subscription per machine, made when the machine is made and released at dispose: batches
 * never add listeners to the machine itself, so nothing of a finished batch stays reachable.
 */
import type { Machine, MachineExit } from '../vm/machine.js';
import type { ConsoleCrash, ConsoleWatcher } from './ports.js';

export interface WatchListener {
  /** Raw console bytes (for the test's console artifact). */
  onChunk(chunk: Buffer): void;
  /** A finished crash report. */
  onReport(report: ConsoleCrash): void;
  onExit(exit: MachineExit): void;
  onTransportClosed(): void;
}

export class MachineWatch {
  /** QEMU's exit, once it happened. */
  exit: MachineExit | undefined;
  /** The command channel dropped. */
  transportLost = false;
  private listener: WatchListener | undefined;
  /** Reports finished while no listener was attached, oldest first. */
  private idle: ConsoleCrash[] = [];
  private readonly unsubscribe: () => void;
  private disposed = false;

  constructor(
    readonly machine: Machine,
    private readonly watcher: ConsoleWatcher,
  ) {
    this.unsubscribe = machine.onConsole((chunk) => {
      this.lastChunkAt = Date.now();
      // Parsed before the listener hears of the chunk: what it asks then (fatalPending) already
      // counts this chunk's lines — a whole panic report can arrive in one read.
      const reports = watcher.push(chunk);
      this.listener?.onChunk(chunk);
      for (const report of reports) this.deliver(report);
    });
    void machine.exited.then((exit) => {
      this.exit = exit;
      if (!this.disposed) this.listener?.onExit(exit);
    });
    void machine.transportClosed.then(() => {
      this.transportLost = true;
      if (!this.disposed) this.listener?.onTransportClosed();
    });
  }

  /** QEMU exited or the channel dropped: the VM cannot run another batch. */
  get dead(): boolean {
    return this.exit !== undefined || this.transportLost;
  }

  /** A fatal report has begun and is not complete yet. */
  get fatalPending(): boolean {
    return this.watcher.fatalPending;
  }

  /**
   * Attaches the one listener (a batch); returns its detach function. A QEMU exit or a lost
   * channel that already happened is told at once: the listener would never hear of it.
   */
  attach(listener: WatchListener): () => void {
    this.listener = listener;
    if (this.exit) listener.onExit(this.exit);
    if (this.transportLost) listener.onTransportClosed();
    return () => {
      if (this.listener === listener) this.listener = undefined;
    };
  }

  /** Reports finished while nobody listened (and forgets them). */
  takeIdleReports(): ConsoleCrash[] {
    return this.idle.splice(0);
  }

  /** Some report has begun and is not complete yet. */
  get reportPending(): boolean {
    return this.watcher.reportPending;
  }

  /** How many fstests markers the console has shown so far (parsed up to the last chunk). */
  get markers(): number {
    return this.watcher.markers;
  }

  /** The console ended (the VM is gone): every report still open comes out. */
  flush(): ConsoleCrash[] {
    return this.watcher.flush();
  }

  /** Closes the reports still open while the console goes on (a batch ends and wants them now). */
  closeReports(): ConsoleCrash[] {
    return this.watcher.closeReports();
  }

  /** Epoch ms of the last console bytes. */
  lastChunkAt = 0;

  dispose(): void {
    this.disposed = true;
    this.listener = undefined;
    this.unsubscribe();
  }

  private deliver(report: ConsoleCrash): void {
    if (this.listener) this.listener.onReport(report);
    else this.idle.push(report);
  }
}
