/**
 * nix/kt-disk-name.sh, the udev PROGRAM that gives the serial-less empty disks of qemu-vm.nix
 * their /dev/disk/by-id/virtio-<name> links, run against a fake /sys/block.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../nix/kt-disk-name.sh', import.meta.url));

let sys: string;
beforeEach(() => {
  sys = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-sysblock-'));
});
afterEach(() => fs.rmSync(sys, { recursive: true, force: true }));

/** serial undefined = no serial attribute at all (old kernels). */
function disk(name: string, dev: string, serial?: string): void {
  fs.mkdirSync(path.join(sys, name));
  fs.writeFileSync(path.join(sys, name, 'dev'), `${dev}\n`);
  if (serial !== undefined) fs.writeFileSync(path.join(sys, name, 'serial'), serial ? `${serial}\n` : '');
}

function nameOf(kernelName: string, env: Record<string, string> = {}): string | undefined {
  const r = spawnSync('bash', [SCRIPT, kernelName], {
    env: { KT_SYS_BLOCK: sys, KT_DISK_NAMES: 'test scratch', KT_DISK_SKIP: '0', ...env },
    encoding: 'utf8',
  });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

describe('kt-disk-name.sh', () => {
  it('names the serial-less disks in order and leaves disks with a serial alone', () => {
    disk('vda', '254:0', 'root');
    disk('vdb', '254:16', '');
    disk('vdc', '254:32');
    disk('vdd', '254:48', '');
    expect(nameOf('vda', { KT_ROOT_DEV: '254:0' })).toBeUndefined();
    expect(nameOf('vdb', { KT_ROOT_DEV: '254:0' })).toBe('test');
    expect(nameOf('vdc', { KT_ROOT_DEV: '254:0' })).toBe('scratch');
    // More empty disks than names: no link.
    expect(nameOf('vdd')).toBeUndefined();
  });

  it('never names the disk holding /, even without a serial (older qemu-vm.nix)', () => {
    disk('vda', '254:0', '');
    disk('vdb', '254:16', '');
    expect(nameOf('vda', { KT_ROOT_DEV: '254:0' })).toBeUndefined();
    expect(nameOf('vdb', { KT_ROOT_DEV: '254:0' })).toBe('test');
  });

  it('skips the Nix store image that precedes the empty disks', () => {
    disk('vda', '254:0', 'root');
    disk('vdb', '254:16', '');
    disk('vdc', '254:32', '');
    expect(nameOf('vdb', { KT_DISK_SKIP: '1' })).toBeUndefined();
    expect(nameOf('vdc', { KT_DISK_SKIP: '1' })).toBe('test');
  });

  it('exits 1 when there are no virtio disks at all', () => {
    expect(nameOf('vdb')).toBeUndefined();
  });
});
