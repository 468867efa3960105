import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  renderNixosDryRun,
  renderNixosKernelParams,
  renderNixosQemuOpts,
  renderNixosRunEnv,
} from '../../../src/vm/nixos/runEnv.js';
import {
  kernelEnvVar,
  resolveNixosVmSpec,
  sanitizeShellIdent,
  systemNameFromRunScript,
  type NixosVmOptions,
} from '../../../src/vm/nixos/spec.js';
import { baseRunFields } from '../vmOptions.js';

const base: NixosVmOptions = {
  ...baseRunFields,
  runScript: '/nix/store/0000000000000000000000000000000a-nixos-vm/bin/run-kt-guest-vm',
  systemName: 'kt-guest',
};

/** Golden env files: sorted KEY=value lines; KT_UPDATE_GOLDEN=1 rewrites them. */
function expectGolden(name: string, env: Record<string, string>): void {
  const file = new URL(`./golden/${name}.env`, import.meta.url);
  const text =
    Object.keys(env)
      .sort()
      .map((k) => `${k}=${env[k]}`)
      .join('\n') + '\n';
  if (process.env.KT_UPDATE_GOLDEN) fs.writeFileSync(file, text);
  expect(text).toBe(fs.readFileSync(file, 'utf8'));
}

describe('renderNixosRunEnv', () => {
  it('renders a TCG VM with a virtio-serial ssh port and the NixOS kernel', () => {
    expectGolden('nixos-tcg-virtio-serial', renderNixosRunEnv(resolveNixosVmSpec(base)));
  });

  it('renders a KVM VM with a host forward, vmcore support, a kernel and size overrides', () => {
    const spec = resolveNixosVmSpec({
      ...base,
      index: 2,
      accel: 'kvm',
      transport: 'tcp',
      tcpPort: 40123,
      vmcore: true,
      kernel: '/home/dev/linux/arch/x86/boot/bzImage',
      cpus: 4,
      memoryMiB: 4096,
      hungTaskTimeoutSec: 120,
      extraCmdline: ['xfs.debug=1'],
    });
    expectGolden('nixos-kvm-tcp-vmcore-kernel', renderNixosRunEnv(spec));
  });

  it('gives every VM its own TMPDIR, root disk and sockets', () => {
    const a = renderNixosRunEnv(resolveNixosVmSpec(base));
    const b = renderNixosRunEnv(resolveNixosVmSpec({ ...base, index: 2 }));
    expect(a.TMPDIR).toBe('/tmp/kt-x/vm1');
    expect(a.USE_TMPDIR).toBe('1');
    expect(a.NIX_DISK_IMAGE).toBe('/tmp/kt-x/vm1/root.qcow2');
    for (const key of ['TMPDIR', 'NIX_DISK_IMAGE', 'SHARED_DIR', 'QEMU_OPTS'] as const) expect(a[key]).not.toBe(b[key]);
  });

  it('sets the kernel variable of the sanitised system name, with an absolute path', () => {
    const cwd = process.cwd();
    const env = renderNixosRunEnv(resolveNixosVmSpec({ ...base, kernel: 'bzImage' }));
    expect(env.NIXPKGS_QEMU_KERNEL_kt_guest).toBe(path.join(cwd, 'bzImage'));
    const other = renderNixosRunEnv(resolveNixosVmSpec({ ...base, systemName: 'my.box-1', kernel: '/k' }));
    expect(other.NIXPKGS_QEMU_KERNEL_my_box_1).toBe('/k');
    expect(renderNixosRunEnv(resolveNixosVmSpec(base))).not.toHaveProperty('NIXPKGS_QEMU_KERNEL_kt_guest');
  });

  it('refuses paths that the unquoted $QEMU_OPTS would split or glob', () => {
    for (const baseDir of ['/tmp/my runs', '/tmp/a,b', '/tmp/x*', "/tmp/it's"]) {
      expect(() => renderNixosRunEnv(resolveNixosVmSpec({ ...base, baseDir }))).toThrow(
        expect.objectContaining({ code: 'E_NIXOS_UNSAFE_PATH' }),
      );
    }
  });

  it('isolates the user network and forwards only 127.0.0.1 for the tcp transport', () => {
    expect(renderNixosRunEnv(resolveNixosVmSpec(base)).QEMU_NET_OPTS).toBe('restrict=on');
    const tcp = renderNixosRunEnv(resolveNixosVmSpec({ ...base, transport: 'tcp', tcpPort: 2222 }));
    expect(tcp.QEMU_NET_OPTS).toBe('restrict=on,hostfwd=tcp:127.0.0.1:2222-:22');
    expect(tcp.QEMU_OPTS).not.toContain('kt.ssh');
    // Without a port, QEMU binds one itself and kt reads it back (src/vm/usernet.ts).
    const picked = renderNixosRunEnv(resolveNixosVmSpec({ ...base, transport: 'tcp' }));
    expect(picked.QEMU_NET_OPTS).toBe('restrict=on,hostfwd=tcp:127.0.0.1:0-:22');
  });
});

describe('renderNixosKernelParams', () => {
  it('carries the guest contract: console, key, name, panic behaviour, then the user params', () => {
    const params = renderNixosKernelParams(resolveNixosVmSpec({ ...base, extraCmdline: ['a=1', 'b'] })).split(' ');
    expect(params[0]).toBe('console=ttyS0,115200');
    expect(params).toContain('kt.sshkey=AAAAC3NzaC1lZDI1NTE5AAAAIKtKeyBlob');
    expect(params).toContain('kt.hostname=kt-20261122-010203-ab12-vm1');
    expect(params).toContain('panic=-1');
    expect(params).toContain('boot.panic_on_fail');
    expect(params).toContain('loglevel=7');
    expect(params.slice(-2)).toEqual(['a=1', 'b']);
  });
});

describe('sanitizeShellIdent (qemu-vm.nix)', () => {
  it('replaces every non-alphanumeric byte with _', () => {
    expect(sanitizeShellIdent('kt-guest')).toBe('kt_guest');
    expect(sanitizeShellIdent('My.Host_2')).toBe('My_Host_2');
    // "é" is two bytes in UTF-8; stringToCharacters splits bytes.
    expect(sanitizeShellIdent('né')).toBe('n__');
    expect(kernelEnvVar('kt-guest')).toBe('NIXPKGS_QEMU_KERNEL_kt_guest');
  });

  it('reads the system name from the run script name', () => {
    expect(systemNameFromRunScript('run-kt-guest-vm')).toBe('kt-guest');
    expect(systemNameFromRunScript('run-nixos-vm')).toBe('nixos');
    expect(systemNameFromRunScript('kt-guest')).toBeUndefined();
  });
});

describe('the run script shell sees exactly what kt meant', () => {
  // The lines of qemu-vm.nix's startVM that consume kt's variables, verbatim in shape: the
  // exec line with unquoted $QEMU_OPTS, -kernel ${NIXPKGS_QEMU_KERNEL_<name>:-…}, the quoted
  // -append, and the user netdev. printf stands in for QEMU.
  const fakeStartVM = [
    '#!/usr/bin/env bash',
    'set -e',
    'if [ -z "$TMPDIR" ] || [ -z "$USE_TMPDIR" ]; then TMPDIR=$(mktemp -d nix-vm.XXXXXXXXXX --tmpdir); fi',
    'cd "$TMPDIR"',
    'exec printf "%s\\n" qemu -name kt-guest -m 2048 -smp 2 \\',
    '  -net nic,netdev=user.0,model=virtio -netdev user,id=user.0,"$QEMU_NET_OPTS" \\',
    '  -kernel ${NIXPKGS_QEMU_KERNEL_kt_guest:-/nix/store/x-toplevel/kernel} \\',
    '  -append "$(echo loglevel=4) init=/nix/store/x/init regInfo=/r console=tty0 console=ttyS0,115200n8 $QEMU_KERNEL_PARAMS" \\',
    '  -nographic \\',
    '  $QEMU_OPTS \\',
    '  "$@"',
  ].join('\n');

  it('word-splits QEMU_OPTS into renderNixosQemuOpts and keeps the cmdline as one argument', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-nixos-env-'));
    try {
      const script = path.join(tmp, 'run-kt-guest-vm');
      fs.writeFileSync(script, fakeStartVM, { mode: 0o755 });
      const spec = resolveNixosVmSpec({
        ...base,
        baseDir: tmp,
        kernel: '/boot/vmlinuz-test',
        transport: 'tcp',
        tcpPort: 4022,
        extraCmdline: ['*'],
      });
      fs.mkdirSync(spec.dir);
      const env = renderNixosRunEnv(spec);
      const out = execFileSync(script, { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
      const argv = out.trimEnd().split('\n');
      expect(argv.slice(-renderNixosQemuOpts(spec).length)).toEqual(renderNixosQemuOpts(spec));
      expect(argv[argv.indexOf('-kernel') + 1]).toBe('/boot/vmlinuz-test');
      expect(argv[argv.indexOf('-netdev') + 1]).toBe('user,id=user.0,restrict=on,hostfwd=tcp:127.0.0.1:4022-:22');
      const append = argv[argv.indexOf('-append') + 1]!;
      // The "*" of --append reaches the kernel untouched (no glob inside the quotes).
      expect(append.endsWith(` ${renderNixosKernelParams(spec)}`)).toBe(true);
      expect(append.endsWith(' *')).toBe(true);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('renderNixosDryRun', () => {
  it('prints one env line that a shell can run', () => {
    const line = renderNixosDryRun(resolveNixosVmSpec(base));
    expect(line.startsWith('env NIX_DISK_IMAGE=/tmp/kt-x/vm1/root.qcow2 ')).toBe(true);
    expect(line).toContain("QEMU_KERNEL_PARAMS='console=ttyS0,115200 ");
    expect(line.endsWith(' /nix/store/0000000000000000000000000000000a-nixos-vm/bin/run-kt-guest-vm')).toBe(true);
  });
});
