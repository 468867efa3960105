/**
 * How many VMs a run starts and how large each is, against what this host has: `-j auto`, the
 * default of --cpus, and the limits that bite long before 64 VMs run on one host (memory, open
 * files, memory maps per process, space for the sparse disks). Pure: the host's facts come in
 * (src/cli/hostFacts.ts reads them), decisions and findings go out; docs/speed.md explains the
 * numbers.
 */
import { UsageError } from '../errors.js';

/** What kt knows about the host before it starts any VM. */
export interface HostFacts {
  /** CPUs kt may use (os.availableParallelism(): the affinity mask, not only the count). */
  cores: number;
  /** MemAvailable of /proc/meminfo, MiB. */
  memAvailableMiB: number;
  /** RLIMIT_NOFILE soft limit of kt's process (Node raises it to the hard limit at start). */
  openFilesLimit: number;
  /** /proc/sys/vm/max_map_count: memory maps one process may have. */
  maxMapCount?: number;
  /** Free bytes in the directory the VMs' sparse disks go to ($TMPDIR). */
  tmpFreeBytes?: number;
  /** That directory, for messages. */
  tmpDir: string;
}

/** What the user asked for; undefined means not given (a default applies). */
export interface SizeRequest {
  /** -j N, -j auto, or not given (1). */
  jobs: number | 'auto' | undefined;
  cpus: number | undefined;
  spares: number | undefined;
  memoryMiB: number;
  accel: 'kvm' | 'tcg';
  /** Bytes each VM's sparse disks may grow to: TEST + SCRATCH + the sections' extra disks. */
  diskBytesPerVm: number;
}

export interface RunSize {
  jobs: number;
  cpus: number;
  spares: number;
  /** Why these numbers (for -j auto and a defaulted --cpus), one line each. */
  notes: string[];
  /** Worth telling, not worth stopping for. */
  warnings: string[];
}

/**
 * Host memory a VM costs beyond its guest RAM: QEMU itself, and under TCG the translated code
 * (QEMU's TCG code buffer grows with the code it translates). Measured on kt's image during
 * test runs: QEMU RSS 320-440 MiB under TCG with 2 GiB guests of which 100-200 MiB touched.
 */
const QEMU_OVERHEAD_MIB = { tcg: 256, kvm: 96 } as const;
/** Left to the host and kt itself when VMs are counted against MemAvailable. */
const HOST_RESERVE_MIB = 512;
/** Descriptors kt's own process holds per VM (QEMU's stdio pipes, QMP, ssh, console log), measured ~8, with margin. */
const FDS_PER_VM = 16;
/** Descriptors kt holds with no VM (Node, the event log, reports), measured ~25, with margin. */
const FDS_BASE = 64;
/** Descriptors one QEMU holds (disks, virtio queues, sockets), measured ~100; it inherits kt's limit. */
const FDS_PER_QEMU = 256;
/** Memory maps one QEMU process holds, measured ~490 with 2 vCPUs; each vCPU thread adds its stack. */
const MAPS_PER_QEMU = 600;
const MAPS_PER_VCPU = 8;
/** Below this much free space per VM a run stops: a mkfs and a few tests already write that much. */
const MIN_DISK_PER_VM = 1024 ** 3;

function vmCostMiB(memoryMiB: number, accel: 'kvm' | 'tcg'): number {
  return memoryMiB + QEMU_OVERHEAD_MIB[accel];
}

/** VMs of `cost` MiB that fit in the host's available memory. */
function vmsThatFit(facts: HostFacts, cost: number): number {
  return Math.floor(Math.max(0, facts.memAvailableMiB - HOST_RESERVE_MIB) / cost);
}

/**
 * -j, --cpus and --spares for the run:
 *  - -j auto: one VM per `cpus` cores, bounded by available memory (spares counted);
 *  - --cpus, when not given: 2, but 1 under TCG when the run has at least as many VMs as cores
 *    (each vCPU is a host thread under multi-threaded TCG: more vCPUs than cores only make them
 *    wait for each other), and -j auto under TCG counts with 1;
 *  - --spares, when not given: 1 with more than one VM, else 0 (src/runner/supply.ts).
 * Then every limit is checked; a run that cannot fit stops here (UsageError, exit 2) with the
 * limit in its message and the fix in its hint.
 */
export function resolveRunSize(req: SizeRequest, facts: HostFacts): RunSize {
  const notes: string[] = [];
  const cores = Math.max(1, facts.cores);
  let cpus: number;
  let jobs: number;
  if (req.jobs === 'auto') {
    cpus = req.cpus ?? (req.accel === 'tcg' ? 1 : 2);
    const byCores = Math.max(1, Math.floor(cores / cpus));
    const spares = req.spares ?? (byCores > 1 ? 1 : 0);
    const byMemory = vmsThatFit(facts, vmCostMiB(req.memoryMiB, req.accel)) - spares;
    jobs = Math.max(1, Math.min(byCores, byMemory));
    notes.push(
      `-j auto: ${jobs} VM(s) of ${cpus} vCPU(s): ${cores} core(s) / ${cpus}${byMemory < byCores ? `, bounded by memory (${facts.memAvailableMiB} MiB available, ${vmCostMiB(req.memoryMiB, req.accel)} MiB per VM with QEMU, ${spares} spare)` : ''}`,
    );
  } else {
    jobs = req.jobs ?? 1;
    cpus = req.cpus ?? (req.accel === 'tcg' && jobs >= cores ? 1 : 2);
    if (req.cpus === undefined && cpus === 1) notes.push(`--cpus 1: ${jobs} VMs on ${cores} core(s) under TCG (each vCPU is a host thread)`);
  }
  const spares = req.spares ?? (jobs > 1 ? 1 : 0);
  const size: RunSize = { jobs, cpus, spares, notes, warnings: [] };
  checkHostLimits(size, req, facts);
  return size;
}

/** Stops a run the host cannot hold (UsageError, exit 2); adds warnings for what may still work. */
export function checkHostLimits(size: RunSize, req: SizeRequest, facts: HostFacts): void {
  const vms = size.jobs + size.spares;
  const jobsFlag = req.jobs === 'auto' ? '-j auto' : `-j ${size.jobs}`;
  const what = `${jobsFlag}${size.spares ? ` and ${size.spares} spare(s)` : ''}`;

  const cost = vmCostMiB(req.memoryMiB, req.accel);
  const needMiB = vms * cost + HOST_RESERVE_MIB;
  if (needMiB > facts.memAvailableMiB) {
    const fit = vmsThatFit(facts, cost) - size.spares;
    throw new UsageError(
      'E_HOST_MEMORY',
      `${what} × --memory ${req.memoryMiB} need ${needMiB} MiB (${vms} VM(s) × (${req.memoryMiB} MiB guest + ${QEMU_OVERHEAD_MIB[req.accel]} MiB QEMU) + ${HOST_RESERVE_MIB} MiB for the host), but only ${facts.memAvailableMiB} MiB are available (MemAvailable in /proc/meminfo)`,
      fit >= 1 ? `use -j ${fit} or fewer, a smaller --memory, --spares 0, or -j auto` : `use a smaller --memory (each VM needs ${cost} MiB with QEMU), or free memory on this host`,
    );
  }

  const needFds = Math.max(FDS_BASE + FDS_PER_VM * vms, FDS_PER_QEMU);
  if (needFds > facts.openFilesLimit) {
    throw new UsageError(
      'E_HOST_OPEN_FILES',
      `${what} need about ${needFds} open files (${FDS_PER_VM} per VM in kt, ${FDS_PER_QEMU} in each QEMU), but the open-file limit is ${facts.openFilesLimit} (RLIMIT_NOFILE)`,
      `raise it: \`ulimit -n ${Math.max(needFds * 2, 4096)}\` in the shell that starts kt (or nofile in /etc/security/limits.conf), or use fewer VMs`,
    );
  }

  const needMaps = MAPS_PER_QEMU + MAPS_PER_VCPU * size.cpus;
  if (facts.maxMapCount !== undefined && needMaps > facts.maxMapCount) {
    throw new UsageError(
      'E_HOST_MAX_MAP_COUNT',
      `each QEMU with --cpus ${size.cpus} holds about ${needMaps} memory maps, but vm.max_map_count is ${facts.maxMapCount}`,
      `raise it: \`sysctl -w vm.max_map_count=65530\` (the kernel's default), or use fewer --cpus`,
    );
  }

  if (facts.tmpFreeBytes !== undefined) {
    const gib = (b: number) => `${(b / 1024 ** 3).toFixed(1)} GiB`;
    if (facts.tmpFreeBytes < vms * MIN_DISK_PER_VM) {
      throw new UsageError(
        'E_HOST_TMP_SPACE',
        `${what} put their sparse TEST/SCRATCH images in ${facts.tmpDir}, which has ${gib(facts.tmpFreeBytes)} free: less than ${gib(MIN_DISK_PER_VM)} per VM`,
        `point TMPDIR at a filesystem with more space (TMPDIR=/var/tmp kt run ...), or use fewer VMs`,
      );
    }
    const worst = vms * req.diskBytesPerVm;
    if (facts.tmpFreeBytes < worst) {
      size.warnings.push(
        `${facts.tmpDir} has ${gib(facts.tmpFreeBytes)} free; the sparse disks of ${vms} VM(s) may grow to ${gib(worst)} if tests fill them, and QEMU pauses a VM whose write finds the host disk full (-drive werror=enospc, its default), which kt sees as a hang: set TMPDIR to a larger filesystem or use smaller --test-size/--scratch-size`,
      );
    }
  }
}

/** The fixed figures behind the checks, for docs and tests. */
export const RUN_SIZE_FIGURES = { QEMU_OVERHEAD_MIB, HOST_RESERVE_MIB, FDS_PER_VM, FDS_BASE, FDS_PER_QEMU, MAPS_PER_QEMU, MAPS_PER_VCPU, MIN_DISK_PER_VM } as const;
