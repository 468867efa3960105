/**
 * renderNixosRunEnv: NixosVmSpec → the environment of the NixOS run script, pure and
 * golden-tested (test/vm/nixos/golden/*.env). The run script is `startVM` of nixpkgs
 * nixos/modules/virtualisation/qemu-vm.nix; the variables it reads, as it uses them:
 *
 *   NIX_DISK_IMAGE   root disk; created (mkfs.ext4 → qcow2) when missing. Default
 *                    ./<system.name>.qcow2 in the caller's cwd, which parallel VMs would share.
 *   TMPDIR, USE_TMPDIR   with both set the script uses $TMPDIR as is (otherwise mktemp -d), then
 *                    `cd "$TMPDIR"`, creates empty<i>.qcow2 there for virtualisation.emptyDiskImages
 *                    and shares $TMPDIR/xchg over 9p.
 *   QEMU_OPTS        appended unquoted to QEMU's argv after the module's own options: word-split
 *                    and glob-expanded by the shell, so no word may hold blanks or glob characters.
 *   QEMU_KERNEL_PARAMS   appended last inside `-append "..."` (after kernel-params, init=, regInfo=
 *                    and the console= of virtualisation.qemu.consoles).
 *   QEMU_NET_OPTS    appended to `-netdev user,id=user.0,...` (virtualisation.qemu.networkingOptions).
 *   NIXPKGS_QEMU_KERNEL_<sanitised system.name>   `-kernel ${VAR:-<toplevel>/kernel}`.
 */
import { HostError } from '../../errors.js';
import { shellQuote } from '../../util/shell.js';
import { qemuOptValue } from '../qemuOptValue.js';
import type { Accel } from '../spec.js';
import { kernelEnvVar, type NixosVmSpec } from './spec.js';

/** File names the run script creates in $TMPDIR / kt gives it (for cleanup and --keep). */
export const NIXOS_ROOT_IMAGE = 'root.qcow2';

/**
 * Per-accelerator QEMU settings. `-machine accel=` (not `-accel`): the run script's QEMU
 * command may already carry `-machine ...,accel=...` (nixos/lib/qemu-common.nix), and QEMU
 * refuses `-accel` together with `-machine accel=`, while a later `-machine accel=` overrides
 * an earlier one. The script passes `-cpu max`; a later -cpu wins.
 */
const ACCEL_TABLE: Record<Accel, string[]> = {
  kvm: ['-machine', 'accel=kvm', '-cpu', 'host'],
  // TCG: multi-threaded TCG is QEMU's default for an x86_64 guest on an x86_64 host.
  tcg: ['-machine', 'accel=tcg', '-cpu', 'max'],
};

/** Characters the shell would split or expand in an unquoted $QEMU_OPTS, plus QEMU's comma. */
const UNSAFE_WORD = /[\s*?[\]'"\\$`;&|<>(){}~#!]/;

function checkPath(what: string, p: string): string {
  // kt doubles commas in its own option values (qemuOptValue), but the run script puts
  // $NIX_DISK_IMAGE and "$TMPDIR"/empty<i>.qcow2 into its own -drive file= options as they are
  // (qemu-vm.nix driveCmdline), so a comma in the VM directory would still cut those; everything
  // in UNSAFE_WORD breaks the unquoted $QEMU_OPTS (or the unquoted -kernel word of the script).
  if (UNSAFE_WORD.test(p) || p.includes(',')) {
    throw new HostError(
      'E_NIXOS_UNSAFE_PATH',
      `the ${what} path ${JSON.stringify(p)} cannot be passed to the NixOS run script`,
      'the script expands $QEMU_OPTS without quotes: use a path without blanks, commas, quotes or shell characters (set --results or TMPDIR elsewhere)',
    );
  }
  return p;
}

/** The kernel command line kt appends (QEMU_KERNEL_PARAMS); mirrors renderKernelCmdline. */
export function renderNixosKernelParams(spec: NixosVmSpec): string {
  const params = [
    // Last console= wins /dev/console: ttyS0, which kt reads (also with graphics = true).
    'console=ttyS0,115200',
    // NixOS sets loglevel=4 (boot.consoleLogLevel); kt's crash detector needs WARNINGs and traces.
    'loglevel=7',
    // panic=-1: reboot at once on panic; with -no-reboot QEMU exits (docs/fstests.md §7).
    'panic=-1',
    'oops=panic',
    'nmi_watchdog=0',
    'random.trust_cpu=on',
    // No crypto self-tests at boot, as for kt's own guest (src/vm/qemuArgs.ts BOOT_SPEED_PARAMS).
    'cryptomgr.notests',
    // NixOS stage 1 waits on the console for a key after an error; this makes it panic instead
    // (stage-1-init.sh: `boot.panic_on_fail|stage1panic=1) panicOnFail=1`), which ends QEMU.
    'boot.panic_on_fail',
    `kt.hostname=${spec.name}`,
    `kt.sshkey=${spec.sshKeyBlob}`,
  ];
  if (spec.hungTaskTimeoutSec > 0) params.push(`kt.hung_task_timeout=${spec.hungTaskTimeoutSec}`);
  return [...params, ...spec.extraCmdline].join(' ');
}

/** QEMU options kt adds after the run script's own (QEMU_OPTS), one word per element. */
export function renderNixosQemuOpts(spec: NixosVmSpec): string[] {
  const opts = [...ACCEL_TABLE[spec.accel]];
  if (spec.cpus !== undefined) opts.push('-smp', String(spec.cpus));
  if (spec.memoryMiB !== undefined) opts.push('-m', `${spec.memoryMiB}M`);
  opts.push(
    // ttyS0 = kernel console on QEMU's stdout, read line by line by kt. An explicit -serial
    // replaces the mon:stdio that -nographic (virtualisation.graphics = false) would add, and
    // -qmp below keeps QEMU's HMP monitor off stdio, so nothing else reads or writes it.
    '-chardev', 'stdio,id=ktcon,signal=off',
    '-serial', 'chardev:ktcon',
    '-qmp', `unix:${qemuOptValue(checkPath('QMP socket', spec.qmpSocket))},server=on,wait=off`,
    // A guest reboot (panic=-1) ends QEMU, which kt observes as the VM's exit.
    '-no-reboot',
    '-device', 'pvpanic-pci',
    '-action', `panic=${spec.pauseOnPanic ? 'pause' : 'exit-failure'}`,
    ...(spec.pauseOnPanic ? ['-device', 'vmcoreinfo'] : []),
  );
  if (spec.transport.kind === 'virtio-serial') {
    opts.push(
      '-device', 'virtio-serial-pci,id=ktvser',
      '-chardev', `socket,id=ktssh,path=${qemuOptValue(checkPath('ssh socket', spec.transport.socket))},server=on,wait=off`,
      // The guest's kt-sshd-serial service serves sshd -i on the port named kt.ssh (nix/guest.nix).
      '-device', 'virtserialport,bus=ktvser.0,chardev=ktssh,name=kt.ssh',
    );
  }
  for (const word of opts) {
    if (UNSAFE_WORD.test(word)) throw new Error(`renderNixosQemuOpts: unsafe word ${JSON.stringify(word)}`);
  }
  return opts;
}

/** The user network of the run script: isolated from the host's network, plus kt's forward. */
export function renderNixosNetOpts(spec: NixosVmSpec): string {
  // restrict=on: the guest reaches neither the host nor the outside; host forwards still work.
  const parts = ['restrict=on'];
  if (spec.transport.kind === 'tcp') {
    // Bound to 127.0.0.1 only: nothing outside this host can reach the guest's sshd. Port 0:
    // QEMU binds a free port itself, kt reads it back over QMP (src/vm/usernet.ts).
    parts.push(`hostfwd=tcp:127.0.0.1:${spec.transport.port}-:22`);
  }
  return parts.join(',');
}

/**
 * The environment kt sets for the run script. Values replace any the user exported; variables
 * kt does not set (e.g. NIXPKGS_QEMU_KERNEL_* without --kernel) are inherited.
 */
export function renderNixosRunEnv(spec: NixosVmSpec): Record<string, string> {
  const dir = checkPath('VM directory', spec.dir);
  const env: Record<string, string> = {
    TMPDIR: dir,
    USE_TMPDIR: '1',
    // In the VM's private directory: parallel VMs never share a root disk, and the disk is
    // created fresh (the script makes it when missing).
    NIX_DISK_IMAGE: `${dir}/${NIXOS_ROOT_IMAGE}`,
    // The 9p "shared" directory defaults to $TMPDIR/xchg already; say so explicitly so that a
    // SHARED_DIR exported by the user never leaks into a kt VM.
    SHARED_DIR: `${dir}/xchg`,
    QEMU_OPTS: renderNixosQemuOpts(spec).join(' '),
    QEMU_KERNEL_PARAMS: renderNixosKernelParams(spec),
    QEMU_NET_OPTS: renderNixosNetOpts(spec),
  };
  if (spec.kernel !== undefined) env[kernelEnvVar(spec.systemName)] = checkPath('kernel', spec.kernel);
  return env;
}

/** The run script's argv (what launchQemu starts). */
export function renderNixosArgv(spec: NixosVmSpec): string[] {
  return [spec.runScript];
}

/** One shell line that reproduces the launch, for `kt run --dry-run` and error messages. */
export function renderNixosDryRun(spec: NixosVmSpec): string {
  const env = renderNixosRunEnv(spec);
  const assignments = Object.keys(env)
    .sort()
    .map((k) => `${k}=${shellQuote(env[k]!)}`);
  return ['env', ...assignments, shellQuote(spec.runScript)].join(' ');
}
