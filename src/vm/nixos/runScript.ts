/**
 * Finds the run script of a built NixOS VM (`nix build ./nix#vm` → result/bin/run-kt-guest-vm)
 * and the system name it encodes (qemu-vm.nix: `$out/bin/run-${config.system.name}-vm`), which
 * names the kernel override variable NIXPKGS_QEMU_KERNEL_<sanitised name>.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { systemNameFromRunScript } from './spec.js';

export interface LocatedRunScript {
  /** Absolute path; the VM derivation's directory is resolved, so a later rebuild of ./result
   *  does not change the VMs of a running `kt run`. */
  runScript: string;
  systemName: string;
}

const BUILD_HINT = 'build the VM with `nix build ./nix#vm` and pass the result: --nixos-vm ./result';

/**
 * Accepts the VM derivation's output (./result), its bin/ directory, or the script itself.
 * `systemName` overrides the name taken from the script's file name.
 */
export function locateRunScript(given: string, systemName?: string): LocatedRunScript {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(given);
  } catch {
    throw new UsageError('E_NIXOS_VM_NOT_FOUND', `--nixos-vm ${given}: no such file or directory`, BUILD_HINT);
  }
  let script: string;
  if (stat.isDirectory()) {
    const real = fs.realpathSync(given);
    const bin = fs.existsSync(path.join(real, 'bin')) ? path.join(real, 'bin') : real;
    const candidates = fs
      .readdirSync(bin)
      .filter((f) => systemNameFromRunScript(f) !== undefined)
      .sort();
    if (candidates.length === 0) {
      throw new UsageError(
        'E_NIXOS_VM_NOT_FOUND',
        `--nixos-vm ${given}: no run-<name>-vm script in ${bin}`,
        `${BUILD_HINT} (the output of config.system.build.vm)`,
      );
    }
    if (candidates.length > 1) {
      throw new UsageError(
        'E_NIXOS_VM_AMBIGUOUS',
        `--nixos-vm ${given}: several run scripts in ${bin}: ${candidates.join(', ')}`,
        'pass the script itself, e.g. --nixos-vm ./result/bin/run-kt-guest-vm',
      );
    }
    script = path.join(bin, candidates[0]!);
  } else {
    script = path.join(fs.realpathSync(path.dirname(given)), path.basename(given));
  }
  try {
    fs.accessSync(script, fs.constants.X_OK);
  } catch {
    throw new UsageError('E_NIXOS_VM_NOT_EXECUTABLE', `--nixos-vm: ${script} is not executable`, BUILD_HINT);
  }
  const name = systemName ?? systemNameFromRunScript(path.basename(script));
  if (!name) {
    throw new UsageError(
      'E_NIXOS_VM_NAME',
      `--nixos-vm: cannot tell the NixOS system name from ${path.basename(script)} (expected run-<name>-vm)`,
      'pass the script under its run-<name>-vm name (as nix builds it)',
    );
  }
  return { runScript: script, systemName: name };
}
