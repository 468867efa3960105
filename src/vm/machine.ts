/**
 * Machine: what the runner sees of a VM (docs/architecture.md). The runner imports this file and
 * nothing else of src/vm: it never sees QEMU, its argv builder or its transport classes.
 */
export type { ExecOptions, ExecResult } from './sshTransport.js';
/** A command that ran past its timeoutMs: Machine.exec rejects with it. */
export { TimeoutError } from './sshTransport.js';
import type { ExecOptions, ExecResult } from './sshTransport.js';

export interface MachineExit {
  exitCode: number | undefined;
  signal: string | undefined;
  stderr: string;
}

/** What a boot measured: the total and, when the guest reported them, its phases in ms. */
export interface BootResult {
  /** qemu start → commands accepted. */
  bootMs: number;
  /** `uname -r` in the guest. */
  kernelRelease: string;
  /** Where the time went (kernel, init, sshd, ssh handshake...), when known. */
  phases?: Record<string, number>;
  /**
   * The guest's init did kt's per-boot set-up but the fstests preflight (kt's Debian guest:
   * guest/kt-init's `kt-init: prepared` line), so the runner may skip that step for a tree it
   * has seen pass the preflight in this guest (src/runner/guestSetup.ts).
   */
  guestPrepared?: boolean;
  /**
   * The disks (by serial) that began as a copy of a template file, and the file (VmSpec's
   * DiskSpec.template): a TEST disk that holds a filesystem made once in an earlier VM, which
   * the runner need not make again (src/runner/guestSetup.ts).
   */
  disksFromTemplate?: Readonly<Record<string, string>>;
}

export interface Machine {
  /** Name within the run (vm1, vm2, ...). */
  readonly name: string;
  /** The qemu argv, for the record and --dry-run. */
  readonly argv: string[];
  /** Boots and waits until commands are accepted; throws BootError with the console tail. */
  boot(signal: AbortSignal): Promise<BootResult>;
  /** Raw console bytes of ttyS0 as they arrive (also written to the console log). */
  onConsole(listener: (chunk: Buffer) => void): () => void;
  /** Resolves when QEMU exits, for any reason. */
  readonly exited: Promise<MachineExit>;
  /** Resolves when the command channel drops. */
  readonly transportClosed: Promise<void>;
  /** The channel dropped because the guest stopped answering ssh's keepalives (a wedged guest), when known. */
  channelLostToKeepalive?(): boolean;
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Asks the guest kernel for diagnostics (sysrq keys such as 'w', 't', 'l') without ssh. */
  sysrq(keys: string): Promise<void>;
  /** Dumps guest memory (vmcore) to a file, when the VM was started for it. */
  dumpGuestMemory(path: string, timeoutMs: number): Promise<void>;
  /**
   * Keeps a copy of the disk with this serial at `dest` (replaced whole, never half-written),
   * for a later VM to start from (DiskSpec.template). Only while nothing in the guest writes to
   * that disk. Backends whose disks kt does not make have none.
   */
  keepDiskCopy?(serial: string, dest: string): Promise<void>;
  /** Last lines of the console, for error messages. */
  consoleTail(lines: number): string;
  /** Stops QEMU (graceful, then forceful) and removes its private files. Idempotent. */
  dispose(): Promise<void>;
}
