/**
 * QmpClient and MachineQmp against a QMP server on a real unix socket that plays QEMU's side of
 * the protocol (docs/interop/qmp-spec: greeting, qmp_capabilities, then commands with ids), and
 * can also stay silent, fail a command, or hold a reply, as a busy or failing QEMU does. A
 * connection kt gives up on is closed; QMP is attached again when needed; a failed memory dump
 * leaves no file.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MachineQmp, QmpUnavailableError } from '../../src/vm/machineQmp.js';
import { QmpClient, TimeoutError } from '../../src/vm/qmp.js';

let tmp: string;
let servers: net.Server[];
let accepted: net.Socket[];
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-qmp-'));
  servers = [];
  accepted = [];
});
afterEach(async () => {
  // A server closes only once its connections have; a test that failed may have left one open.
  for (const s of accepted) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  fs.rmSync(tmp, { recursive: true, force: true });
});

type Msg = { execute: string; arguments?: Record<string, unknown>; id: string };

/** How the server treats one connection: answer as QEMU, or never send the greeting. */
type Mode = 'qemu' | 'silent';

interface Conn {
  closed: boolean;
  commands: Msg[];
  socket: net.Socket;
}

/**
 * The server takes the modes of its connections in order (then 'qemu'). `onCommand` may answer
 * a command itself (return true) instead of the default `{"return": {}}`.
 */
async function fakeQemu(
  modes: Mode[] = [],
  onCommand?: (msg: Msg, reply: (body: object) => void, conn: Conn) => boolean,
): Promise<{ socket: string; conns: Conn[] }> {
  const conns: Conn[] = [];
  const server = net.createServer((socket) => {
    const conn: Conn = { closed: false, commands: [], socket };
    accepted.push(socket);
    conns.push(conn);
    socket.on('close', () => (conn.closed = true));
    socket.on('error', () => {});
    // Read even when silent, so the server sees the client's close.
    if ((modes.shift() ?? 'qemu') === 'silent') return void socket.resume();
    socket.write('{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}\r\n');
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buffer.slice(0, nl)) as Msg;
        buffer = buffer.slice(nl + 1);
        conn.commands.push(msg);
        const reply = (body: object) => {
          if (!socket.destroyed) socket.write(JSON.stringify({ ...body, id: msg.id }) + '\r\n');
        };
        if (!onCommand?.(msg, reply, conn)) reply({ return: {} });
      }
    });
  });
  servers.push(server);
  const socket = path.join(tmp, `qmp-${servers.length}.sock`);
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return { socket, conns };
}

/** Resolves once `pred` holds, checked every few milliseconds (vitest's timeout bounds it). */
async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setTimeout(r, 5));
}

const keysOf = (conn: Conn) =>
  conn.commands.filter((c) => c.execute === 'send-key').map((c) => (c.arguments!.keys as { data: string }[]).map((k) => k.data).join('+'));

describe('QmpClient.connect', () => {
  it('closes its socket when QEMU does not greet in time', async () => {
    const { socket, conns } = await fakeQemu(['silent']);
    const err = await QmpClient.connect(socket, 200).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe('QMP qmp_capabilities timed out after 200 ms');
    await until(() => conns[0]?.closed === true);
  });

  it('closes its socket when QEMU refuses qmp_capabilities', async () => {
    const { socket, conns } = await fakeQemu([], (msg, reply) => {
      if (msg.execute !== 'qmp_capabilities') return false;
      reply({ error: { class: 'CommandNotFound', desc: 'not in negotiation' } });
      return true;
    });
    await expect(QmpClient.connect(socket, 10_000)).rejects.toThrow('QMP error: {"class":"CommandNotFound","desc":"not in negotiation"}');
    await until(() => conns[0]?.closed === true);
  });
});

describe('MachineQmp', () => {
  it('says which socket did not answer, with a hint, when there is no QEMU', async () => {
    const socket = path.join(tmp, 'gone.sock');
    const qmp = new MachineQmp(socket, 'vm3');
    const err = await qmp.sysrq('w').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpUnavailableError);
    expect(err).toMatchObject({ code: 'E_QMP_UNAVAILABLE', exitCode: 3 });
    expect((err as Error).message).toBe(`vm3: no QMP connection to QEMU on ${socket}: connect ENOENT ${socket}`);
    expect((err as QmpUnavailableError).hint).toContain('QEMU did not answer on its monitor socket');
    qmp.close();
  });

  it('connects again for sysrq when the first attempt got no answer, and only once for two callers', async () => {
    const { socket, conns } = await fakeQemu(['silent']);
    const qmp = new MachineQmp(socket, 'vm1');
    // The boot's attempt: QEMU too busy to greet.
    await expect(qmp.connect(200)).rejects.toMatchObject({ code: 'E_QMP_UNAVAILABLE' });
    await Promise.all([qmp.sysrq('w'), qmp.sysrq('l')]);
    expect(conns.length).toBe(2);
    expect(conns[0]!.closed).toBe(true);
    expect(keysOf(conns[1]!).sort()).toEqual(['alt+sysrq+l', 'alt+sysrq+w']);
    qmp.close();
    await until(() => conns[1]!.closed);
  });

  it('connects again when QEMU closed the connection', async () => {
    const { socket, conns } = await fakeQemu();
    const qmp = new MachineQmp(socket, 'vm1');
    await qmp.sysrq('8');
    const first = await qmp.connect();
    // QEMU drops the client (its monitor restarted, or a second client took over after a hiccup).
    conns[0]!.socket.destroy();
    await until(() => !first.isOpen);
    await qmp.sysrq('wl');
    expect(conns.length).toBe(2);
    expect(keysOf(conns[0]!)).toEqual(['alt+sysrq+8']);
    expect(keysOf(conns[1]!)).toEqual(['alt+sysrq+w', 'alt+sysrq+l']);
    qmp.close();
  });

  it('closes a connection that completes after close(), and connects no more', async () => {
    const { socket, conns } = await fakeQemu();
    const qmp = new MachineQmp(socket, 'vm1');
    const attempt = qmp.connect().catch((e: unknown) => e);
    qmp.close();
    expect(await attempt).toMatchObject({ code: 'E_QMP_UNAVAILABLE', message: `vm1: no QMP connection to QEMU on ${socket}: the VM was disposed` });
    await until(() => conns.length === 1 && conns[0]!.closed);
    await expect(qmp.sysrq('w')).rejects.toMatchObject({ code: 'E_QMP_UNAVAILABLE' });
    expect(conns.length).toBe(1);
  });
});

describe('MachineQmp.dumpGuestMemory', () => {
  /** The file QEMU opens for `protocol: "file:<path>"`. */
  const fileOf = (msg: Msg) => String(msg.arguments!.protocol).replace(/^file:/, '');

  it('keeps a dump QEMU completed', async () => {
    const { socket } = await fakeQemu([], (msg, reply) => {
      if (msg.execute !== 'dump-guest-memory') return false;
      expect(msg.arguments).toMatchObject({ paging: false });
      fs.writeFileSync(fileOf(msg), '\x7fELF');
      reply({ return: {} });
      return true;
    });
    const qmp = new MachineQmp(socket, 'vm1');
    const file = path.join(tmp, 'vm1.elf');
    await qmp.dumpGuestMemory(file, 10_000);
    expect(fs.readFileSync(file, 'utf8')).toBe('\x7fELF');
    qmp.close();
  });

  it('removes the partial file of a dump QEMU failed', async () => {
    const { socket } = await fakeQemu([], (msg, reply) => {
      if (msg.execute !== 'dump-guest-memory') return false;
      fs.writeFileSync(fileOf(msg), '\x7fELF partial');
      reply({ error: { class: 'GenericError', desc: 'dump: failed to save memory: No space left on device' } });
      return true;
    });
    const qmp = new MachineQmp(socket, 'vm1');
    const file = path.join(tmp, 'vm1.elf');
    const err = await qmp.dumpGuestMemory(file, 10_000).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_VMCORE_DUMP', exitCode: 3 });
    expect((err as Error).message).toBe(
      `vm1: the memory dump to ${file} failed: QMP error: {"class":"GenericError","desc":"dump: failed to save memory: No space left on device"}`,
    );
    expect(fs.existsSync(file)).toBe(false);
    qmp.close();
  });

  it('leaves a file that was there before the dump', async () => {
    const { socket } = await fakeQemu([], (msg, reply) => {
      if (msg.execute !== 'dump-guest-memory') return false;
      reply({ error: { class: 'GenericError', desc: 'dump: failed' } });
      return true;
    });
    const qmp = new MachineQmp(socket, 'vm1');
    const file = path.join(tmp, 'kept.elf');
    fs.writeFileSync(file, 'not kt\'s');
    await expect(qmp.dumpGuestMemory(file, 10_000)).rejects.toMatchObject({ code: 'E_VMCORE_DUMP' });
    expect(fs.readFileSync(file, 'utf8')).toBe('not kt\'s');
    qmp.close();
  });

  it('on a timeout, removes the file now and again once QEMU is done with it', async () => {
    let held: { file: string; reply: (body: object) => void } | undefined;
    const { socket } = await fakeQemu([], (msg, reply) => {
      if (msg.execute !== 'dump-guest-memory') return false;
      fs.writeFileSync(fileOf(msg), '\x7fELF first part');
      held = { file: fileOf(msg), reply };
      return true;
    });
    const qmp = new MachineQmp(socket, 'vm1');
    const file = path.join(tmp, 'vm1.elf');
    // The fake never answers until told to, so this times out however fast the machine is.
    const err = await qmp.dumpGuestMemory(file, 200).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_VMCORE_DUMP', message: `vm1: the memory dump to ${file} failed: no answer within 200 ms` });
    expect(fs.existsSync(file)).toBe(false);
    // QEMU was still at it: the file comes back (QEMU opened it after the removal), then QEMU answers.
    await until(() => held !== undefined);
    fs.writeFileSync(held!.file, '\x7fELF all of it');
    held!.reply({ return: {} });
    await until(() => !fs.existsSync(file));
    qmp.close();
  });

  it('says QMP is unavailable, and creates nothing, when QEMU does not answer', async () => {
    const { socket } = await fakeQemu(['silent', 'silent']);
    const qmp = new MachineQmp(socket, 'vm1');
    const file = path.join(tmp, 'vm1.elf');
    // MachineQmp's own connect timeout (QMP_CONNECT_MS) applies; the silent server never greets.
    const err = await qmp.dumpGuestMemory(file, 10_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpUnavailableError);
    expect((err as Error).message).toBe(`vm1: no QMP connection to QEMU on ${socket}: QMP qmp_capabilities timed out after 5000 ms`);
    expect(fs.existsSync(file)).toBe(false);
    qmp.close();
  });
});
