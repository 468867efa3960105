/**
 * Bad input gets a clear error that names the input and the fix, asserted exactly as a user
 * reads it, from the real CLI (dist/, built by `npm test`), with exit 2 and nothing a user had
 * changed. None of these boots a VM. Every case spawns node: CLI_TIMEOUT_MS keeps a busy
 * machine from failing them.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_TIMEOUT_MS, kt as ktIn, expectUsageIn } from './helpers.js';

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
  // The checkout's own fixture tree may have been built (the README's first command does): unbuild the copy.
  await execa('make', ['-s', '-C', unbuilt, 'clean']);
  tree = path.join(tmp, 'built');
  fs.cpSync(fileURL('../fixtures/fstests'), tree, { recursive: true });
  await execa('make', ['-s', '-C', tree]);
  fs.writeFileSync(path.join(tmp, 'empty.img'), '');
  fs.writeFileSync(path.join(tmp, 'text.img'), 'this is not a kernel\n'.repeat(100));
  fs.mkdirSync(path.join(tmp, 'a-dir'));
}, 300_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const kt = (args: string[], env: Record<string, string> = {}) => ktIn(args, { cwd: tmp, env });

const expectUsage = (args: string[], stderr: string): Promise<void> => expectUsageIn(tmp, args, stderr);

describe('kt run: usage errors exit 2 with the input and a hint', () => {
  it('a missing kernel file', async () => {
    await expectUsage(
      ['run', '--fstests', tree, '--kernel', 'nope/bzImage', 'selftest/001'],
      'kt: error E_KERNEL_MISSING: kernel file nope/bzImage does not exist\n' +
        '  hint: give a bzImage to --kernel (e.g. arch/x86/boot/bzImage after make), or leave it out to boot the image kernel',
    );
  }, CLI_TIMEOUT_MS);

  it('a --kernel that is a directory, a device, an empty file or text (also in a dry run)', async () => {
    await expectUsage(
      ['run', '--dry-run', '--fstests', tree, '--kernel', 'a-dir', 'selftest/001'],
      'kt: error E_KERNEL_NOT_FILE: --kernel a-dir is a directory, not a kernel image\n' +
        '  hint: give a bzImage to --kernel (e.g. arch/x86/boot/bzImage after make), or leave it out to boot the image kernel; in a kernel tree that is arch/x86/boot/bzImage',
    );
    await expectUsage(
      ['run', '--dry-run', '--fstests', tree, '--kernel', '/dev/null', 'selftest/001'],
      'kt: error E_KERNEL_NOT_FILE: --kernel /dev/null is not a regular file\n' +
        '  hint: give a bzImage to --kernel (e.g. arch/x86/boot/bzImage after make), or leave it out to boot the image kernel',
    );
    await expectUsage(
      ['run', '--dry-run', '--fstests', tree, '--kernel', 'empty.img', 'selftest/001'],
      'kt: error E_KERNEL_NOT_BZIMAGE: kernel file empty.img is empty\n' +
        '  hint: give a bzImage to --kernel (e.g. arch/x86/boot/bzImage after make), or leave it out to boot the image kernel (did the build finish?)',
    );
    await expectUsage(
      ['run', '--dry-run', '--fstests', tree, '--kernel', 'text.img', 'selftest/001'],
      'kt: error E_KERNEL_NOT_BZIMAGE: kernel file text.img is not an x86 bzImage (no "HdrS" boot header at 0x202)\n' +
        '  hint: give a bzImage to --kernel (e.g. arch/x86/boot/bzImage after make), or leave it out to boot the image kernel',
    );
  }, CLI_TIMEOUT_MS);

  it('-j and other numbers as typed, with their range', async () => {
    await expectUsage(['run', '--fstests', tree, '-j', '0', 'selftest/001'], 'kt: error E_BAD_JOBS: -j 0 is not a whole number from 1 to 256\n  hint: give a whole number from 1 to 256, e.g. -j 4, or -j auto');
    await expectUsage(['run', '--fstests', tree, '-j', 'abc', 'selftest/001'], 'kt: error E_BAD_JOBS: -j abc is not a whole number from 1 to 256\n  hint: give a whole number from 1 to 256, e.g. -j 4, or -j auto');
    await expectUsage(['run', '--fstests', tree, '--memory', '1.5', 'selftest/001'], 'kt: error E_BAD_NUMBER: --memory 1.5 is not a whole number from 128 to 1048576\n  hint: give MiB per VM, e.g. --memory 4096');
    await expectUsage(
      ['run', '--fstests', tree, '--test-timeout', '1e10', 'selftest/001'],
      'kt: error E_BAD_TIMEOUT: --test-timeout 1e10 is not a number of seconds above 0 and at most 2147483 (Node timers hold at most 24.8 days)\n  hint: give e.g. --test-timeout 600',
    );
  }, CLI_TIMEOUT_MS);

  it('a negative or absurd size (also in a dry run)', async () => {
    await expectUsage(['run', '--dry-run', '--fstests', tree, '--scratch-size', '-5G', 'selftest/001'], 'kt: error E_BAD_SIZE: --scratch-size "-5G" is not a size\n  hint: write it like 5G, 512M or 10737418240');
    await expectUsage(
      ['run', '--dry-run', '--fstests', tree, '--test-size', '99999T', 'selftest/001'],
      'kt: error E_BAD_SIZE: --test-size "99999T" is larger than 16T\n  hint: the sparse device images cannot exceed 16T (ext4 host files); 5G to 100G is usual',
    );
  }, CLI_TIMEOUT_MS);

  it('a single-value flag given twice', async () => {
    await expectUsage(['run', '--fstests', 'a', '--fstests', 'b', 'selftest/001'], 'kt: error E_FLAG_REPEATED: --fstests was given 2 times (a, b)\n  hint: give --fstests once');
    for (const flag of ['--kernel', '--suite', '--test-size']) {
      await expectUsage(['run', '--fstests', tree, flag, 'a', flag, 'b', 'selftest/001'], `kt: error E_FLAG_REPEATED: ${flag} was given 2 times (a, b)\n  hint: give ${flag} once`);
    }
  }, CLI_TIMEOUT_MS);

  it('-g without a group, or an empty one, is not the auto group', async () => {
    await expectUsage(['run', '--fstests', tree, '-g'], 'kt: error E_EMPTY_VALUE: -g was given without a group\n  hint: give a group, e.g. -g quick');
    await expectUsage(['run', '--fstests', tree, '-g', ''], 'kt: error E_EMPTY_VALUE: -g was given without a group\n  hint: give a group, e.g. -g quick');
  }, CLI_TIMEOUT_MS);

  it('-E naming a directory or a device', async () => {
    await expectUsage(
      ['run', '--fstests', tree, '-E', 'a-dir', 'selftest/001'],
      'kt: error E_EXCLUDE_FILE_NOT_A_FILE: exclude file a-dir is a directory\n  hint: give -E a file listing one test per line (fstests -E format)',
    );
    await expectUsage(
      ['run', '--fstests', tree, '-E', '/dev/null', 'selftest/001'],
      'kt: error E_EXCLUDE_FILE_NOT_A_FILE: exclude file /dev/null is not a regular file\n  hint: give -E a file listing one test per line (fstests -E format)',
    );
  }, CLI_TIMEOUT_MS);

  it('--config naming a directory, and config-file values reported under the file and key', async () => {
    await expectUsage(['run', '--fstests', tree, '--config', 'a-dir', 'selftest/001'], 'kt: error E_CONFIG_NOT_A_FILE: config file a-dir is a directory\n  hint: give an existing YAML file to --config, or drop the flag');
    const cfg = path.join(tmp, 'bad-size.yaml');
    fs.writeFileSync(cfg, `fstests: ${tree}\ntestSize: big\n`);
    try {
      await expectUsage(['run', '--config', 'bad-size.yaml', 'selftest/001'], 'kt: error E_BAD_SIZE: bad-size.yaml: testSize "big" is not a size\n  hint: write it like 5G, 512M or 10737418240');
      fs.writeFileSync(cfg, `fstests: ${tree}\n\njobs: 0\n`);
      await expectUsage(['run', '--config', 'bad-size.yaml', 'selftest/001'], 'kt: error E_CONFIG_INVALID: bad-size.yaml:3: jobs: Too small: expected number to be >0\n  hint: see the "config file" section of kt\'s README for the allowed keys');
      fs.writeFileSync(cfg, `fstests: ${tree}\njobs: [1\n`);
      const r = await kt(['run', '--config', 'bad-size.yaml', 'selftest/001']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^kt: error E_CONFIG_UNREADABLE: bad-size.yaml:\d+: not valid YAML: /);
    } finally {
      fs.rmSync(cfg);
    }
  }, CLI_TIMEOUT_MS);

  it('an unknown group and an unknown test, with control characters shown escaped', async () => {
    const g = await kt(['run', '--fstests', tree, '-g', 'quik']);
    expect(g.code).toBe(2);
    expect(g.err).toMatch(/^kt: error E_UNKNOWN_GROUP: unknown group "quik" for FSTYP=xfs/);
    expect(g.err).toContain('quick');
    const t = await kt(['run', '--fstests', tree, 'generic/\u001b[31m999\nX']);
    expect(t.code).toBe(2);
    expect(t.err.split('\n')[0]).toBe('kt: error E_UNKNOWN_TEST: no test matches the pattern "generic/\\u001b[31m999\\nX"');
    expect(t.err).not.toContain('\u001b');
  }, CLI_TIMEOUT_MS);

  it('an fstests tree that was never built, and a directory that is not one', async () => {
    const r = await kt(['run', '--fstests', unbuilt, '-g', 'quick']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kt: error E_FSTESTS_NOT_BUILT: the fstests tree in .*unbuilt is not built/);
    expect(r.err).toContain(`hint: run make in ${unbuilt}`);
    await expectUsage(
      ['run', '--fstests', 'a-dir', '-g', 'quick'],
      `kt: error E_FSTESTS_NOT_FOUND: a-dir is not an fstests tree (no check script in ${path.join(tmp, 'a-dir')})\n` +
        '  hint: pass --fstests with the top directory of an xfstests-dev checkout',
    );
  }, CLI_TIMEOUT_MS);

  // /proc refuses new entries with ENOENT; Node's recursive mkdir used to spin on it forever.
  it('an unwritable results directory, in a real and in a dry run', async () => {
    for (const dry of [[], ['--dry-run']]) {
      const r = await kt(['run', ...dry, '--fstests', tree, '--results', '/proc/kt-results', 'selftest/001']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^kt: error E_RESULTS_UNWRITABLE: results directory \/proc\/kt-results is not writable \(E\w+\)\n  hint: pass --results DIR/);
    }
  }, CLI_TIMEOUT_MS);

  it('a bad --accel, --shard and size', async () => {
    expect((await kt(['run', '--fstests', tree, '--accel', 'hvf'])).err).toContain('E_BAD_ACCEL: --accel hvf is not one of auto, kvm, tcg');
    expect((await kt(['run', '--fstests', tree, '--shard', '3/2'])).err).toContain('E_BAD_SHARD: --shard 3/2 is not of the form i/n');
    expect((await kt(['run', '--fstests', tree, '--kernel-entry', 'pvh'])).err).toContain('E_BAD_KERNEL_ENTRY: --kernel-entry pvh is not one of auto, bzimage');
    const testDev = await kt(['run', '--fstests', tree, '--test-dev', 'copy']);
    expect(testDev.code).toBe(2);
    expect(testDev.err).toContain("E_BAD_TEST_DEV: --test-dev copy is not one of template, mkfs\n  hint: use --test-dev template (a copy of a TEST_DEV made once) or mkfs (every VM's own mkfs)");
    expect((await kt(['run', '--fstests', tree, '--test-size', 'big'])).err).toContain('E_BAD_SIZE: --test-size "big" is not a size');
  }, CLI_TIMEOUT_MS);

  it('an unknown flag', async () => {
    const r = await kt(['run', '--fstests', tree, '--jobz', '2']);
    expect(r.code).toBe(2);
    expect(r.err).toBe('kt: error E_USAGE: Unknown argument: jobz\n  hint: kt --help lists the commands and options');
  }, CLI_TIMEOUT_MS);
});

describe('kt --version and no command', () => {
  it('prints the version from package.json', async () => {
    const pkg = JSON.parse(fs.readFileSync(fileURL('../../package.json'), 'utf8')) as { version: string };
    const r = await kt(['--version']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(pkg.version);
  }, CLI_TIMEOUT_MS);

  it('asks for a command', async () => {
    const r = await kt([]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('give a command');
  }, CLI_TIMEOUT_MS);
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
  }, CLI_TIMEOUT_MS);
});

describe('kt run --dry-run', () => {
  it('prints the plan and a qemu command line per VM without booting', async () => {
    const r = await kt(['run', '--dry-run', '--fstests', tree, '-j', '2', '--accel', 'tcg', '-g', 'quick', '-x', 'mount']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('kt: plan: 3 tests, 0 excluded, on 2 VM(s), section xfs/4k (FSTYP=xfs)');
    expect(r.out).toMatch(/^ {2}generic\/001$/m);
    expect(r.out).not.toMatch(/generic\/002/);
    expect(r.out).toMatch(/^kt: vm1: qemu-system-x86_64 -name kt-DRYRUN-vm1 .*-accel tcg,thread=multi/m);
    expect(r.out).toMatch(/^kt: vm2: qemu-system-x86_64 -name kt-DRYRUN-vm2 /m);
    // kt's image as a run boots it: from the run's pin beside the image (src/vm/image/pinImage.ts).
    expect(r.out).toMatch(/^kt: vm1: .* -initrd \S+\/images\/\.pin-PID@HOST@XXXXXX\/initramfs\.cpio\.gz /m);
    expect(r.out).toMatch(/^kt: vm1: .*,file=\S+\/images\/\.pin-PID@HOST@XXXXXX\/root\.img,format=raw,snapshot=on/m);
    expect(r.out).toMatch(/^kt: kernel: \S+\/images\/[0-9a-f]{16}\/vmlinuz \(image kernel\)/m);
  }, CLI_TIMEOUT_MS);

  it('--kernel-entry bzimage (or kernelEntry: bzimage in kt.yaml): QEMU gets the bzImage itself, never an uncompressed kernel', async () => {
    for (const [args, cfg] of [[['--kernel-entry', 'bzImage'], undefined], [['--config', 'entry.yaml'], 'kernelEntry: bzimage\n']] as const) {
      if (cfg) fs.writeFileSync(path.join(tmp, 'entry.yaml'), cfg);
      const r = await kt(['run', '--dry-run', '--fstests', tree, '--accel', 'tcg', ...args, 'selftest/001']);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^kt: vm1: qemu-system-x86_64 .* -kernel \S+\/vmlinuz /m);
      expect(r.out).not.toContain('PVH');
    }
    expect((await kt(['run', '--dry-run', '--fstests', tree, '--config', 'entry.yaml', '--kernel-entry', 'auto', 'selftest/001'])).code).toBe(0);
  }, CLI_TIMEOUT_MS);

  it('-j auto: one VM per core under TCG with 1 vCPU each, as memory allows, said on stderr', async () => {
    const r = await kt(['run', '--dry-run', '--fstests', tree, '-j', 'auto', '--accel', 'tcg', '--memory', '256', 'selftest/001']);
    expect(r.code, r.err).toBe(0);
    const note = /^kt: -j auto: (\d+) VM\(s\) of 1 vCPU\(s\): (\d+) core\(s\) \/ 1/m.exec(r.err);
    expect(note, r.err).not.toBeNull();
    expect(Number(note![2])).toBe(os.availableParallelism());
    expect(r.out).toContain(`on ${note![1]} VM(s)`);
    expect(r.out).toMatch(/^kt: vm1: qemu-system-x86_64 .* -smp 1 /m);
  }, CLI_TIMEOUT_MS);

  it('refuses, before anything is built, a run whose VMs do not fit in memory (exit 2, the limit named)', async () => {
    const r = await kt(['run', '--dry-run', '--fstests', tree, '-j', '200', '--memory', '1048576', '--accel', 'tcg', 'selftest/001']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kt: error E_HOST_MEMORY: -j 200 and 1 spare\(s\) × --memory 1048576 need \d+ MiB \(201 VM\(s\) × \(1048576 MiB guest \+ 256 MiB QEMU\) \+ 512 MiB for the host\), but only \d+ MiB are available \(MemAvailable in \/proc\/meminfo\)\n {2}hint: use a smaller --memory/);
  }, CLI_TIMEOUT_MS);

  it('applies --shard as a pure split of the plan', async () => {
    const a = await kt(['run', '--dry-run', '--fstests', tree, '-g', 'auto', '--shard', '1/2']);
    const b = await kt(['run', '--dry-run', '--fstests', tree, '-g', 'auto', '--shard', '2/2']);
    const tests = (o: string) => o.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim());
    expect([...tests(a.out), ...tests(b.out)].sort()).toEqual(['generic/001', 'generic/002', 'generic/003', 'generic/004', 'xfs/001']);
  }, CLI_TIMEOUT_MS);
});

describe('kt run --backend nixos', () => {
  it('needs --nixos-vm', async () => {
    await expectUsage(
      ['run', '--fstests', tree, '--backend', 'nixos', 'selftest/001'],
      'kt: error E_NIXOS_VM_REQUIRED: --backend nixos needs --nixos-vm\n' + '  hint: build the VM with `nix build ./nix#vm` and pass --nixos-vm ./result',
    );
  }, CLI_TIMEOUT_MS);

  it('prints the run script environment per VM in a dry run', async () => {
    // The shape of `nix build ./nix#vm`'s output: result/bin/run-<system.name>-vm.
    const result = path.join(tmp, 'result');
    fs.mkdirSync(path.join(result, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(result, 'bin/run-kt-guest-vm'), '#!/bin/sh\n', { mode: 0o755 });
    // Any real bzImage will do for a dry run: the image's, when it is built; else a header-only stand-in.
    const kernel = path.join(tmp, 'bzImage');
    const img = Buffer.alloc(1024);
    img.write('HdrS', 0x202, 'latin1');
    fs.writeFileSync(kernel, img);
    const r = await kt(['run', '--dry-run', '--fstests', tree, '--backend', 'nixos', '--nixos-vm', result, '--kernel', kernel, 'selftest/001']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^kt: vm1: env .*NIXPKGS_QEMU_KERNEL_kt_guest=.*\/bin\/run-kt-guest-vm$/m);
    expect(r.out).toContain('NIX_DISK_IMAGE=');
  }, CLI_TIMEOUT_MS);
});
