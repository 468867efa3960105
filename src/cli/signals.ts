/**
 * SIGINT, SIGTERM and SIGHUP while kt works: the first one stops the run cleanly (no new tests,
 * VMs shut down, every report written), a second one kills everything at once. A closed terminal
 * or ssh session (SIGHUP) stops like SIGTERM rather than leave VMs running.
 */
export type StopSignal = 'SIGINT' | 'SIGTERM';

export interface SignalHandling {
  /** Aborted at the first signal, with the signal's name as reason. */
  readonly signal: AbortSignal;
  /** Which signal stopped the run, if any. */
  readonly received: StopSignal | undefined;
  /** Removes the handlers. Idempotent. */
  dispose(): void;
}

/**
 * Installs the handlers. `onFirst` tells the user what happens; `onSecond` must not return
 * (it kills the VMs and exits).
 */
export function handleStopSignals(onFirst: (signal: StopSignal) => void, onSecond: (signal: StopSignal) => never): SignalHandling {
  const controller = new AbortController();
  let received: StopSignal | undefined;
  const on = (signal: StopSignal) => () => {
    if (received) onSecond(signal);
    received = signal;
    onFirst(signal);
    controller.abort(signal);
  };
  const handlers: [NodeJS.Signals, () => void][] = [
    ['SIGINT', on('SIGINT')],
    ['SIGTERM', on('SIGTERM')],
    ['SIGHUP', on('SIGTERM')],
  ];
  for (const [s, h] of handlers) process.on(s, h);
  let disposed = false;
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const [s, h] of handlers) process.off(s, h);
    },
  };
}
