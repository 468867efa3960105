/**
 * NixosMachine against fake run scripts: node programs that read the environment kt gives the
 * real run script, print console lines, and serve ssh (ssh2's Server) on the virtio-serial
 * socket path taken from QEMU_OPTS, as QEMU's chardev would.
 */
import fs from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BootError } from '../../../src/vm/bootedMachine.js';
import { fingerprint, parseHostKeyLine } from '../../../src/vm/hostKey.js';
import { NixosMachine, prepareNixosHost } from '../../../src/vm/nixos/nixosMachine.js';
import { generateSshKeyPair } from '../../../src/vm/sshKeyPair.js';
import { resolveNixosVmSpec, type NixosVmOptions } from '../../../src/vm/nixos/spec.js';

const require = createRequire(import.meta.url);
const ssh2Path = require.resolve('ssh2');

let tmp: string;
let machines: NixosMachine[];
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-nixos-vm-'));
  machines = [];
});
afterEach(async () => {
  await Promise.all(machines.map((m) => m.dispose()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Writes bin/run-kt-guest-vm (CommonJS, no package.json around it) with the given body. */
function fakeRunScript(body: string): string {
  const bin = path.join(tmp, 'vm-out', 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const script = path.join(bin, 'run-kt-guest-vm');
  fs.writeFileSync(script, `#!/usr/bin/env node\n'use strict';\n${body}\n`, { mode: 0o755 });
  return script;
}

/**
 * A guest that serves ssh with a fresh host key and prints host key lines on its console as
 * nix/guest.nix's kt-setup does: its own key ('own', cut across two writes as a serial port
 * may deliver it), none, another key, or its own and another.
 */
const sshGuest = (consoleKeys: 'own' | 'none' | 'other' | 'two') => `
const { Server, utils } = require(${JSON.stringify(ssh2Path)});
const consoleKeys = ${JSON.stringify(consoleKeys)};
const fs = require('fs');
const out = (s) => process.stdout.write(s);
for (const k of ['TMPDIR', 'USE_TMPDIR', 'NIX_DISK_IMAGE', 'QEMU_NET_OPTS']) out('env ' + k + '=' + process.env[k] + '\\n');
out('cwd=' + process.cwd() + '\\n');
// virtio-serial: the chardev's socket path; tcp: the forward's port (QEMU_NET_OPTS).
const sock = /socket,id=ktssh,path=([^,]+)/.exec(process.env.QEMU_OPTS);
const fwd = /hostfwd=tcp:127\\.0\\.0\\.1:(\\d+)-:22/.exec(process.env.QEMU_NET_OPTS);
// ssh2 strips leading zero bytes of ed25519 public keys (src/vm/sshKeyPair.ts): draw again.
const keyPair = () => {
  for (;;) {
    const k = utils.generateKeyPairSync('ed25519', { comment: 'kt-guest' });
    if (Buffer.from(k.public.split(' ')[1], 'base64').length === 51) return k;
  }
};
const hostKey = keyPair();
const otherKey = keyPair();
out('fingerprint-source own ' + hostKey.public + '\\n');
out('fingerprint-source other ' + otherKey.public + '\\n');
const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
  client.on('error', () => {});
  client.on('authentication', (ctx) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])));
  client.on('ready', () => {
    client.on('session', (accept) => {
      const session = accept();
      session.on('exec', (acc, _rej, info) => {
        const stream = acc();
        stream.write(info.command === 'uname -r' ? '6.1.0-fake\\n' : 'ran: ' + info.command + '\\n');
        stream.exit(0);
        stream.end();
      });
    });
  });
});
const announce = () => {
  out('[    0.000000] Linux version 6.1.0-fake\\n');
  const keyLine = (k) => '\\nkt-init: ssh host key ' + k.public + '\\n';
  if (consoleKeys === 'own' || consoleKeys === 'two') {
    const line = keyLine(hostKey);
    out(line.slice(0, 30));
    setTimeout(() => out(line.slice(30)), 10);
  }
  if (consoleKeys === 'other' || consoleKeys === 'two') setTimeout(() => out(keyLine(otherKey)), 15);
  // Split across writes: the machine must find the marker in its rolling window.
  setTimeout(() => out('kt-in'), 20);
  setTimeout(() => out('it: ready\\n'), 40);
};
if (sock) {
  server.listen(sock[1], announce);
} else {
  // As QEMU's user network does while sshd in the guest is not listening yet: the host side
  // is accepted, then reset. The first two connections get that; then sshd answers.
  let resets = 0;
  require('net')
    .createServer((s) => {
      if (resets++ < 2) {
        out('reset ' + resets + '\\n');
        s.resetAndDestroy();
      } else {
        server.injectSocket(s);
      }
    })
    .listen(Number(fwd[1]), '127.0.0.1', announce);
}
setInterval(() => {}, 1000);
`;

function options(script: string, over: Partial<NixosVmOptions> = {}): NixosVmOptions {
  return {
    runId: 'test',
    index: 1,
    accel: 'tcg',
    runScript: script,
    systemName: 'kt-guest',
    extraCmdline: [],
    baseDir: path.join(tmp, 'vms'),
    sshKeyBlob: 'AAAAC3NzaC1lZDI1NTE5AAAAIKtKeyBlob',
    transport: 'virtio-serial',
    hungTaskTimeoutSec: 0,
    vmcore: false,
    ...over,
  };
}

function machine(script: string, bootTimeoutMs = 20_000, over: Partial<NixosVmOptions> = {}): NixosMachine {
  const m = new NixosMachine({
    spec: resolveNixosVmSpec(options(script, over)),
    name: 'vm1',
    consoleLogPath: path.join(tmp, 'console.log'),
    privateKey: generateSshKeyPair().private,
    bootTimeoutMs,
    keep: false,
  });
  machines.push(m);
  return m;
}

describe('NixosMachine', () => {
  it('boots the run script with a private environment, connects ssh and runs commands', async () => {
    const m = machine(fakeRunScript(sshGuest('own')));
    const dir = path.join(tmp, 'vms', 'vm1');
    const { kernelRelease } = await m.boot(new AbortController().signal);
    expect(kernelRelease).toBe('6.1.0-fake');
    expect(m.argv).toEqual([path.join(tmp, 'vm-out', 'bin', 'run-kt-guest-vm')]);
    const tail = m.consoleTail(20);
    expect(tail).toContain(`env TMPDIR=${dir}\n`);
    expect(tail).toContain('env USE_TMPDIR=1\n');
    expect(tail).toContain(`env NIX_DISK_IMAGE=${dir}/root.qcow2\n`);
    expect(tail).toContain(`cwd=${fs.realpathSync(dir)}\n`);
    expect((await m.exec('echo hi')).stdout).toBe('ran: echo hi\n');

    await m.dispose();
    await m.exited;
    expect(fs.existsSync(dir)).toBe(false);
    expect(fs.readFileSync(path.join(tmp, 'console.log'), 'utf8')).toContain('kt-init: ready');
    await m.dispose(); // idempotent
  });

  /** The .pub lines the fake guest printed for the test's eyes ("fingerprint-source own|other"). */
  function printedKeys(m: NixosMachine): { own: string; other: string } {
    const tail = m.consoleTail(50);
    const key = (which: string) => new RegExp(`^fingerprint-source ${which} (.*)$`, 'm').exec(tail)![1]!;
    return { own: key('own'), other: key('other') };
  }
  const fp = (pub: string) => fingerprint(parseHostKeyLine(pub)!);

  it('refuses a guest whose ssh host key is not the one it printed on the console', async () => {
    const m = machine(fakeRunScript(sshGuest('other')));
    const err = await m.boot(new AbortController().signal).catch((e: unknown) => e);
    const keys = printedKeys(m);
    expect(err).toBeInstanceOf(BootError);
    expect(err, String(err)).toMatchObject({ code: 'E_BOOT_HOST_KEY' });
    expect((err as Error).message.split('\n--- last console lines ---\n')[0]).toBe(
      `vm1: the guest's ssh host key ${fp(keys.own)} does not match the expected ${fp(keys.other)} ` +
        '(printed by the guest on its console); not connecting',
    );
    await expect(m.exec('true')).rejects.toThrow('vm1 is not booted');
  });

  it('refuses a guest that printed no host key, and one that printed two', async () => {
    const none = machine(fakeRunScript(sshGuest('none')));
    const noneErr = await none.boot(new AbortController().signal).catch((e: unknown) => e);
    expect(noneErr, String(noneErr)).toMatchObject({ code: 'E_BOOT_HOST_KEY_UNKNOWN' });
    expect((noneErr as Error).message.split('\n')[0]).toBe(
      'vm1: the guest did not print its ssh host key on the console before "kt-init: ready"; kt cannot verify it',
    );
    const two = machine(fakeRunScript(sshGuest('two')));
    const twoErr = await two.boot(new AbortController().signal).catch((e: unknown) => e);
    expect(twoErr, String(twoErr)).toMatchObject({ code: 'E_BOOT_HOST_KEY' });
    expect((twoErr as Error).message.split('\n')[0]).toBe('vm1: the guest printed 2 different ssh host keys on its console; not connecting');
  });

  it('over tcp, tries ssh again while the forward resets connections before sshd listens', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(p));
      });
    });
    const m = machine(fakeRunScript(sshGuest('own')), 20_000, { transport: 'tcp', tcpPort: port });
    const { kernelRelease } = await m.boot(new AbortController().signal);
    expect(kernelRelease).toBe('6.1.0-fake');
    expect(m.consoleTail(5)).toMatch(/^reset 1\nreset 2$/m);
    expect((await m.exec('echo hi')).stdout).toBe('ran: echo hi\n');
  });

  it('fails fast when NixOS stage 1 cannot mount the root file system', async () => {
    const m = machine(
      fakeRunScript(`process.stdout.write('An error occurred in stage 1 of the boot process, which must mount\\n'); setInterval(() => {}, 1000);`),
    );
    await expect(m.boot(new AbortController().signal)).rejects.toMatchObject({
      code: 'E_BOOT_STAGE1',
      message: expect.stringContaining('--- last console lines ---\nAn error occurred in stage 1'),
    });
  });

  it('reports the run script exiting during boot with its stderr', async () => {
    const m = machine(fakeRunScript(`process.stderr.write('qemu: could not open disk image\\n'); process.exit(1);`));
    await expect(m.boot(new AbortController().signal)).rejects.toMatchObject({
      code: 'E_BOOT_QEMU_EXIT',
      message: expect.stringContaining('the NixOS run script run-kt-guest-vm exited during boot (status 1): qemu: could not open disk image'),
    });
    expect((await m.exited).exitCode).toBe(1);
  });

  it('times out with a hint about the drivers a replacement kernel needs', async () => {
    const m = machine(fakeRunScript(`setInterval(() => {}, 1000);`), 500, { kernel: '/boot/vmlinuz-test' });
    await expect(m.boot(new AbortController().signal)).rejects.toMatchObject({
      code: 'E_BOOT_TIMEOUT',
      hint: expect.stringContaining('virtio_console'),
    });
  });

  it('rejects commands before boot', async () => {
    const m = machine(fakeRunScript(''));
    await expect(m.exec('true')).rejects.toThrow('vm1 is not booted');
  });
});

describe('prepareNixosHost', () => {
  it('removes disks and sockets a previous run script left, keeps other files, and disposes the dir', async () => {
    const spec = resolveNixosVmSpec(options('/x/run-kt-guest-vm'));
    fs.mkdirSync(spec.dir, { recursive: true });
    for (const f of ['root.qcow2', 'empty0.qcow2', 'empty12.qcow2', 'ssh.sock', 'notes.txt']) {
      fs.writeFileSync(path.join(spec.dir, f), '');
    }
    const host = await prepareNixosHost(spec);
    expect(fs.readdirSync(spec.dir)).toEqual(['notes.txt']);
    await host.dispose();
    expect(fs.existsSync(spec.dir)).toBe(false);
  });
});
