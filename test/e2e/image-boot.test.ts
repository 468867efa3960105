// Proof that the guest image works: builds (or reuses) the cached image, boots it under TCG
// with the host contract of src/vm/qemuArgs.ts, and drives it over ssh on the virtio-serial
// port. Needs root, mmdebstrap, qemu-system-x86_64 and the Debian mirror for the first build.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCacheDir } from '../../src/vm/image/cacheDir.js';
import { ensureImage, type GuestImage } from '../../src/vm/image/ensureImage.js';
import { bootKernelFor, IMAGE_VMLINUX } from '../../src/vm/pvh/pvhKernel.js';
import { parseHostKeyLine } from '../../src/vm/hostKey.js';
import { generateSshKeyPair } from '../../src/vm/sshKeyPair.js';

const BOOT_TIMEOUT_MS = 180_000;

let image: GuestImage;
let work: string;
const running = new Set<ResultPromise>();

function qemu(args: string[]): ResultPromise {
  const sub = execa('qemu-system-x86_64', args, {
    reject: false,
    timeout: BOOT_TIMEOUT_MS,
    forceKillAfterDelay: 2_000,
    stdin: 'ignore',
  });
  running.add(sub);
  void sub.finally(() => running.delete(sub));
  return sub;
}

function baseArgs(append: string): string[] {
  return [
    '-accel', 'tcg',
    '-machine', 'q35',
    '-m', '2G',
    '-smp', '2',
    '-nodefaults',
    '-display', 'none',
    '-no-reboot',
    '-kernel', image.kernel,
    '-initrd', image.initramfs,
    '-append', `console=ttyS0,115200 rdinit=/init panic=-1 ${append}`,
  ];
}

/** Polls the console file until a line appears; rejects if qemu exits first. */
async function waitForLine(file: string, line: string, vm: ResultPromise): Promise<void> {
  let exited = false;
  void vm.finally(() => (exited = true));
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (text.split(/\r?\n/).includes(line)) return;
    if (exited) throw new Error(`qemu exited before "${line}"; console:\n${text.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no "${line}" within ${BOOT_TIMEOUT_MS} ms`);
}

function sshExec(socket: string, privateKey: string, command: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client
      .on('ready', () => {
        client.exec(command, (err, stream) => {
          if (err) return reject(err);
          let out = '';
          stream.on('data', (d: Buffer) => (out += d.toString()));
          stream.stderr.on('data', (d: Buffer) => (out += d.toString()));
          stream.on('close', (code: number) => {
            client.end();
            resolve({ code, out });
          });
        });
      })
      .on('error', reject)
      .connect({
        sock: net.connect(socket), username: 'root', privateKey, readyTimeout: 60_000,
        // The image's one host key (manifest.json): the guest serves the key the host pins.
        hostVerifier: (key: Buffer) => parseHostKeyLine(image.sshHostKey)?.equals(key) === true,
      });
  });
}

describe('kt guest image', () => {
  beforeAll(async () => {
    image = await ensureImage({
      cacheDir: resolveCacheDir(process.env),
      onProgress: (line) => process.stderr.write(`${line}\n`),
    });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-image-boot-'));
  });

  afterAll(async () => {
    for (const vm of running) vm.kill('SIGKILL');
    await Promise.allSettled([...running]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('answers kt.probe=1 with KT-PROBE-OK and powers off', async () => {
    const consoleLog = path.join(work, 'probe.log');
    const started = Date.now();
    const vm = qemu([...baseArgs('kt.probe=1'), '-serial', `file:${consoleLog}`]);
    const result = await vm;
    process.stderr.write(`probe: qemu ran ${Date.now() - started} ms\n`);
    expect(result.exitCode).toBe(0);
    expect(fs.readFileSync(consoleLog, 'utf8')).toMatch(/^KT-PROBE-OK\r?$/m);
  });

  it('keeps the kernel uncompressed for the PVH entry, and QEMU boots kt\'s guest by it', async () => {
    const boot = bootKernelFor(image.kernel, path.join(image.dir, IMAGE_VMLINUX));
    expect(boot).toEqual({ path: path.join(image.dir, 'vmlinux'), entry: 'pvh' });
    const manifest = JSON.parse(fs.readFileSync(path.join(image.dir, 'manifest.json'), 'utf8')) as { sizes: { vmlinux?: number } };
    expect(manifest.sizes.vmlinux).toBe(fs.statSync(boot.path).size);
    const consoleLog = path.join(work, 'probe-pvh.log');
    const args = baseArgs('kt.probe=1');
    args[args.indexOf(image.kernel)] = boot.path;
    const result = await qemu([...args, '-serial', `file:${consoleLog}`]);
    expect(result.exitCode).toBe(0);
    expect(fs.readFileSync(consoleLog, 'utf8')).toMatch(/^KT-PROBE-OK\r?$/m);
  });

  it('says how to get the vmlinux of an image built without one, and takes none of another size', () => {
    const dir = path.join(work, 'image-copy');
    fs.mkdirSync(dir);
    const vmlinuz = path.join(dir, 'vmlinuz');
    const elf = path.join(dir, 'vmlinux');
    fs.copyFileSync(image.kernel, vmlinuz);
    expect(bootKernelFor(vmlinuz, elf)).toEqual({
      path: vmlinuz,
      entry: 'bzImage',
      why: 'the image has no vmlinux to boot by the PVH entry (was lz4 missing when it was built?): apt-get install lz4, then kt image build --rebuild',
    });
    fs.writeFileSync(elf, fs.readFileSync(path.join(image.dir, 'vmlinux')).subarray(0, 4096));
    expect(bootKernelFor(vmlinuz, elf)).toEqual({ path: vmlinuz, entry: 'bzImage', why: `${elf} is not the kernel in ${vmlinuz} (its size differs from the payload's): rebuild the image (kt image build --rebuild)` });
  });

  it("takes a relocatable kernel's vmlinux.bin with its vmlinux.relocs, as a tree of Debian's config has them", () => {
    // Debian's kernel is relocatable (CONFIG_RANDOMIZE_BASE): the image's vmlinux is the whole
    // payload, the stripped ELF and the relocations make appended to it. Split as make left them.
    const whole = fs.readFileSync(path.join(image.dir, 'vmlinux'));
    const elfEnd = Number(whole.readBigUInt64LE(0x28)) + whole.readUInt16LE(0x3a) * whole.readUInt16LE(0x3c);
    expect(elfEnd).toBeLessThan(whole.length);
    const boot = path.join(work, 'relocatable/arch/x86/boot');
    fs.mkdirSync(path.join(boot, 'compressed'), { recursive: true });
    const bzImage = path.join(boot, 'bzImage');
    const elf = path.join(boot, 'compressed/vmlinux.bin');
    const relocs = path.join(boot, 'compressed/vmlinux.relocs');
    fs.copyFileSync(image.kernel, bzImage);
    fs.writeFileSync(elf, whole.subarray(0, elfEnd));
    fs.writeFileSync(relocs, whole.subarray(elfEnd));
    const made = fs.statSync(bzImage).mtimeMs;
    const before = new Date(made - 60_000);
    fs.utimesSync(elf, before, before);
    fs.utimesSync(relocs, before, before);
    expect(bootKernelFor(bzImage)).toEqual({ path: elf, entry: 'pvh' });
    // The relocations of a build that has not made its bzImage yet.
    const after = new Date(made + 60_000);
    fs.utimesSync(relocs, after, after);
    expect(bootKernelFor(bzImage)).toMatchObject({ path: bzImage, entry: 'bzImage', why: expect.stringContaining('(it is newer than the bzImage)') });
  });

  it('boots to "kt-init: ready" and runs commands over ssh on the virtio-serial port', async () => {
    const { private: privateKey, public: publicKey } = generateSshKeyPair();
    // "ssh-ed25519 <blob> comment" → the blob the cmdline carries.
    const blob = publicKey.split(' ')[1];
    const testImg = path.join(work, 'test.img');
    fs.writeFileSync(testImg, '');
    fs.truncateSync(testImg, 2 * 2 ** 30);
    const consoleLog = path.join(work, 'console.log');
    const socket = path.join(work, 'ssh.sock');

    const rootMtime = fs.statSync(image.rootImage).mtimeMs;
    const started = Date.now();
    const vm = qemu([
      ...baseArgs(`kt.sshkey=${blob} kt.hostname=kt-e2e`),
      '-drive', `if=none,id=root,file=${image.rootImage},format=raw,snapshot=on`,
      '-device', 'virtio-blk-pci,drive=root,serial=kt-root',
      '-drive', `if=none,id=test,file=${testImg},format=raw,cache=unsafe`,
      '-device', 'virtio-blk-pci,drive=test,serial=test',
      '-device', 'virtio-serial-pci',
      '-chardev', `socket,id=ssh,path=${socket},server=on,wait=off`,
      '-device', 'virtserialport,chardev=ssh,name=kt.ssh',
      '-serial', `file:${consoleLog}`,
    ]);
    await waitForLine(consoleLog, 'kt-init: ready', vm);
    process.stderr.write(`boot: qemu start → kt-init: ready in ${Date.now() - started} ms\n`);

    const { code, out } = await sshExec(
      socket,
      privateKey,
      [
        'set -e',
        'uname -r',
        'hostname',
        'mkfs.xfs -q -f /dev/disk/by-id/virtio-test',
        'mount /dev/disk/by-id/virtio-test /mnt/test',
        'findmnt -n -o FSTYPE /mnt/test',
        'ls /dev/disk/by-id',
        // bash process substitution needs /dev/fd (docs/fstests.md §9)
        'bash -c "cat <(echo procsub-ok)"',
        'id -u fsgqa >/dev/null && id -u fsgqa2 >/dev/null && id -u 123456-fsgqa >/dev/null && echo users-ok',
        // sshd ran this in root's login shell, dash (customize-hook.sh).
        'echo "login-shell $(readlink /proc/$$/exe) $0"',
        // guest/init pages these in during the boot: sshd and its libraries, each path real.
        'grep -qx usr/sbin/sshd /etc/kt-prefetch && grep -q "libcrypto" /etc/kt-prefetch && (cd / && for f in $(cat /etc/kt-prefetch); do [ -f "$f" ] || echo "prefetch: no $f"; done) && echo prefetch-ok',
      ].join('\n'),
    );
    expect(code, out).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe(image.kernelRelease);
    expect(lines[1]).toBe('kt-e2e');
    expect(lines).toContain('xfs');
    expect(lines).toEqual(expect.arrayContaining(['virtio-kt-root', 'virtio-test', 'procsub-ok', 'users-ok', 'prefetch-ok']));
    expect(lines.filter((l) => l.startsWith('prefetch: '))).toEqual([]);
    expect(lines).toContain('login-shell /usr/bin/dash dash');

    vm.kill('SIGKILL');
    await vm;
    // Guest writes went to qemu's throw-away overlay (snapshot=on), never into the cache.
    expect(fs.statSync(image.rootImage).mtimeMs).toBe(rootMtime);
  });
});
