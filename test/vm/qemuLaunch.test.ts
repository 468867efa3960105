/**
 * QEMU itself reads kt's argv (qemu-system-x86_64, stopped with -S: nothing boots). Proves the
 * parts a golden file cannot: that QEMU opens the comma paths kt escaped as those very files,
 * and that the restricted user network's forward on port 0 gets a real port kt can read back.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { launchQemu, type QemuProcess } from '../../src/vm/launch.js';
import { prepareHost } from '../../src/vm/prepareHost.js';
import { renderQemuArgs } from '../../src/vm/qemuArgs.js';
import { QmpClient } from '../../src/vm/qmp.js';
import { resolveVmSpec, type VmOptions, type VmSpec } from '../../src/vm/spec.js';
import { hostForwardPort } from '../../src/vm/usernet.js';

const TIMEOUT = 60_000;
let tmp: string;
let running: QemuProcess[];
let clients: QmpClient[];
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-qemu-a,b-'));
  running = [];
  clients = [];
});
afterEach(async () => {
  for (const c of clients) c.close();
  await Promise.all(running.map((p) => p.kill(2_000)));
  fs.rmSync(tmp, { recursive: true, force: true });
});

function options(over: Partial<VmOptions>): VmOptions {
  const cache = path.join(tmp, 'cache,kt');
  fs.mkdirSync(cache, { recursive: true });
  for (const f of ['root.img', 'f.img']) fs.writeFileSync(path.join(cache, f), Buffer.alloc(2 ** 20));
  return {
    runId: 'launch', index: 1, accel: 'tcg', cpus: 1, memoryMiB: 128,
    kernel: '/unused', initramfs: '/unused',
    rootImage: path.join(cache, 'root.img'), fstestsImage: path.join(cache, 'f.img'),
    testSizeBytes: 2 ** 20, scratchSizeBytes: 2 ** 20, extraCmdline: [],
    baseDir: path.join(tmp, 'vms,1'), sshKeyBlob: 'AAAA', transport: 'virtio-serial',
    hungTaskTimeoutSec: 0, vmcore: false, ...over,
  };
}

/** kt's argv without the kernel (nothing boots under -S), started as kt starts QEMU. */
async function start(spec: VmSpec): Promise<QmpClient> {
  await prepareHost(spec);
  const argv = renderQemuArgs(spec);
  for (const opt of ['-kernel', '-initrd', '-append']) argv.splice(argv.indexOf(opt), 2);
  const qemu = launchQemu([...argv, '-S'], { cwd: spec.dir, env: { TMPDIR: spec.dir } });
  running.push(qemu);
  const deadline = Date.now() + TIMEOUT / 2;
  while (!fs.existsSync(spec.qmpSocket)) {
    const exited = await Promise.race([qemu.exited, new Promise((r) => setTimeout(r, 50))]);
    if (exited) throw new Error(`qemu exited: ${JSON.stringify(exited)}`);
    if (Date.now() > deadline) throw new Error(`no QMP socket at ${spec.qmpSocket}`);
  }
  const qmp = await QmpClient.connect(spec.qmpSocket, 10_000);
  clients.push(qmp);
  return qmp;
}

interface BlockInfo {
  qdev?: string;
  inserted?: { file: string; backing_file?: string };
}

describe('QEMU 7.2 and kt argv', () => {
  it('opens every disk and socket at its path when the paths hold commas', async () => {
    const spec = resolveVmSpec(options({}));
    expect(spec.dir).toContain(',');
    const qmp = await start(spec);
    // The sockets exist under their real names: QEMU read "a,,b" as "a,b".
    expect(fs.statSync(spec.qmpSocket).isSocket()).toBe(true);
    expect(spec.transport.kind === 'virtio-serial' && fs.statSync(spec.transport.socket).isSocket()).toBe(true);
    const blocks = (await qmp.execute('query-block')) as unknown as BlockInfo[];
    const opened = blocks.map((b) => b.inserted?.backing_file ?? b.inserted?.file);
    expect(opened).toEqual(spec.disks.map((d) => d.path));
    // snapshot=on disks write to an overlay in the VM's dir (TMPDIR), never to the image.
    expect(blocks[0]!.inserted!.file).toContain(`"filename": "${spec.dir}/vl.`);
  }, TIMEOUT);

  it('binds the restricted forward on a port QEMU picks, which kt reads back and can connect to', async () => {
    const spec = resolveVmSpec(options({ transport: 'tcp' }));
    const qmp = await start(spec);
    const network = await qmp.execute('human-monitor-command', { 'command-line': 'info network' });
    expect(network).toContain('net0: index=0,type=user,net=10.0.2.0,restrict=on');
    const usernet = await qmp.execute('human-monitor-command', { 'command-line': 'info usernet' });
    const port = hostForwardPort(String(usernet), 22);
    expect(port).toBeGreaterThan(0);
    // The port is QEMU's: bound and listening, so a connect succeeds.
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(port!, '127.0.0.1', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', reject);
    });
  }, TIMEOUT);
});
