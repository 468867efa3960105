/**
 * Every QEMU kt starts is registered here, so that no exit path of kt leaves one behind
 * (README: "Every QEMU process kt starts is killed on every exit path"). QEMU runs in its own process group (detached) so a
 * terminal's Ctrl-C reaches kt only and kt decides how to stop each VM; on process exit the
 * whole group of every live VM gets SIGKILL synchronously.
 */
const live = new Set<number>();
let installed = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

export function registerProcessGroup(pid: number): void {
  live.add(pid);
  if (!installed) {
    installed = true;
    // 'exit' handlers must be synchronous; process.kill is.
    process.on('exit', killAllNow);
  }
}

export function unregisterProcessGroup(pid: number): void {
  live.delete(pid);
}

/** SIGKILL every registered group at once (second Ctrl-C, fatal error, process exit). */
export function killAllNow(): void {
  for (const pid of live) killGroup(pid, 'SIGKILL');
  live.clear();
}

export function liveProcessGroups(): number[] {
  return [...live];
}
