/**
 * QMP against QEMU itself (qemu-system-x86_64 stopped with -S, nothing boots), with the -qmp
 * option kt passes (src/vm/qemuArgs.ts). QEMU serves one QMP client at a time and keeps later
 * connections waiting in the socket's backlog: a connection kt gave up on must be closed, or it
 * takes the only slot when QEMU gets to it and every later attempt (sysrq of a hung guest, a
 * memory dump) times out.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { launchQemu, type QemuProcess } from '../../src/vm/launch.js';
import { MachineQmp } from '../../src/vm/machineQmp.js';
import { QmpClient, TimeoutError } from '../../src/vm/qmp.js';

const TIMEOUT = 60_000;
let tmp: string;
let qemu: QemuProcess | undefined;
let clients: { close(): void }[];
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-qmp-qemu-'));
  clients = [];
});
afterEach(async () => {
  for (const c of clients) c.close();
  await qemu?.kill(2_000);
  qemu = undefined;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A stopped QEMU with 16 MiB of guest memory; returns its QMP socket once QEMU made it. */
async function startQemu(): Promise<string> {
  const socket = path.join(tmp, 'qmp.sock');
  qemu = launchQemu(
    ['qemu-system-x86_64', '-S', '-machine', 'pc', '-m', '16', '-nodefaults', '-display', 'none', '-qmp', `unix:${socket},server=on,wait=off`],
    { cwd: tmp },
  );
  while (!fs.existsSync(socket)) {
    const exited = await Promise.race([qemu.exited, new Promise((r) => setTimeout(r, 20))]);
    if (exited) throw new Error(`qemu exited: ${JSON.stringify(exited)}`);
  }
  return socket;
}

describe('QMP and QEMU 7.2', () => {
  it('a connect that timed out while another client held the slot does not take it afterwards', async () => {
    const socket = await startQemu();
    const holder = await QmpClient.connect(socket, 10_000);
    clients.push(holder);
    // QEMU does not greet a second client while the first is connected: this times out
    // whatever the machine's speed.
    const err = await QmpClient.connect(socket, 300).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    holder.close();
    // The slot is free for the next attempt, not held by the abandoned one.
    const next = await QmpClient.connect(socket, 10_000);
    clients.push(next);
    expect(await next.execute('query-status')).toMatchObject({ status: 'prelaunch', running: false });
  }, TIMEOUT);

  it('MachineQmp attaches again after a failed attempt and dumps guest memory as ELF', async () => {
    const socket = await startQemu();
    const holder = await QmpClient.connect(socket, 10_000);
    clients.push(holder);
    const qmp = new MachineQmp(socket, 'vm1');
    clients.push(qmp);
    await expect(qmp.connect(300)).rejects.toMatchObject({ code: 'E_QMP_UNAVAILABLE' });
    holder.close();
    const file = path.join(tmp, 'vm1.elf');
    await qmp.dumpGuestMemory(file, 30_000);
    expect(fs.readFileSync(file).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    // QEMU's own error for a dump it cannot write: typed, and no file.
    const missing = path.join(tmp, 'no-such-dir', 'vm1.elf');
    const err = await qmp.dumpGuestMemory(missing, 30_000).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_VMCORE_DUMP' });
    expect((err as Error).message).toContain(`vm1: the memory dump to ${missing} failed: QMP error:`);
    expect(fs.existsSync(path.dirname(missing))).toBe(false);
  }, TIMEOUT);
});
