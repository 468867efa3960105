/**
 * One owner for the timers, listeners and abort controllers of one piece of work (a batch run):
 * everything is registered here when it is created and released by one `dispose()`, so no path
 * out of the work can forget one (Playwright's JobDispatcher removes all its listeners in one
 * `_finished` the same way). After dispose, new timers are not started at all: a late callback
 * (a stdout chunk that arrives after the end) cannot arm a timer that outlives the work.
 */
export class Disposer {
  private readonly cleanups = new Set<() => void>();
  private closed = false;

  /** True once dispose() ran. */
  get disposed(): boolean {
    return this.closed;
  }

  /** Registers a cleanup; runs it at once when already disposed. Returns a function that runs it early. */
  add(cleanup: () => void): () => void {
    if (this.closed) {
      cleanup();
      return () => undefined;
    }
    let done = false;
    const run = () => {
      if (done) return;
      done = true;
      this.cleanups.delete(run);
      cleanup();
    };
    this.cleanups.add(run);
    return run;
  }

  /** setTimeout owned by this disposer; a no-op after dispose. Returns its cancel function. */
  timeout(fn: () => void, ms: number): () => void {
    if (this.closed) return () => undefined;
    let cancel = () => undefined as void;
    const timer = setTimeout(() => {
      cancel();
      fn();
    }, ms);
    cancel = this.add(() => clearTimeout(timer));
    return cancel;
  }

  /** A timer slot: setting it replaces the previous timer. */
  slot(): { set(fn: () => void, ms: number): void; clear(): void } {
    let cancel: (() => void) | undefined;
    return {
      set: (fn, ms) => {
        cancel?.();
        cancel = this.timeout(fn, ms);
      },
      clear: () => {
        cancel?.();
        cancel = undefined;
      },
    };
  }

  /** A promise resolved after `ms`, or at dispose (whichever comes first). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.timeout(resolve, ms);
      // Resolve rather than hang when disposed early.
      this.add(() => {
        cancel();
        resolve();
      });
      if (this.closed) resolve();
    });
  }

  /** An event listener on an AbortSignal, removed at dispose. */
  onAbort(signal: AbortSignal, fn: () => void): void {
    if (signal.aborted) {
      fn();
      return;
    }
    signal.addEventListener('abort', fn, { once: true });
    this.add(() => signal.removeEventListener('abort', fn));
  }

  /** An AbortController aborted at dispose (so nothing started under it outlives the work). */
  controller(): AbortController {
    const c = new AbortController();
    this.add(() => c.abort());
    return c;
  }

  /** Releases everything, in reverse order of registration. Idempotent. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.cleanups].reverse();
    this.cleanups.clear();
    for (const cleanup of all) cleanup();
  }
}
