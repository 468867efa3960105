/**
 * One VM's QMP connection and the two things kt asks QEMU for about a live guest: sysrq key
 * presses (a hung guest's task dumps) and a memory dump (--vmcore). The connection is made at
 * boot and made again when a caller needs it and it is missing or closed, so one slow answer at
 * boot does not leave a VM that can never be diagnosed. All of it is closed here, in close().
 */
import fs from 'node:fs';
import { HostError } from '../errors.js';
import { QmpClient } from './qmp.js';

/** How long a connection attempt (socket, greeting, qmp_capabilities) may take. */
export const QMP_CONNECT_MS = 5_000;

/** QEMU did not answer on the VM's QMP socket. */
export class QmpUnavailableError extends HostError {}

export class MachineQmp {
  private client: QmpClient | undefined;
  private connecting: Promise<QmpClient> | undefined;
  private closed = false;

  constructor(
    private readonly socketPath: string,
    /** The VM's name in the run (vm1), for messages. */
    private readonly vmName: string,
  ) {}

  /**
   * The open connection, connecting (again) when there is none; concurrent callers share one
   * attempt. Rejects with QmpUnavailableError (E_QMP_UNAVAILABLE).
   */
  connect(timeoutMs = QMP_CONNECT_MS): Promise<QmpClient> {
    if (this.closed) return Promise.reject(this.unavailable('the VM was disposed'));
    if (this.client?.isOpen) return Promise.resolve(this.client);
    this.client = undefined;
    this.connecting ??= QmpClient.connect(this.socketPath, timeoutMs).then(
      (client) => {
        this.connecting = undefined;
        // Disposed while connecting: this connection is no one's to close later.
        if (this.closed) {
          client.close();
          throw this.unavailable('the VM was disposed');
        }
        this.client = client;
        return client;
      },
      (err: unknown) => {
        this.connecting = undefined;
        throw this.unavailable(err instanceof Error ? err.message : String(err));
      },
    );
    return this.connecting;
  }

  /** Presses alt+sysrq+<key> for each key, e.g. '8wl' (Documentation/admin-guide/sysrq.rst). */
  async sysrq(keys: string): Promise<void> {
    const qmp = await this.connect();
    for (const key of keys) await qmp.sendKeys(['alt', 'sysrq', key]);
  }

  /**
   * Dumps guest memory to `file` as ELF. A dump that fails or takes longer than timeoutMs
   * leaves no file behind (only a file this dump created is removed) and rejects with a
   * HostError E_VMCORE_DUMP.
   */
  async dumpGuestMemory(file: string, timeoutMs: number): Promise<void> {
    const qmp = await this.connect();
    const existed = fs.existsSync(file);
    // Never throws: it also runs from a promise nobody awaits (below), where a throw would be an
    // unhandled rejection. Says whether the partial file is gone.
    const remove = (): boolean => {
      try {
        if (!existed) fs.rmSync(file, { force: true });
        return !existed;
      } catch {
        return false; // EACCES, EBUSY: left for the user, and the error says so
      }
    };
    // ELF with paging=false: what crash(8) and drgn open directly, the vmcoreinfo device giving
    // them the kernel's layout (QEMU QMP reference, dump-guest-memory). QEMU 7.2 writes its
    // kdump-* formats only in makedumpfile's flattened form, which needs `makedumpfile -R` first.
    // Without detach QEMU replies once the file is complete.
    const reply = qmp.request('dump-guest-memory', { paging: false, protocol: `file:${file}` });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    let failure: string | undefined;
    try {
      if ((await Promise.race([reply, timedOut])) === 'timeout') failure = `no answer within ${timeoutMs} ms`;
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(timer);
    }
    if (failure === undefined) return;
    const removed = remove();
    // After a timeout QEMU may still be creating or writing the file: remove it again once QEMU
    // answers or its monitor goes away (the VM is disposed after a failed dump).
    reply.then(remove, remove);
    const partial = existed ? `kt left ${file}, which was there before the dump` : removed ? 'kt removed the partial file' : `kt could not remove the partial file ${file}`;
    throw new HostError(
      'E_VMCORE_DUMP',
      `${this.vmName}: the memory dump to ${file} failed: ${failure}`,
      `${partial}. A dump writes all of the guest's memory (--memory): check free space under the run directory, or run without --vmcore`,
    );
  }

  /** Closes the connection, and one still being made once it completes. Idempotent. */
  close(): void {
    this.closed = true;
    this.client?.close();
    this.client = undefined;
  }

  private unavailable(why: string): QmpUnavailableError {
    return new QmpUnavailableError(
      'E_QMP_UNAVAILABLE',
      `${this.vmName}: no QMP connection to QEMU on ${this.socketPath}: ${why}`,
      'QEMU did not answer on its monitor socket: it exited, or it is too busy to answer (a TCG guest under load); the VM\'s console log shows what the guest did last',
    );
  }
}
