import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BootError, QemuMachine } from '../../src/vm/qemuMachine.js';
import { resolveVmSpec } from '../../src/vm/spec.js';

let tmp: string;
beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-qemu-machine-'))));
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('QemuMachine', () => {
  it('will not start QEMU for a root image whose manifest records no host key', async () => {
    const image = path.join(tmp, 'images', 'h');
    fs.mkdirSync(image, { recursive: true });
    const spec = resolveVmSpec({
      runId: 't', index: 1, accel: 'tcg', cpus: 1, memoryMiB: 128,
      kernel: path.join(image, 'vmlinuz'), initramfs: path.join(image, 'initramfs.cpio.gz'), rootImage: path.join(image, 'root.img'),
      fstestsImage: path.join(tmp, 'f.img'), testSizeBytes: 2 ** 20, scratchSizeBytes: 2 ** 20, extraCmdline: [],
      baseDir: path.join(tmp, 'vms'), sshKeyBlob: 'AAAA', transport: 'virtio-serial', hungTaskTimeoutSec: 0, vmcore: false,
    });
    const m = new QemuMachine({ spec, name: 'vm1', consoleLogPath: path.join(tmp, 'console.log'), privateKey: '', bootTimeoutMs: 10_000, keep: false });
    const err = await m.boot(new AbortController().signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BootError);
    expect(err).toMatchObject({ code: 'E_BOOT_HOST_KEY_UNKNOWN', hint: 'rebuild the guest image (kt image build --rebuild); its manifest records the key' });
    expect((err as Error).message).toBe(
      `vm1: no valid sshHostKey in ${path.join(image, 'manifest.json')}: cannot verify the guest of ${path.join(image, 'root.img')}`,
    );
    // Nothing was prepared or started.
    expect(fs.existsSync(spec.dir)).toBe(false);
    await m.dispose();
  });
});
