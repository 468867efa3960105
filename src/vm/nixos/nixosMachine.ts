/**
 * The `nixos` backend: the run script of a NixOS VM built from nix/ (run-kt-guest-vm), started
 * with a per-VM environment (renderNixosRunEnv). Implements Machine like QemuMachine does: same
 * ready marker, same ssh transport, same QMP.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { removeOnDispose, type PreparedHost } from '../prepareHost.js';
import { ConsoleBootedMachine, type BootFailureMarker } from '../bootedMachine.js';
import { NIXOS_ROOT_IMAGE, renderNixosArgv, renderNixosDryRun, renderNixosRunEnv } from './runEnv.js';
import type { NixosVmSpec } from './spec.js';

export interface NixosMachineOptions {
  spec: NixosVmSpec;
  /** Short name in the run (vm1). */
  name: string;
  consoleLogPath: string;
  privateKey: string;
  bootTimeoutMs: number;
  /** Keep the VM's directory (root disk, TEST/SCRATCH qcow2) after dispose (--keep). */
  keep: boolean;
}

/** Console lines of a NixOS guest that will never come up. */
export const NIXOS_BOOT_FAILURES: readonly BootFailureMarker[] = [
  {
    // nixos/modules/system/boot/stage-1-init.sh fail(); kt passes boot.panic_on_fail, so this
    // only shows when the kernel parameter did not reach stage 1.
    marker: 'An error occurred in stage 1 of the boot process',
    code: 'E_BOOT_STAGE1',
    message: 'NixOS stage 1 could not mount the root file system (missing virtio/9p/overlay drivers in the kernel?)',
  },
  {
    // systemd's emergency.target waits for a root password on the console forever.
    marker: 'You are in emergency mode',
    code: 'E_BOOT_EMERGENCY',
    message: 'the NixOS guest entered emergency mode',
  },
];

/** What the run script may have left in a reused VM directory; removed before each boot. */
function staleFiles(names: string[]): string[] {
  return names.filter((n) => n === NIXOS_ROOT_IMAGE || /^empty\d+\.qcow2$/.test(n) || /\.sock$/.test(n));
}

/**
 * The VM's private directory. The run script creates the root disk (NIX_DISK_IMAGE) and the
 * empty disks itself, and reuses them when they exist, so leftovers are removed first.
 */
export async function prepareNixosHost(spec: NixosVmSpec): Promise<PreparedHost> {
  await fs.mkdir(spec.dir, { recursive: true, mode: 0o700 });
  for (const f of staleFiles(await fs.readdir(spec.dir))) await fs.rm(path.join(spec.dir, f), { force: true });
  return removeOnDispose(spec.dir);
}

export class NixosMachine extends ConsoleBootedMachine {
  readonly spec: NixosVmSpec;
  /** The environment kt sets for the run script (for the record and --dry-run). */
  readonly env: Record<string, string>;

  constructor(opts: NixosMachineOptions) {
    const { spec } = opts;
    const env = renderNixosRunEnv(spec);
    const seconds = Math.round(opts.bootTimeoutMs / 1000);
    super({
      name: opts.name,
      argv: renderNixosArgv(spec),
      env,
      cwd: spec.dir,
      endpoint: spec.transport,
      qmpSocket: spec.qmpSocket,
      consoleLogPath: opts.consoleLogPath,
      privateKey: opts.privateKey,
      // The NixOS guest makes its host key at boot (nix/guest.nix, kt-setup) and prints it on
      // ttyS0, QEMU's stdout, which only kt reads: pin what it printed (src/vm/hostKey.ts).
      hostKey: () => Promise.resolve({ kind: 'console' }),
      bootTimeoutMs: opts.bootTimeoutMs,
      keep: opts.keep,
      prepare: () => prepareNixosHost(spec),
      failureMarkers: NIXOS_BOOT_FAILURES,
      processLabel: `the NixOS run script ${path.basename(spec.runScript)}`,
      timeoutMessage: `the NixOS VM ${spec.runScript}${spec.kernel ? ` with kernel ${spec.kernel}` : ''} did not print "kt-init: ready" within ${seconds} s (accel ${spec.accel})`,
      timeoutHint: spec.kernel
        ? 'the NixOS initrd only has modules for its own kernel: build virtio_pci, virtio_blk, virtio_console, 9p, 9pnet_virtio, overlayfs, ext4 and the 8250 serial console into yours (=y), or raise --boot-timeout'
        : 'check that the VM was built from kt\'s nix/ flake (it prints "kt-init: ready"), or raise --boot-timeout',
    });
    this.spec = spec;
    this.env = env;
  }

  /** One shell line reproducing the launch (env ... run-kt-guest-vm). */
  dryRun(): string {
    return renderNixosDryRun(this.spec);
  }
}
