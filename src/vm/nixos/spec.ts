/**
 * NixosVmSpec: every decision about one VM of the `nixos` backend, made once by a pure function
 * (docs/architecture.md, "The VM layer", step 1). The VM is the run script of a NixOS VM built from nix/
 * (result/bin/run-<system.name>-vm, nixpkgs nixos/modules/virtualisation/qemu-vm.nix); kt only
 * sets its environment (renderNixosRunEnv).
 */
import path from 'node:path';
import { resolveGuestAccess, type Accel, type GuestSpecBase } from '../spec.js';

export interface NixosVmSpec extends GuestSpecBase {
  /** Absolute path of the run script (…/bin/run-kt-guest-vm). */
  runScript: string;
  /** config.system.name of the NixOS VM (the part of the script name between run- and -vm). */
  systemName: string;
  /** Override of virtualisation.cores / memorySize; undefined keeps what the flake set. */
  cpus?: number;
  memoryMiB?: number;
  /** Absolute path of a kernel image replacing the NixOS one (NIXPKGS_QEMU_KERNEL_<name>). */
  kernel?: string;
  /** Per-VM private directory: TMPDIR of the run script, root disk, empty disks, sockets. */
  dir: string;
}

/** What the CLI/config decided for the run, the input of resolveNixosVmSpec. */
export interface NixosVmOptions {
  runId: string;
  index: number;
  accel: Accel;
  cpus?: number;
  memoryMiB?: number;
  /** The run script, as found by locateRunScript (src/vm/nixos/runScript.ts). */
  runScript: string;
  systemName: string;
  kernel?: string;
  extraCmdline: string[];
  baseDir: string;
  sshKeyBlob: string;
  transport: 'virtio-serial' | 'tcp';
  /** Host port of the tcp transport's forward; unset or 0: QEMU picks one (see VmOptions.tcpPort). */
  tcpPort?: number;
  hungTaskTimeoutSec: number;
  vmcore: boolean;
}

/** Turns run options into one VM's spec. Pure: paths are computed, nothing is created. */
export function resolveNixosVmSpec(opts: NixosVmOptions): NixosVmSpec {
  const name = `kt-${opts.runId}-vm${opts.index}`;
  // The run script cds into $TMPDIR before it starts QEMU, so every path it gets must be
  // absolute (the kernel path in particular is used after that cd).
  const dir = path.resolve(opts.baseDir, `vm${opts.index}`);
  return {
    name,
    runScript: path.resolve(opts.runScript),
    systemName: opts.systemName,
    accel: opts.accel,
    ...(opts.cpus !== undefined ? { cpus: opts.cpus } : {}),
    ...(opts.memoryMiB !== undefined ? { memoryMiB: opts.memoryMiB } : {}),
    ...(opts.kernel !== undefined ? { kernel: path.resolve(opts.kernel) } : {}),
    extraCmdline: opts.extraCmdline,
    ...resolveGuestAccess(dir, opts),
  };
}

/**
 * qemu-vm.nix's sanitizeShellIdent: every character of system.name that is not an ASCII letter
 * or digit becomes "_" (`concatMapStrings (c: if elem c alphaNumericChars then c else "_")
 * (stringToCharacters s)`). stringToCharacters splits bytes, so a multi-byte character gives
 * one "_" per byte.
 */
export function sanitizeShellIdent(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9]/.test(c) ? c : '_';
  }
  return out;
}

/** The environment variable the run script reads for a replacement kernel. */
export function kernelEnvVar(systemName: string): string {
  return `NIXPKGS_QEMU_KERNEL_${sanitizeShellIdent(systemName)}`;
}

/** `run-kt-guest-vm` → `kt-guest` (qemu-vm.nix: $out/bin/run-${config.system.name}-vm). */
export function systemNameFromRunScript(fileName: string): string | undefined {
  const m = /^run-(.+)-vm$/.exec(fileName);
  return m?.[1];
}
