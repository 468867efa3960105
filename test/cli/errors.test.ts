/**
 * Bad input gets a clear error that names the input and the fix (issue #2), asserted exactly
 * as a user reads it, from the real CLI (dist/, built by `npm test`). None of these boots.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const KT = fileURL('../../bin/kt.js');
function fileURL(rel: string): string {
  return new URL(rel, import.meta.url).pathname;
}

let tree: string;
let unbuilt: string;
let tmp: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-cli-'));
  unbuilt = path.join(tmp, 'unbuilt');
  fs.cpSync(fileURL('../fixtures/fstests'), unbuilt, { recursive: true });
  tree = path.join(tmp, 'built');
  fs.cpSync(fileURL('../fixtures/fstests'), tree, { recursive: true });
  await execa('make', ['-s', '-C', tree]);
  return () => fs.rmSync(tmp, { recursive: true, force: true });
});

async function kt(args: string[], env: Record<string, string> = {}) {
  const r = await execa('node', [KT, ...args], {
    reject: false,
    cwd: tmp,
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  return { code: r.exitCode, err: r.stderr, out: r.stdout };
}

describe('kt run: usage errors exit 2 with the input and a hint', () => {
  it('a missing kernel file', async () => {
    const r = await kt(['run', '--fstests', tree, '--kernel', 'nope/bzImage', 'selftest/001']);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'kt: error E_KERNEL_MISSING: kernel file nope/bzImage does not exist\n' +
        '  hint: give a bzImage to --kernel (e.g. arch/x86/boot/bzImage after make), or leave it out to boot the image kernel',
    );
  });

  it('a bad -j', async () => {
    const r = await kt(['run', '--fstests', tree, '-j', '0', 'selftest/001']);
    expect(r.code).toBe(2);
    expect(r.err).toBe('kt: error E_BAD_JOBS: -j 0 is not a number of VMs\n  hint: give a whole number from 1 to 256, e.g. -j 4');
  });

  it('an unknown group', async () => {
    const r = await kt(['run', '--fstests', tree, '-g', 'quik']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kt: error E_UNKNOWN_GROUP: unknown group "quik" for FSTYP=xfs/);
    expect(r.err).toContain('quick');
  });

  it('an unknown test', async () => {
    const r = await kt(['run', '--fstests', tree, 'generic/999']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kt: error E_UNKNOWN_TEST: .*generic\/999/);
  });

  it('an fstests tree that was never built', async () => {
    const r = await kt(['run', '--fstests', unbuilt, '-g', 'quick']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kt: error E_FSTESTS_NOT_BUILT: the fstests tree in .*unbuilt is not built/);
    expect(r.err).toContain(`hint: run make in ${unbuilt}`);
  });

  it('a directory that is not an fstests tree', async () => {
    const r = await kt(['run', '--fstests', tmp, '-g', 'quick']);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `kt: error E_FSTESTS_NOT_FOUND: ${tmp} is not an fstests tree (no check script in ${tmp})\n` +
        '  hint: pass --fstests with the top directory of an xfstests-dev checkout',
    );
  });

  // /proc refuses new entries with ENOENT; Node's recursive mkdir used to spin on it forever.
  it('an unwritable results directory', async () => {
    const r = await kt(['run', '--fstests', tree, '--results', '/proc/kt-results', 'selftest/001']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kt: error E_RESULTS_UNWRITABLE: results directory \/proc\/kt-results is not writable \(E\w+\)/);
  });

  it('a bad --accel, --shard and size', async () => {
    expect((await kt(['run', '--fstests', tree, '--accel', 'hvf'])).err).toContain('E_BAD_ACCEL: --accel hvf is not one of auto, kvm, tcg');
    expect((await kt(['run', '--fstests', tree, '--shard', '3/2'])).err).toContain('E_BAD_SHARD: --shard 3/2 is not of the form i/n');
    expect((await kt(['run', '--fstests', tree, '--test-size', 'big'])).err).toContain('E_BAD_SIZE: --test-size "big" is not a size');
  });

  it('an unknown flag', async () => {
    const r = await kt(['run', '--fstests', tree, '--jobz', '2']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('Unknown argument: jobz');
  });
});

describe('kt run: host errors exit 3', () => {
  it('no qemu on PATH', async () => {
    // A PATH with node and nothing else.
    const bin = path.join(tmp, 'bin-node-only');
    fs.mkdirSync(bin, { recursive: true });
    if (!fs.existsSync(path.join(bin, 'node'))) fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const r = await kt(['run', '--fstests', tree, 'selftest/001'], { PATH: bin });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/^kt: error E_QEMU_MISSING: qemu-system-x86_64 was not found on PATH/);
    expect(r.err).toContain('apt-get install qemu-system-x86');
  });
});

describe('kt run --dry-run', () => {
  it('prints the plan and a qemu command line per VM without booting', async () => {
    const r = await kt(['run', '--dry-run', '--fstests', tree, '-j', '2', '--accel', 'tcg', '-g', 'quick', '-x', 'mount']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('kt: plan: 3 tests, 0 excluded, on 2 VM(s), suite xfs (FSTYP=xfs)');
    expect(r.out).toMatch(/^ {2}generic\/001$/m);
    expect(r.out).not.toMatch(/generic\/002/);
    expect(r.out).toMatch(/^kt: vm1: qemu-system-x86_64 -name kt-DRYRUN-vm1 .*-accel tcg,thread=multi/m);
    expect(r.out).toMatch(/^kt: vm2: qemu-system-x86_64 -name kt-DRYRUN-vm2 /m);
  });

  it('applies --shard as a pure split of the plan', async () => {
    const a = await kt(['run', '--dry-run', '--fstests', tree, '-g', 'auto', '--shard', '1/2']);
    const b = await kt(['run', '--dry-run', '--fstests', tree, '-g', 'auto', '--shard', '2/2']);
    const tests = (o: string) => o.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim());
    expect([...tests(a.out), ...tests(b.out)].sort()).toEqual(['generic/001', 'generic/002', 'generic/003', 'generic/004', 'xfs/001']);
  });
});

describe('kt run --backend nixos', () => {
  it('needs --nixos-vm', async () => {
    const r = await kt(['run', '--fstests', tree, '--backend', 'nixos', 'selftest/001']);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'kt: error E_NIXOS_VM_REQUIRED: --backend nixos needs --nixos-vm\n' +
        '  hint: build the VM with `nix build ./nix#vm` and pass --nixos-vm ./result',
    );
  });

  it('prints the run script environment per VM in a dry run', async () => {
    // The shape of `nix build ./nix#vm`'s output: result/bin/run-<system.name>-vm.
    const result = path.join(tmp, 'result');
    fs.mkdirSync(path.join(result, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(result, 'bin/run-kt-guest-vm'), '#!/bin/sh\n', { mode: 0o755 });
    const r = await kt(['run', '--dry-run', '--fstests', tree, '--backend', 'nixos', '--nixos-vm', result, '--kernel', KT, 'selftest/001']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^kt: vm1: env .*NIXPKGS_QEMU_KERNEL_kt_guest=.*\/bin\/run-kt-guest-vm$/m);
    expect(r.out).toContain('NIX_DISK_IMAGE=');
  });
});
