/**
 * RunConfig: the one frozen, validated description of a `kt run` (docs/architecture.md). All raw
 * inputs (flags, kt.yaml, suite, environment) are normalised here, each check next to the
 * behaviour it protects, and every check that needs no boot runs here — so `--dry-run` refuses
 * exactly what a real run would refuse before booting.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError, printable } from '../errors.js';
import { whyNotWritable } from '../util/dirs.js';
import { pick, nonEmpty, oneOf, seconds, single, wholeNumber, type Sourced } from './input.js';
import { rulesFromExcludeFile, type ExcludeRule } from './excludes.js';
import { checkKernelFile } from './kernelFile.js';
import { resolveModuleFlags } from './moduleFlags.js';
import { resolveRootfsFlags, type RootfsChoice, type Share } from './rootfsFlags.js';
import { loadConfigFile } from './load.js';
import type { ConfigFile } from './schema.js';
import { parseSize } from './size.js';
import { excludeRules, readExcludeFile, selectSections, type RunSection } from './suites.js';

export type { RunSection } from './suites.js';
export type { ExcludeRule } from './excludes.js';

/** The accelerator the user asked for. */
export type AccelRequest = 'auto' | 'kvm' | 'tcg';

/** The raw flags of `kt run` as yargs hands them over: strings as typed, arrays when repeated. */
export interface RunArgs {
  group?: string[];
  excludeGroup?: string[];
  excludeFile?: string[];
  /** -c: sections, `SUITE/SECTION` (repeatable, comma lists). */
  section?: string[];
  jobs?: string | string[];
  kernel?: string | string[];
  fstests?: string | string[];
  results?: string | string[];
  accel?: string | string[];
  keep?: boolean;
  dryRun?: boolean;
  tests?: string[];
  config?: string | string[];
  suite?: string | string[];
  memory?: string | string[];
  cpus?: string | string[];
  testSize?: string | string[];
  scratchSize?: string | string[];
  testTimeout?: string | string[];
  bootTimeout?: string | string[];
  retries?: string | string[];
  shard?: string | string[];
  transport?: string | string[];
  kernelEntry?: string | string[];
  /** --test-dev: TEST_DEV from a copy of one made once (template, the default) or every VM's own mkfs. */
  testDev?: string | string[];
  vmcore?: boolean;
  append?: string[];
  backend?: string | string[];
  nixosVm?: string | string[];
  batch?: string | string[];
  /** --spares: VMs kept booted ahead to replace a crashed one at once. */
  spares?: string | string[];
  /** --modules DIR and --module FILE.ko (repeatable): src/config/moduleFlags.ts. */
  modules?: string | string[];
  module?: string[];
  /** --rootfs image|virtiofs and --share TAG:PATH[:ro] (repeatable): src/config/rootfsFlags.ts. */
  rootfs?: string | string[];
  share?: string[];
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
  /** Exclude rules of the config file and -E (sections hold their suite's and their own). */
  excludes: ExcludeRule[];
  jobs: number;
  /**
   * -j, --cpus and --spares as the user gave them (undefined: not given), before
   * src/config/runSize.ts fits them to the host: -j auto, --cpus 1 under TCG with a VM per core.
   */
  sizeRequest: { jobs: number | 'auto' | undefined; cpus: number | undefined; spares: number | undefined };
  /** A kernel image to boot, or undefined for the guest image's own kernel. */
  kernel?: string;
  /** Where the kernel came from, for messages. */
  kernelSource: 'flag' | 'tree' | 'image';
  /** The kernel tree kt runs in, when it does (its .config is checked before booting). */
  kernelTree?: string;
  fstestsDir: string;
  resultsDir: string;
  accel: AccelRequest;
  keep: boolean;
  dryRun: boolean;
  /** The filesystem configurations of the run, in order (-c, --suite, or the config file). */
  sections: RunSection[];
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
  /** auto: the kernel's PVH entry when its uncompressed ELF is at hand (src/vm/pvh); bzimage: always the bzImage. */
  kernelEntry: 'auto' | 'bzimage';
  /**
   * template: a VM's TEST_DEV starts as a copy of the one an earlier VM's mkfs made for the same
   * image, kernel build, section and size (src/cli/testDevTemplates.ts); mkfs: every VM makes its own.
   */
  testDev: 'template' | 'mkfs';
  vmcore: boolean;
  append: string[];
  /** At most this many tests per `check` invocation (--batch). */
  maxBatch: number;
  /** VMs kept booted ahead (--spares; default 1 with -j > 1, else 0). */
  spares: number;
  /** direct: kt's Debian image; nixos: the VM built from nix/ (its path as given). */
  backend: { kind: 'direct' } | { kind: 'nixos'; vmPath: string };
  /** --modules: the installed modules of the kernel under test (else a tree's are staged). */
  modulesDir?: string;
  /** --module: out-of-tree modules loaded into every VM before its first test (docs/kernel.md). */
  extraModules: string[];
  /** --rootfs: kt's root image (default) or the image's tree over virtiofs (docs/virtiofs.md). */
  rootfs: RootfsChoice;
  /** --share: host directories mounted at /mnt/share/<tag> (virtiofs only). */
  shares: Share[];
}

/** Node timers hold at most 2^31-1 ms (about 24.8 days); longer deadlines would fire at once. */
const MAX_TIMER_SEC = 2_147_483;

/**
 * vCPUs QEMU's q35 machine takes: 288 in QEMU 7.2 (Debian 12's; hw/i386/pc_q35.c max_cpus),
 * which refuses more with "Invalid SMP CPUs 289. The max CPUs supported by machine 'pc-q35-7.2'
 * is 288". Later QEMU versions raised it; kt keeps the lowest, so a config works on every host.
 */
const Q35_MAX_CPUS = 288;

/** Size cap of --vmcore: a dump is as large as the guest's memory. */
const VMCORE_MAX_MIB = 8192;

function parseShard(v: Sourced<string>): { index: number; total: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v.value);
  const index = m ? Number(m[1]) : NaN;
  const total = m ? Number(m[2]) : NaN;
  if (!m || total < 1 || index < 1 || index > total) {
    throw new UsageError('E_BAD_SHARD', `${v.source} ${printable(v.value)} is not of the form i/n with 1 ≤ i ≤ n`, 'e.g. --shard 2/4 runs the second of four shards');
  }
  return { index, total };
}

/** The kernel: --kernel FILE, else the tree's bzImage when run in a kernel tree, else the image's. */
function resolveKernel(given: Sourced<string | undefined>, cwd: string, base: string): Pick<RunConfig, 'kernel' | 'kernelSource' | 'kernelTree'> {
  if (given.value !== undefined) {
    if (given.value.trim() === '') throw new UsageError('E_EMPTY_VALUE', `${given.source} was given without a file`, 'give a bzImage, e.g. --kernel arch/x86/boot/bzImage');
    const file = path.resolve(base, given.value);
    checkKernelFile(file, given.value);
    return { kernel: file, kernelSource: 'flag' };
  }
  // A kernel tree has a top-level Kbuild and arch/; its x86 build lands in arch/x86/boot/bzImage.
  const isTree = fs.existsSync(path.join(cwd, 'Kbuild')) && fs.existsSync(path.join(cwd, 'arch'));
  const bzImage = path.join(cwd, 'arch/x86/boot/bzImage');
  if (fs.existsSync(bzImage)) {
    checkKernelFile(bzImage, bzImage);
    return { kernel: bzImage, kernelSource: 'tree', ...(isTree ? { kernelTree: cwd } : {}) };
  }
  if (isTree) {
    throw new UsageError('E_KERNEL_NOT_BUILT', `${cwd} is a kernel tree but arch/x86/boot/bzImage does not exist`, 'build it first (make -j$(nproc) bzImage), or pass --kernel FILE');
  }
  return { kernelSource: 'image' };
}

/**
 * Checked, not created: the run creates it with its run directory (src/record/runDir.ts), so a
 * run refused later (an unknown group, a kernel config) leaves no empty ./kt-results behind.
 */
function checkResultsDir(dir: string): void {
  const why = whyNotWritable(dir);
  if (why) throw new UsageError('E_RESULTS_UNWRITABLE', `results directory ${printable(dir)} is not writable (${why})`, 'pass --results DIR with a directory you can write to');
}

/** -c sections, else --suite's default section, else the config file's sections or suite, else xfs. */
function resolveSections(args: Pick<RunArgs, 'section' | 'suite'>, file: ConfigFile, configPath: string | undefined, cwd: string): RunSection[] {
  const flagSections = nonEmpty('-c', args.section, 'section', '-c xfs/4k');
  const suiteFlag = single('--suite', args.suite);
  if (flagSections.length > 0 && suiteFlag !== undefined) {
    throw new UsageError('E_SECTIONS_AND_SUITE', `-c ${printable(flagSections.join(','))} and --suite ${printable(suiteFlag)} were both given`, 'give the sections with -c SUITE/SECTION (--suite NAME is -c NAME: its default section)');
  }
  if (flagSections.length > 0) return selectSections(flagSections, cwd, '-c');
  if (suiteFlag !== undefined) return selectSections([suiteFlag], cwd, '--suite');
  const where = configPath ?? 'config file';
  // Suite files named in the config file are relative to it, like its other paths.
  const base = configPath ? path.dirname(path.resolve(cwd, configPath)) : cwd;
  if (file.sections?.length) return selectSections(file.sections, base, `${where}: sections`);
  if (file.suite !== undefined) return selectSections([file.suite], base, `${where}: suite`);
  return selectSections(['xfs'], cwd, '--suite');
}

/** A flag, else the config file's key, else the fallback, with where it came from. */
function fromFlagOrFile<T>(file: ConfigFile, configPath: string | undefined, flagName: string, flag: T | T[] | undefined, key: keyof ConfigFile, fallback: T): Sourced<T> {
  return pick({ name: flagName, value: single(flagName, flag) }, { ...(configPath ? { path: configPath } : {}), key, value: file[key] as T | undefined }, fallback);
}

function resolveTransport(args: Pick<RunArgs, 'transport'>, file: ConfigFile, configPath: string | undefined): RunConfig['transport'] {
  return oneOf(fromFlagOrFile<string>(file, configPath, '--transport', args.transport, 'transport', 'virtio-serial'), ['virtio-serial', 'tcp'] as const, 'E_BAD_TRANSPORT', 'use --transport virtio-serial (default, no guest network)');
}

function resolveBackendName(args: Pick<RunArgs, 'backend'>, file: ConfigFile, configPath: string | undefined): RunConfig['backend']['kind'] {
  return oneOf(fromFlagOrFile<string>(file, configPath, '--backend', args.backend, 'backend', 'direct'), ['direct', 'nixos'] as const, 'E_BAD_BACKEND', "use --backend direct (kt's Debian image) or --backend nixos --nixos-vm ./result");
}

/** What the kernel a run boots must support, read as kt run reads it (flags, then the config file). */
export interface KernelNeeds {
  /** The config file read (as given or found), if any. */
  configPath?: string;
  sections: RunSection[];
  backend: RunConfig['backend']['kind'];
  rootfs: RootfsChoice;
  transport: RunConfig['transport'];
}

/**
 * The sections, backend, root file system and transport of a run, from the same flags and
 * config file (./kt.yaml, ~/.config/kt/config.yaml, --config) as normalizeRunConfig: `kt kconfig
 * check|fix` checks and fixes what `kt run` will then check (src/kconfig/forRun.ts).
 */
export function resolveKernelNeeds(args: Pick<RunArgs, 'config' | 'section' | 'suite' | 'backend' | 'rootfs' | 'transport'>, env: NodeJS.ProcessEnv, cwd: string): KernelNeeds {
  const { file: configPath, config: file } = loadConfigFile(single('--config', args.config), env, cwd);
  const backend = resolveBackendName(args, file, configPath);
  return {
    ...(configPath ? { configPath } : {}),
    sections: resolveSections(args, file, configPath, cwd),
    backend,
    // Shares are mounts of a run, nothing the kernel config decides.
    rootfs: resolveRootfsFlags({ rootfs: single('--rootfs', args.rootfs), share: undefined }, { rootfs: file.rootfs, shares: undefined, path: configPath }, cwd, backend).rootfs,
    transport: resolveTransport(args, file, configPath),
  };
}

export function normalizeRunConfig(args: RunArgs, argv: string[], env: NodeJS.ProcessEnv, cwd: string): RunConfig {
  const configFlag = single('--config', args.config);
  const { file: configPath, config: file } = loadConfigFile(configFlag, env, cwd);
  const from = <T>(flagName: string, flag: T | T[] | undefined, key: keyof typeof file, fallback: T): Sourced<T> => fromFlagOrFile(file, configPath, flagName, flag, key, fallback);

  // Paths in the config file are relative to the file (~/.config/kt/config.yaml works from
  // anywhere); paths on the command line and in the environment to the current directory.
  const fileBase = configPath ? path.dirname(path.resolve(cwd, configPath)) : cwd;
  const baseOf = (flag: unknown) => (flag === undefined ? fileBase : cwd);
  const fstestsFlag = single('--fstests', args.fstests);
  const fstests = fstestsFlag ?? file.fstests ?? env.KT_FSTESTS;
  if (fstests === undefined || fstests.trim() === '') {
    throw new UsageError('E_FSTESTS_REQUIRED', 'no fstests tree given', 'pass --fstests DIR (a built xfstests-dev checkout), set fstests: in kt.yaml, or KT_FSTESTS');
  }
  const fstestsDir = path.resolve(fstestsFlag === undefined && file.fstests !== undefined ? fileBase : cwd, fstests);
  if (!fs.existsSync(path.join(fstestsDir, 'check'))) {
    throw new UsageError('E_FSTESTS_NOT_FOUND', `${printable(fstests)} is not an fstests tree (no check script in ${fstestsDir})`, 'pass --fstests with the top directory of an xfstests-dev checkout');
  }
  const accel = oneOf(from<string>('--accel', args.accel, 'accel', 'auto'), ['auto', 'kvm', 'tcg'] as const, 'E_BAD_ACCEL', 'use --accel auto (KVM when it works, else TCG)');
  const transport = resolveTransport(args, file, configPath);
  // Case-blind: kt's own messages spell it bzImage.
  const entryGiven = from<string>('--kernel-entry', args.kernelEntry, 'kernelEntry', 'auto');
  const kernelEntry = oneOf({ ...entryGiven, value: entryGiven.value.toLowerCase() }, ['auto', 'bzimage'] as const, 'E_BAD_KERNEL_ENTRY', 'use --kernel-entry auto (the PVH entry when possible) or bzimage');
  const testDev = oneOf(from<string>('--test-dev', args.testDev, 'testDev', 'template'), ['template', 'mkfs'] as const, 'E_BAD_TEST_DEV', "use --test-dev template (a copy of a TEST_DEV made once) or mkfs (every VM's own mkfs)");
  const resultsGiven = from<string>('--results', args.results, 'results', 'kt-results');
  if (resultsGiven.value.trim() === '') throw new UsageError('E_EMPTY_VALUE', `${resultsGiven.source} was given without a directory`, 'give a directory, e.g. --results kt-results');
  const resultsDir = path.resolve(baseOf(single('--results', args.results)), resultsGiven.value);
  const sections = resolveSections(args, file, configPath, cwd);
  const excludes: ExcludeRule[] = [
    ...excludeRules(file.exclude ?? [], configPath ? path.dirname(path.resolve(cwd, configPath)) : cwd, 'config', configPath ?? 'the config file'),
    ...nonEmpty('-E', args.excludeFile, 'file', '-E my.exclude').flatMap((f) => {
      const abs = path.resolve(cwd, f);
      return rulesFromExcludeFile(readExcludeFile(abs, f, '-E'), f, 'cli');
    }),
  ];

  const timeoutGiven = from<string | number | undefined>('--test-timeout', args.testTimeout, 'testTimeout', undefined);
  const testTimeoutSec =
    timeoutGiven.value === undefined
      ? undefined
      : seconds(timeoutGiven as Sourced<string | number>, MAX_TIMER_SEC, 'e.g. --test-timeout 600', 'Node timers hold at most 24.8 days');
  const retries = wholeNumber(from<string | number>('--retries', args.retries, 'retries', 0), 0, 100, 'e.g. --retries 1', 'E_BAD_RETRIES');
  const dryRun = args.dryRun ?? false;
  checkResultsDir(resultsDir);
  const memoryMiB = wholeNumber(from<string | number>('--memory', args.memory, 'memory', 2048), 128, 1 << 20, 'MiB per VM, e.g. --memory 4096');
  const cpusGiven = from<string | number | undefined>('--cpus', args.cpus, 'cpus', undefined);
  const cpusAsked = Number(String(cpusGiven.value ?? 2).trim());
  if (Number.isInteger(cpusAsked) && cpusAsked > Q35_MAX_CPUS) {
    throw new UsageError('E_BAD_NUMBER', `${cpusGiven.source} ${cpusAsked} is more vCPUs than QEMU's q35 machine takes (at most ${Q35_MAX_CPUS}; QEMU 7.2 refuses more)`, 'give vCPUs per VM, e.g. --cpus 2');
  }
  const cpus = wholeNumber({ ...cpusGiven, value: cpusGiven.value ?? 2 }, 1, Q35_MAX_CPUS, 'vCPUs per VM, e.g. --cpus 2');
  const bootTimeoutSec = wholeNumber(from<string | number>('--boot-timeout', args.bootTimeout, 'bootTimeout', 300), 1, MAX_TIMER_SEC, 'seconds, e.g. --boot-timeout 300');
  const jobsGiven = from<string | number | undefined>('-j', args.jobs, 'jobs', undefined);
  // -j auto: decided against the host's cores and memory once the accelerator is known (runSize.ts).
  const jobsAuto = jobsGiven.value === 'auto';
  const jobs = jobsAuto ? 1 : wholeNumber({ ...jobsGiven, value: jobsGiven.value ?? 1 }, 1, 256, 'a whole number from 1 to 256, e.g. -j 4, or -j auto', 'E_BAD_JOBS');
  const sparesGiven = from<string | number | undefined>('--spares', args.spares, 'spares', undefined);
  const maxBatch = wholeNumber(from<string | number>('--batch', args.batch, 'batch', 32), 1, 100_000, 'e.g. --batch 8 (tests per check invocation; 1 = one check per test)', 'E_BAD_BATCH');
  if (args.vmcore && memoryMiB > VMCORE_MAX_MIB) {
    // The ELF dump holds all guest memory; a run of many panics could fill the results disk.
    throw new UsageError('E_VMCORE_TOO_LARGE', `--vmcore with --memory ${memoryMiB} would write ${memoryMiB} MiB per panic`, `use --memory ${VMCORE_MAX_MIB} or less for vmcore runs`);
  }
  const backendName = resolveBackendName(args, file, configPath);
  const nixosVm = single('--nixos-vm', args.nixosVm);
  if (backendName === 'nixos' && !nixosVm) {
    throw new UsageError('E_NIXOS_VM_REQUIRED', '--backend nixos needs --nixos-vm', 'build the VM with `nix build ./nix#vm` and pass --nixos-vm ./result');
  }
  const shardGiven = single('--shard', args.shard);
  const config: RunConfig = {
    argv,
    groups: nonEmpty('-g', args.group, 'group', '-g quick'),
    excludeGroups: nonEmpty('-x', args.excludeGroup, 'group', '-x dangerous'),
    tests: args.tests ?? [],
    excludes,
    jobs,
    sizeRequest: {
      jobs: jobsAuto ? 'auto' : jobsGiven.value === undefined ? undefined : jobs,
      cpus: cpusGiven.value === undefined ? undefined : cpus,
      spares: sparesGiven.value === undefined ? undefined : wholeNumber(sparesGiven as Sourced<string | number>, 0, 64, 'e.g. --spares 1', 'E_BAD_SPARES'),
    },
    ...resolveKernel(from<string | undefined>('--kernel', args.kernel, 'kernel', undefined), cwd, baseOf(single('--kernel', args.kernel))),
    fstestsDir,
    resultsDir,
    accel,
    keep: args.keep ?? false,
    dryRun,
    sections,
    memoryMiB,
    cpus,
    // One VM serves every section of the run: its disks are as large as the largest asked.
    testSizeBytes: Math.max(parseSize(from<string>('--test-size', args.testSize, 'testSize', '5G')), ...sections.map((s) => s.testSizeBytes ?? 0)),
    scratchSizeBytes: Math.max(parseSize(from<string>('--scratch-size', args.scratchSize, 'scratchSize', '5G')), ...sections.map((s) => s.scratchSizeBytes ?? 0)),
    ...(testTimeoutSec !== undefined ? { testTimeoutSec } : {}),
    bootTimeoutSec,
    retries,
    ...(shardGiven !== undefined ? { shard: parseShard({ value: shardGiven, source: '--shard' }) } : {}),
    transport,
    kernelEntry,
    testDev,
    vmcore: args.vmcore ?? false,
    append: [...(file.append ?? []), ...(args.append ?? [])],
    maxBatch,
    // One spare where a crash would otherwise leave a slot idle for a whole boot; with -j 1 the
    // run waits for the replacement either way, and a spare would only cost memory.
    spares: wholeNumber(from<string | number>('--spares', args.spares, 'spares', jobs > 1 ? 1 : 0), 0, 64, 'e.g. --spares 1', 'E_BAD_SPARES'),
    backend: backendName === 'nixos' ? { kind: 'nixos', vmPath: path.resolve(cwd, nixosVm!) } : { kind: 'direct' },
    ...resolveModuleFlags(args, cwd, backendName),
    ...resolveRootfsFlags({ rootfs: single('--rootfs', args.rootfs), share: args.share }, { rootfs: file.rootfs, shares: file.shares, path: configPath }, cwd, backendName),
  };
  return Object.freeze(config);
}
