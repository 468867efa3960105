/**
 * What kt trusts and isolates, in real TCG guests of kt's Debian image (docs/vm-trust.md):
 * the tcp transport's restricted user network, paths with commas, and the pinned host key.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleBootedMachine } from '../../src/vm/bootedMachine.js';
import { ensureFstestsImage } from '../../src/vm/fstestsImage.js';
import { fingerprint, imageHostKey, parseHostKeyLine } from '../../src/vm/hostKey.js';
import { resolveCacheDir } from '../../src/vm/image/cacheDir.js';
import { ensureImage, type GuestImage } from '../../src/vm/image/ensureImage.js';
import { prepareHost } from '../../src/vm/prepareHost.js';
import { renderQemuArgs } from '../../src/vm/qemuArgs.js';
import { QemuMachine } from '../../src/vm/qemuMachine.js';
import { resolveVmSpec } from '../../src/vm/spec.js';
import { generateSshKeyPair } from '../../src/vm/sshKeyPair.js';
import { e2eTempDir, finished, fixtureTree, KT, outcomes, qemuOf, readEvents, runIdOf, runKt, type EventLine } from './harness.js';

const BOOT_TIMEOUT_MS = 300_000;
let tree: string;
let cacheDir: string;
let image: GuestImage;
beforeAll(async () => {
  tree = await fixtureTree();
  cacheDir = resolveCacheDir(process.env);
  image = await ensureImage({ cacheDir, onProgress: (line) => process.stderr.write(`${line}\n`) });
}, 1_800_000);

/** The qemu argv of the run's first VM, as kt recorded it. */
function firstArgv(runDir: string): string[] {
  const boot = readEvents(runDir).find((e: EventLine) => e.type === 'machine-boot');
  return (boot?.argv as string[] | undefined) ?? [];
}

/**
 * The run's private temp dir (<TMPDIR>/kt-XXXXXX, holding vmN/), from the QMP socket path in
 * its argv: other kt runs on this host may have theirs at the same time.
 */
function runTempDir(argv: string[]): string {
  const qmp = argv[argv.indexOf('-qmp') + 1]!;
  const socket = /^unix:(.*),server=on,wait=off$/.exec(qmp)![1]!.replaceAll(',,', ',');
  return path.dirname(path.dirname(socket));
}

describe('--transport tcp', () => {
  it('runs two fixture tests over a restricted user network, on a forward port QEMU picked', async () => {
    const run = await runKt(['-j', '1', '--transport', 'tcp', '--fstests', tree, 'selftest/001', 'generic/001']);
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(outcomes(run.runDir)).toEqual({ 'selftest/001': 'passed', 'generic/001': 'passed' });
    const argv = firstArgv(run.runDir);
    expect(argv[argv.indexOf('-netdev') + 1]).toBe('user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:0-:22');
    expect(argv).not.toContain('virtio-serial-pci,id=vser0');
    expect(await qemuOf(runIdOf(run.runDir))).toEqual([]);
    expect(fs.existsSync(runTempDir(argv))).toBe(false);
  });
});

describe('the guest of the tcp transport', () => {
  let work: string;
  let host: net.Server;
  let hostPort: number;
  let connections = 0;
  const machines: ConsoleBootedMachine[] = [];
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-e2e-restrict-'));
    // A listener on the host's loopback: QEMU's user network maps the guest's 10.0.2.2 to it.
    host = net.createServer((sock) => {
      connections++;
      sock.destroy();
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    hostPort = (host.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await Promise.all(machines.map((m) => m.dispose()));
    await new Promise((resolve) => host.close(resolve));
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** kt's VM with the tcp transport; `unrestricted` drops restrict=on (the control). */
  async function boot(index: number, unrestricted: boolean): Promise<ConsoleBootedMachine> {
    const keys = generateSshKeyPair();
    const spec = resolveVmSpec({
      runId: 'restrict', index, accel: 'tcg', cpus: 1, memoryMiB: 1024,
      kernel: image.kernel, initramfs: image.initramfs, rootImage: image.rootImage,
      fstestsImage: await ensureFstestsImage(tree, cacheDir),
      testSizeBytes: 2 ** 30, scratchSizeBytes: 2 ** 30, extraCmdline: [],
      baseDir: work, sshKeyBlob: keys.public.split(' ')[1]!, transport: 'tcp', hungTaskTimeoutSec: 0, vmcore: false,
    });
    const common = { name: `vm${index}`, consoleLogPath: path.join(work, `vm${index}.log`), privateKey: keys.private, bootTimeoutMs: BOOT_TIMEOUT_MS, keep: false };
    const m = unrestricted
      ? new ConsoleBootedMachine({
          ...common,
          argv: renderQemuArgs(spec).map((a) => a.replace('restrict=on,', '')),
          env: { TMPDIR: spec.dir },
          cwd: spec.dir,
          endpoint: spec.transport,
          qmpSocket: spec.qmpSocket,
          hostKey: () => imageHostKey(image.rootImage),
          prepare: () => prepareHost(spec),
          failureMarkers: [],
          processLabel: 'qemu',
          timeoutMessage: 'no kt-init: ready',
          timeoutHint: '',
        })
      : new QemuMachine({ spec, ...common });
    machines.push(m);
    await m.boot(new AbortController().signal);
    return m;
  }

  /** The guest opens a TCP connection to the host's loopback port through 10.0.2.2. */
  const connectFromGuest = (port: number) =>
    `ip route get 10.0.2.2; timeout 20 bash -c 'exec 3<>/dev/tcp/10.0.2.2/${port}' && echo CONNECTED || echo REFUSED`;

  it('cannot reach the host (10.0.2.2) while ssh over the forward works', async () => {
    const m = await boot(1, false);
    expect(m.argv[m.argv.indexOf('-netdev') + 1]).toBe('user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:0-:22');
    const r = await m.exec(connectFromGuest(hostPort), { timeoutMs: 60_000 });
    // The guest has a route to 10.0.2.2 (guest/kt-init configures 10.0.2.15/24), so the
    // attempt really leaves the guest; QEMU drops it.
    expect(r.stdout).toMatch(/^10\.0\.2\.2 dev \S+ src 10\.0\.2\.15/m);
    expect(r.stdout.trim().split('\n').pop()).toBe('REFUSED');
    expect(connections).toBe(0);
    await m.dispose();
  });

  it('(control) reaches it without restrict=on, so the check above can fail', async () => {
    const m = await boot(2, true);
    expect(m.argv[m.argv.indexOf('-netdev') + 1]).toBe('user,id=net0,hostfwd=tcp:127.0.0.1:0-:22');
    const r = await m.exec(connectFromGuest(hostPort), { timeoutMs: 60_000 });
    expect(r.stdout.trim().split('\n').pop()).toBe('CONNECTED');
    expect(connections).toBe(1);
    await m.dispose();
  });
});

describe('paths with commas', () => {
  it('runs with the cache, TMPDIR and results under directories whose names hold commas', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-e2e-a,b-'));
    const cache = path.join(root, 'cache,kt');
    const tmp = path.join(root, 'tmp,dir');
    const results = path.join(root, 'results,x');
    fs.mkdirSync(cache);
    fs.mkdirSync(tmp);
    // The built image, seen through the comma path (QEMU opens it there).
    fs.symlinkSync(path.join(cacheDir, 'images'), path.join(cache, 'images'));
    try {
      const r = await execa('node', [KT, 'run', '--accel', 'tcg', '-j', '1', '--results', results, '--fstests', tree, 'selftest/001', 'generic/001'], {
        reject: false,
        env: { ...process.env, KT_CACHE_DIR: cache, TMPDIR: tmp, NO_COLOR: '1' },
        cwd: os.tmpdir(),
        stdin: 'ignore',
      });
      const run = finished(r, results);
      expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(outcomes(run.runDir)).toEqual({ 'selftest/001': 'passed', 'generic/001': 'passed' });
      const argv = firstArgv(run.runDir);
      const drives = argv.filter((_, i) => argv[i - 1] === '-drive');
      // The root disk from the run's pin of the image build, beside it (src/vm/image/pinImage.ts).
      const rootDrive = /^if=none,id=disk-kt-root,file=(.*)\/\.pin-\d+@[^/]+\/root\.img,format=raw,snapshot=on$/.exec(drives[0] ?? '');
      expect(rootDrive?.[1], drives[0]).toBe(path.join(cache, 'images').replaceAll(',', ',,'));
      // The pin was removed at the run's end (cache,kt/images is the real cache's: other pins may be there).
      expect(fs.existsSync(path.dirname(/file=(.*),format=raw/.exec(drives[0]!)![1]!.replaceAll(',,', ',')))).toBe(false);
      expect(drives.every((d) => d.includes('cache,,kt') || d.includes('tmp,,dir'))).toBe(true);
      expect(argv[argv.indexOf('-qmp') + 1]).toMatch(/^unix:.*\/tmp,,dir\/kt-\w+\/vm1\/qmp\.sock,server=on,wait=off$/);
      // The fstests image was packed into the comma cache.
      expect(fs.readdirSync(path.join(cache, 'fstests')).some((f) => f.endsWith('.img'))).toBe(true);
      expect(await qemuOf(runIdOf(run.runDir))).toEqual([]);
      expect(path.dirname(runTempDir(argv))).toBe(tmp);
      expect(fs.readdirSync(tmp)).toEqual([]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('a guest whose ssh host key is not the image\'s', () => {
  it('fails the boot with E_BOOT_HOST_KEY naming both fingerprints, and runs nothing', async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-e2e-hostkey-'));
    const dir = path.join(cache, 'images', path.basename(image.dir));
    fs.mkdirSync(dir, { recursive: true });
    for (const f of ['vmlinuz', 'initramfs.cpio.gz', 'root.img']) fs.symlinkSync(path.join(image.dir, f), path.join(dir, f));
    // The manifest of another build: a key the root image does not hold.
    const other = generateSshKeyPair('kt-guest').public;
    const manifest = JSON.parse(fs.readFileSync(path.join(image.dir, 'manifest.json'), 'utf8')) as { sshHostKey: string };
    const real = manifest.sshHostKey;
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifest, sshHostKey: other }));
    try {
      const results = e2eTempDir('results');
      const r = await execa('node', [KT, 'run', '--accel', 'tcg', '-j', '1', '--results', results, '--fstests', tree, 'selftest/001'], {
        reject: false,
        env: { ...process.env, KT_CACHE_DIR: cache, NO_COLOR: '1' },
        cwd: os.tmpdir(),
        stdin: 'ignore',
      });
      const run = finished(r, results);
      expect(run.exitCode, run.stderr).toBe(3);
      const offered = fingerprint(parseHostKeyLine(real)!);
      const expected = fingerprint(parseHostKeyLine(other)!);
      expect(run.stderr).toContain('E_BOOT_HOST_KEY');
      expect(run.stderr).toContain(
        `vm1: the guest's ssh host key ${offered} does not match the expected ${expected} (pinned from ${path.join(dir, 'manifest.json')}); not connecting`,
      );
      const events = readEvents(run.runDir);
      // The same on every boot (src/runner/supply.ts isFatalBootError): no second boot is tried.
      expect(events.filter((e) => e.type === 'machine-boot')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'machine-lost')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'machine-up')).toHaveLength(0);
      expect(outcomes(run.runDir)['selftest/001']).not.toBe('passed');
      expect(await qemuOf(runIdOf(run.runDir))).toEqual([]);
      expect(fs.existsSync(runTempDir(firstArgv(run.runDir)))).toBe(false);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});
