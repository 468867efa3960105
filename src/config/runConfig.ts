/**
 * RunConfig: the one frozen, validated description of a `kt run` (architecture.md). All raw
 * inputs (flags, kt.yaml, suite, environment) are normalised here, each check next to the
 * behaviour it protects (execa's lesson, style.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { AccelRequest } from '../vm/accel.js';
import { loadConfigFile, loadSuite, type LoadedSuite } from './load.js';
import { parseSize } from './size.js';
import { resolveCacheDir } from '../vm/image/cacheDir.js';
import { locateRunScript } from '../vm/nixos/runScript.js';

/** The raw flags of `kt run` as yargs hands them over. */
export interface RunArgs {
  group?: string[];
  excludeGroup?: string[];
  excludeFile?: string[];
  jobs?: number;
  kernel?: string;
  fstests?: string;
  results?: string;
  accel?: string;
  keep?: boolean;
  dryRun?: boolean;
  tests?: string[];
  config?: string;
  suite?: string;
  memory?: number;
  cpus?: number;
  testSize?: string;
  scratchSize?: string;
  testTimeout?: number;
  bootTimeout?: number;
  retries?: number;
  shard?: string;
  transport?: string;
  vmcore?: boolean;
  append?: string[];
  backend?: string;
  nixosVm?: string;
  batch?: number;
}

export interface RunConfig {
  /** The command line as typed, for the record. */
  argv: string[];
  /** -g groups. */
  groups: string[];
  /** -x groups. */
  excludeGroups: string[];
  /** Explicit test names. */
  tests: string[];
  /** -E files plus the suite's exclude files. */
  excludeFiles: string[];
  jobs: number;
  /** A kernel image to boot, or undefined for the guest image's own kernel. */
  kernel?: string;
  /** Where the kernel came from, for messages. */
  kernelSource: 'flag' | 'tree' | 'image';
  fstestsDir: string;
  resultsDir: string;
  accel: AccelRequest;
  keep: boolean;
  dryRun: boolean;
  suite: LoadedSuite;
  memoryMiB: number;
  cpus: number;
  testSizeBytes: number;
  scratchSizeBytes: number;
  /** --test-timeout: fixed per-test deadline in seconds (else derived from history). */
  testTimeoutSec?: number;
  bootTimeoutSec: number;
  retries: number;
  shard?: { index: number; total: number };
  transport: 'virtio-serial' | 'tcp';
  vmcore: boolean;
  append: string[];
  cacheDir: string;
  /** At most this many tests per `check` invocation (--batch). */
  maxBatch: number;
  /** direct: kt's Debian image; nixos: the run script of a NixOS VM built from nix/. */
  backend: { kind: 'direct' } | { kind: 'nixos'; runScript: string; systemName: string };
}


/** Node timers hold at most 2^31-1 ms; longer deadlines would fire at once. */
const MAX_TIMER_SEC = 2_147_483;

function checkInt(value: unknown, flag: string, min: number, max: number, example: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError('E_BAD_NUMBER', `${flag} ${String(value)} is not a whole number from ${min} to ${max}`, `give ${example}`);
  }
  return value;
}

/** Size cap of --vmcore: a dump is as large as the guest's memory. */
const VMCORE_MAX_MIB = 8192;

function checkJobs(jobs: unknown): number {
  if (typeof jobs !== 'number' || !Number.isInteger(jobs) || jobs < 1 || jobs > 256) {
    throw new UsageError('E_BAD_JOBS', `-j ${String(jobs)} is not a number of VMs`, 'give a whole number from 1 to 256, e.g. -j 4');
  }
  return jobs;
}

function checkBatch(batch: number): number {
  if (!Number.isInteger(batch) || batch < 1) {
    throw new UsageError('E_BAD_BATCH', `--batch ${batch} is not a whole number ≥ 1`, 'e.g. --batch 8 (tests per check invocation; 1 = one check per test)');
  }
  return batch;
}

function parseShard(text: string): { index: number; total: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const total = m ? Number(m[2]) : NaN;
  if (!m || total < 1 || index < 1 || index > total) {
    throw new UsageError('E_BAD_SHARD', `--shard ${text} is not of the form i/n with 1 ≤ i ≤ n`, 'e.g. --shard 2/4 runs the second of four shards');
  }
  return { index, total };
}

/** The kernel: --kernel FILE, else the tree's bzImage when run in a kernel tree, else the image's. */
function resolveKernel(flag: string | undefined, cwd: string): { kernel?: string; kernelSource: RunConfig['kernelSource'] } {
  if (flag) {
    const file = path.resolve(cwd, flag);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
      throw new UsageError('E_KERNEL_MISSING', `kernel file ${flag} does not exist`, 'give a bzImage to --kernel (e.g. arch/x86/boot/bzImage after make), or leave it out to boot the image kernel');
    }
    return { kernel: file, kernelSource: 'flag' };
  }
  // A kernel tree has a top-level Kbuild and arch/; its x86 build lands in arch/x86/boot/bzImage.
  const bzImage = path.join(cwd, 'arch/x86/boot/bzImage');
  if (fs.existsSync(bzImage)) return { kernel: bzImage, kernelSource: 'tree' };
  if (fs.existsSync(path.join(cwd, 'Kbuild')) && fs.existsSync(path.join(cwd, 'arch'))) {
    throw new UsageError('E_KERNEL_NOT_BUILT', `${cwd} is a kernel tree but arch/x86/boot/bzImage does not exist`, 'build it first (make -j$(nproc) bzImage), or pass --kernel FILE');
  }
  return { kernelSource: 'image' };
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdir spins forever on some paths whose
 * parent refuses new entries with ENOENT (seen with /proc/<name> on Node 20).
 */
function makeDirs(dir: string): void {
  const parent = path.dirname(dir);
  if (parent !== dir && !fs.existsSync(parent)) makeDirs(parent);
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

function checkResultsDir(dir: string): void {
  try {
    makeDirs(dir);
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw new UsageError('E_RESULTS_UNWRITABLE', `results directory ${dir} is not writable (${(err as NodeJS.ErrnoException).code})`, 'pass --results DIR with a directory you can write to');
  }
}

export function normalizeRunConfig(args: RunArgs, argv: string[], env: NodeJS.ProcessEnv, cwd: string): RunConfig {
  const { config: file } = loadConfigFile(args.config, env, cwd);
  const fstests = args.fstests ?? file.fstests ?? env.KT_FSTESTS;
  if (!fstests) {
    throw new UsageError('E_FSTESTS_REQUIRED', 'no fstests tree given', 'pass --fstests DIR (a built xfstests-dev checkout), set fstests: in kt.yaml, or KT_FSTESTS');
  }
  const fstestsDir = path.resolve(cwd, fstests);
  if (!fs.existsSync(path.join(fstestsDir, 'check'))) {
    throw new UsageError('E_FSTESTS_NOT_FOUND', `${fstests} is not an fstests tree (no check script in ${fstestsDir})`, 'pass --fstests with the top directory of an xfstests-dev checkout');
  }
  const accel = args.accel ?? file.accel ?? 'auto';
  if (accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg') {
    throw new UsageError('E_BAD_ACCEL', `--accel ${accel} is not one of auto, kvm, tcg`, 'use --accel auto (KVM when it works, else TCG)');
  }
  const transport = args.transport ?? file.transport ?? 'virtio-serial';
  if (transport !== 'virtio-serial' && transport !== 'tcp') {
    throw new UsageError('E_BAD_TRANSPORT', `--transport ${transport} is not one of virtio-serial, tcp`, 'use --transport virtio-serial (default, no guest network)');
  }
  const resultsDir = path.resolve(cwd, args.results ?? file.results ?? 'kt-results');
  const suite = loadSuite(args.suite ?? file.suite ?? 'xfs');
  const excludeFiles = [...suite.excludeFiles, ...(file.exclude ?? []).map((f) => path.resolve(cwd, f)), ...(args.excludeFile ?? []).map((f) => path.resolve(cwd, f))];
  for (const f of excludeFiles) {
    if (!fs.existsSync(f)) throw new UsageError('E_EXCLUDE_FILE_MISSING', `exclude file ${f} does not exist`, 'fix the path given to -E (or in the suite/config file)');
  }
  const testTimeoutSec = args.testTimeout ?? file.testTimeout;
  if (testTimeoutSec !== undefined && !(testTimeoutSec > 0 && testTimeoutSec <= MAX_TIMER_SEC)) {
    throw new UsageError('E_BAD_TIMEOUT', `--test-timeout ${testTimeoutSec} is not a positive number of seconds`, 'e.g. --test-timeout 600');
  }
  const retries = args.retries ?? file.retries ?? 0;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new UsageError('E_BAD_RETRIES', `--retries ${retries} is not a whole number ≥ 0`, 'e.g. --retries 1');
  }
  if (!args.dryRun) checkResultsDir(resultsDir);
  const memoryMiB = checkInt(args.memory ?? file.memory ?? 2048, '--memory', 128, 1 << 20, 'MiB per VM, e.g. --memory 4096');
  const cpus = checkInt(args.cpus ?? file.cpus ?? 2, '--cpus', 1, 1024, 'vCPUs per VM, e.g. --cpus 2');
  const bootTimeoutSec = checkInt(args.bootTimeout ?? file.bootTimeout ?? 300, '--boot-timeout', 1, MAX_TIMER_SEC, 'seconds, e.g. --boot-timeout 300');
  if (args.vmcore && memoryMiB > VMCORE_MAX_MIB) {
    // The ELF dump holds all guest memory; a run of many panics could fill the results disk.
    throw new UsageError('E_VMCORE_TOO_LARGE', `--vmcore with --memory ${memoryMiB} would write ${memoryMiB} MiB per panic`, `use --memory ${VMCORE_MAX_MIB} or less for vmcore runs`);
  }
  const backendName = args.backend ?? 'direct';
  if (backendName !== 'direct' && backendName !== 'nixos') {
    throw new UsageError('E_BAD_BACKEND', `--backend ${backendName} is not one of direct, nixos`, 'use --backend direct (kt\'s Debian image) or --backend nixos --nixos-vm ./result');
  }
  if (backendName === 'nixos' && !args.nixosVm) {
    throw new UsageError('E_NIXOS_VM_REQUIRED', '--backend nixos needs --nixos-vm', 'build the VM with `nix build ./nix#vm` and pass --nixos-vm ./result');
  }
  const backend: RunConfig['backend'] = backendName === 'nixos' ? { kind: 'nixos', ...locateRunScript(path.resolve(cwd, args.nixosVm!)) } : { kind: 'direct' };
  const config: RunConfig = {
    argv,
    groups: args.group ?? [],
    excludeGroups: args.excludeGroup ?? [],
    tests: args.tests ?? [],
    excludeFiles,
    jobs: checkJobs(args.jobs ?? file.jobs ?? 1),
    ...resolveKernel(args.kernel ?? file.kernel, cwd),
    fstestsDir,
    resultsDir,
    accel,
    keep: args.keep ?? false,
    dryRun: args.dryRun ?? false,
    suite,
    memoryMiB,
    cpus,
    testSizeBytes: parseSize(args.testSize ?? file.testSize ?? '5G', '--test-size'),
    scratchSizeBytes: parseSize(args.scratchSize ?? file.scratchSize ?? '5G', '--scratch-size'),
    testTimeoutSec,
    bootTimeoutSec,
    retries,
    shard: args.shard ? parseShard(args.shard) : undefined,
    transport,
    vmcore: args.vmcore ?? false,
    append: [...(file.append ?? []), ...(args.append ?? [])],
    cacheDir: resolveCacheDir(env),
    backend,
    maxBatch: checkBatch(args.batch ?? 32),
  };
  return Object.freeze(config);
}
