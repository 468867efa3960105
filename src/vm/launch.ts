/**
 * launch: start QEMU with execa in its own process group and hand back a handle that can
 * only be stopped, never leaked (docs/architecture.md, "The VM layer", step 4).
 */
import { execa, type ResultPromise } from 'execa';
import { killedWithKt } from './parentDeath.js';
import { registerProcessGroup, unregisterProcessGroup } from './processRegistry.js';

export interface QemuExit {
  /** QEMU's exit code; 1 after a pvpanic with panic=exit-failure (docs/fstests.md §7). */
  exitCode: number | undefined;
  signal: string | undefined;
  /** QEMU's own stderr (argument errors, "could not open disk image"). */
  stderr: string;
}

export interface QemuProcess {
  readonly pid: number;
  /** Raw console bytes (the guest's ttyS0), as they arrive. */
  onConsole(listener: (chunk: Buffer) => void): void;
  /** Resolves once QEMU has exited, for any reason; never rejects. */
  readonly exited: Promise<QemuExit>;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  kill(graceMs?: number): Promise<QemuExit>;
}

export function launchQemu(argv: string[], opts: { cwd: string; env?: Record<string, string> }): QemuProcess {
  const [qemu, ...qemuArgs] = argv;
  if (!qemu) throw new Error('launchQemu: empty argv');
  // Even a SIGKILLed kt leaves no QEMU behind (src/vm/parentDeath.ts).
  const { file, args } = killedWithKt(qemu, qemuArgs);
  const child: ResultPromise = execa(file, args, {
    cwd: opts.cwd,
    env: opts.env,
    // Own process group: Ctrl-C in the terminal reaches kt, which stops VMs in order.
    detached: true,
    // stdin stays an open pipe: the stdio chardev must not see EOF.
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: { stdout: false, stderr: true },
    reject: false,
    // execa's cleanup skips detached children; processRegistry and the parent-death signal
    // stop QEMU instead.
    cleanup: true,
  });
  if (child.pid === undefined) throw new Error(`could not start ${qemu}`);
  const pid: number = child.pid;
  registerProcessGroup(pid);

  const listeners: ((chunk: Buffer) => void)[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    for (const l of listeners) l(chunk);
  });
  const exited: Promise<QemuExit> = child.then(
    (r) => {
      unregisterProcessGroup(pid);
      return {
        exitCode: r.exitCode,
        signal: r.signal,
        stderr: typeof r.stderr === 'string' ? r.stderr : '',
      };
    },
    (err: unknown) => {
      unregisterProcessGroup(pid);
      return { exitCode: undefined, signal: undefined, stderr: String(err) };
    },
  );

  async function kill(graceMs = 3000): Promise<QemuExit> {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, graceMs);
    const result = await exited;
    clearTimeout(timer);
    // The group may hold helpers QEMU forked; none may outlive the VM.
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
    return result;
  }

  return { pid, onConsole: (l) => listeners.push(l), exited, kill };
}
