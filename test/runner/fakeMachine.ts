/**
 * The plumbing of a scripted Machine (src/vm/machine.ts) for the runner's tests: console bytes
 * handed to the listeners in odd-sized reads, QEMU's exit and the transport's close, the
 * commands run. Each test file scripts boot() and exec() its own way (worker.test.ts,
 * outsideBatch.test.ts).
 */
import type { BootResult, ExecOptions, ExecResult, Machine, MachineExit } from '../../src/vm/machine.js';

export abstract class FakeMachineBase implements Machine {
  readonly argv = ['qemu-system-x86_64'];
  private listeners: ((c: Buffer) => void)[] = [];
  private resolveExit!: (e: MachineExit) => void;
  readonly exited = new Promise<MachineExit>((r) => (this.resolveExit = r));
  private resolveClosed!: () => void;
  readonly transportClosed = new Promise<void>((r) => (this.resolveClosed = r));
  readonly commands: string[] = [];
  disposed = false;

  constructor(readonly name: string) {}

  abstract boot(): Promise<BootResult>;
  abstract exec(command: string, opts?: ExecOptions): Promise<ExecResult>;

  /** Console bytes in reads of `chunk` bytes (the detector must not care where they are cut). */
  console(text: string, chunk = 101): void {
    const b = Buffer.from(text);
    for (let i = 0; i < b.length; i += chunk) for (const l of this.listeners) l(b.subarray(i, i + chunk));
  }

  /** QEMU exits, and the ssh transport closes with it. */
  protected end(exit: MachineExit): void {
    this.resolveExit(exit);
    this.resolveClosed();
  }

  onConsole(l: (c: Buffer) => void) {
    this.listeners.push(l);
    return () => (this.listeners = this.listeners.filter((x) => x !== l));
  }
  async sysrq() {}
  async dumpGuestMemory() {}
  consoleTail() {
    return '';
  }
  async dispose() {
    this.disposed = true;
  }
}
