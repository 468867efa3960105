/**
 * `kt repro`: the `kt run` that reruns one test of a recorded run the way that run ran it
 * (docs/baseline.md, "kt repro"). Pure: from the run-start event (kernel, fstests tree, argv,
 * sections) to the RunArgs that `runCommand` takes and the equivalent command line — the run
 * logic itself is not duplicated.
 *
 * What is carried over: the kernel (the recorded absolute path), the fstests tree, the section
 * (`-c`, from the argv's -c/--suite value that names its suite, else its recorded name), and
 * the flags of the recorded argv that shape a VM (memory, cpus, disk sizes, deadlines,
 * transport, kernel entry, TEST_DEV's origin, backend, kernel command line, modules, accelerator,
 * config file), and
 * the way the kernel was booted: a run whose record names no `bootKernel` booted the bzImage, so
 * its repro does too (--kernel-entry bzimage; docs/kernel.md, "How kt boots it"). A kernel file
 * is passed by its path; a run that booted the image's (or NixOS VM's) kernel passes none, and
 * kernelChange says when kt run would then boot another one. What is not:
 * groups, excludes, test names, jobs, shards, retries, results — the repro runs one test on one
 * fresh VM.
 */
import path from 'node:path';
import type { RunArgs } from '../config/runConfig.js';
import type { RunStartEvent, SectionConfig } from '../record/events.js';

/** Value flags of `kt run` that are carried into the repro, long form → RunArgs key. */
const CARRIED_VALUE_FLAGS = {
  '--config': 'config',
  '--memory': 'memory',
  '--cpus': 'cpus',
  '--test-size': 'testSize',
  '--scratch-size': 'scratchSize',
  '--test-timeout': 'testTimeout',
  '--boot-timeout': 'bootTimeout',
  '--transport': 'transport',
  '--kernel-entry': 'kernelEntry',
  '--test-dev': 'testDev',
  '--backend': 'backend',
  '--nixos-vm': 'nixosVm',
  '--modules': 'modules',
  '--accel': 'accel',
  '--rootfs': 'rootfs',
} as const satisfies Record<string, keyof RunArgs>;

/** Repeatable value flags carried over. */
const CARRIED_LIST_FLAGS = { '--append': 'append', '--module': 'module', '--share': 'share' } as const satisfies Record<string, keyof RunArgs>;

/** Every value flag of `kt run` (so a value is never mistaken for a flag or a test), short forms mapped to long. */
const VALUE_FLAGS: Record<string, string> = {
  '-g': '--group',
  '-x': '--exclude-group',
  '-E': '--exclude-file',
  '-j': '--jobs',
  '-c': '--section',
  '--group': '--group',
  '--exclude-group': '--exclude-group',
  '--exclude-file': '--exclude-file',
  '--jobs': '--jobs',
  '--section': '--section',
  '--suite': '--suite',
  '--kernel': '--kernel',
  '--fstests': '--fstests',
  '--results': '--results',
  '--retries': '--retries',
  '--shard': '--shard',
  '--batch': '--batch',
  '--baseline': '--baseline',
  ...Object.fromEntries(Object.keys({ ...CARRIED_VALUE_FLAGS, ...CARRIED_LIST_FLAGS }).map((f) => [f, f])),
};

/** On/off flags of `kt run` whose recorded value matters to the repro. */
const BOOLEAN_FLAGS: ReadonlySet<string> = new Set(['--vmcore', '--keep']);

/** The flags of a recorded `kt run` argv: long flag → values in order; booleans as "true"/"false". */
export function recordedFlags(argv: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (flag: string, value: string) => out.set(flag, [...(out.get(flag) ?? []), value]);
  const tokens = argv[0] === 'run' ? argv.slice(1) : argv;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === '--') break;
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const name = eq > 0 ? token.slice(0, eq) : token;
    const long = VALUE_FLAGS[name];
    if (long) {
      if (eq > 0) {
        add(long, token.slice(eq + 1));
        continue;
      }
      // As yargs reads it: a following token that is a flag is not this flag's value (a negative
      // number is, cli/argv.ts joinNegativeValues).
      const next = tokens[i + 1];
      if (next !== undefined && (!next.startsWith('-') || /^-[0-9.]/.test(next))) {
        add(long, next);
        i++;
      }
      continue;
    }
    if (BOOLEAN_FLAGS.has(name)) {
      // As yargs-parser reads an on/off flag: `--vmcore=V` is on only for V = "true", and a
      // following "true"/"false" is its value (and no test name).
      const next = tokens[i + 1];
      if (eq > 0) add(name, String(token.slice(eq + 1) === 'true'));
      else if (next === 'true' || next === 'false') {
        add(name, next);
        i++;
      } else add(name, 'true');
    } else if (name.startsWith('--no-') && BOOLEAN_FLAGS.has(`--${name.slice(5)}`)) add(`--${name.slice(5)}`, 'false');
  }
  return out;
}

/** The suite part of a section name: `xfs` of `xfs/4k`, the name itself without a slash. */
function suiteOf(sectionName: string): string {
  const slash = sectionName.lastIndexOf('/');
  return slash > 0 ? sectionName.slice(0, slash) : sectionName;
}

/** A suite spec's name as a section name starts with it: a file's basename without .yaml. */
function suiteNameOfSpec(suiteSpec: string): string {
  return /\.ya?ml$/.test(suiteSpec) ? path.basename(suiteSpec).replace(/\.ya?ml$/, '') : suiteSpec;
}

/**
 * The `-c` value that selects `section` again: the recorded -c/--suite value naming its suite
 * (a suite file keeps its path), else the section's own name (a shipped suite).
 */
export function sectionSpec(section: string, flags: Map<string, string[]>): string {
  const suite = suiteOf(section);
  const rest = section.length > suite.length ? section.slice(suite.length + 1) : undefined;
  const given = [...(flags.get('--section') ?? []), ...(flags.get('--suite') ?? [])].flatMap((v) => v.split(',')).map((v) => v.trim());
  for (const spec of given) {
    const file = /^(.*\.ya?ml)(?:\/.*)?$/.exec(spec);
    const suitePart = file ? file[1]! : spec.lastIndexOf('/') > 0 ? spec.slice(0, spec.lastIndexOf('/')) : spec;
    if (suiteNameOfSpec(suitePart) === suite) return rest === undefined ? suitePart : `${suitePart}/${rest}`;
  }
  return section;
}

/** The kernel of an image kt built (`<cache>/images/<hash>/vmlinuz`), as opposed to the user's. */
export function isImageKernel(kernel: string): boolean {
  return /\/images\/[0-9a-f]+\/vmlinuz$/.test(kernel);
}

/** What a NixOS run without a kernel of its own records as its kernel (src/cli/runCommand.ts). */
const NIXOS_VM_KERNEL = 'nixos-vm-kernel';

/**
 * Whether the run booted the kernel that came with its guest — the kt image's, or the NixOS
 * VM's — rather than a kernel file (--kernel, a config file's kernel:, a kernel tree's bzImage):
 * a file is passed to the repro by its path, the image kernel by passing none.
 */
function bootedOwnKernel(start: RunStartEvent, flags: Map<string, string[]>): boolean {
  return start.kernel === NIXOS_VM_KERNEL || (isImageKernel(start.kernel) && !flags.has('--kernel'));
}

/** The kernel a run of the repro's would boot, as kt run resolves it (src/config/runConfig.ts). */
export interface ResolvedKernel {
  kernel?: string;
  kernelSource: 'flag' | 'tree' | 'image';
  /** The kernel tree's bzImage is not built (kt run refuses: E_KERNEL_NOT_BUILT). */
  notBuilt?: boolean;
}

/**
 * Why the repro would boot another kernel than the run did, or undefined. kt run has no flag
 * for "the image kernel": without --kernel it boots a config file's `kernel:`, else the bzImage
 * of the kernel tree it runs in (src/config/runConfig.ts resolveKernel) — and the directory the
 * run ran in, where the repro runs, may have gained either since.
 */
export function kernelChange(start: RunStartEvent, run: ReproRun, now: ResolvedKernel, where: { cwd: string; configFile?: string }): { message: string; hint: string } | undefined {
  if (run.kernel !== undefined || now.kernelSource === 'image' || now.kernel === undefined) return undefined;
  // A kernel: that names the very file the run booted (the image's vmlinuz) is no change.
  if (start.kernel !== undefined && path.resolve(where.cwd, now.kernel) === path.resolve(start.kernel)) return undefined;
  const booted = start.kernel === NIXOS_VM_KERNEL ? "the NixOS VM's own kernel" : `the image kernel ${start.kernel}`;
  const fromFile = now.kernelSource === 'flag';
  const source = fromFile ? `the kernel: of ${where.configFile ?? 'its config file'}` : `the bzImage of the kernel tree it runs in${now.notBuilt ? ', not built yet' : ''}`;
  return {
    message: `the run booted ${booted}, but kt run in ${where.cwd} now boots ${now.kernel} (${source}): the repro would test another kernel`,
    hint: fromFile
      ? `to rerun with ${booted}, remove kernel: from ${where.configFile ?? 'the config file'}; to test ${now.kernel}, use kt run --kernel ${now.kernel}`
      : `kt run has no flag for the image kernel: to rerun with it, run kt run from a directory that is no kernel tree; to test ${now.kernel}, use kt run --kernel ${now.kernel}`,
  };
}

/** What `kt repro` asks for. */
export interface ReproRequest {
  test: string;
  /** The section to rerun it in (chosen by the caller). */
  section: SectionConfig;
  /** Where the repro's run directories go. */
  results: string;
  /** Keep the VM disks (--keep). */
  keep: boolean;
  /** Print the plan and boot nothing. */
  dryRun: boolean;
}

/** The run to start: RunArgs for runCommand and the same as a `kt run` command line. */
export interface ReproRun {
  args: RunArgs;
  /** `['run', ...]`: recorded in the repro's own event log, so a repro can be reproduced. */
  argv: string[];
  /** The recorded kernel path when the run booted it (undefined: the image's or the NixOS VM's kernel). */
  kernel?: string;
}

/** Flags whose values are paths, relative to the directory the recorded run ran in. */
const PATH_FLAGS: ReadonlySet<string> = new Set(['--config', '--nixos-vm', '--modules', '--module', '--section', '--suite']);

/** A recorded path made absolute with the run's cwd (when the log has it), so repro works from anywhere. */
function anchored(flag: string, value: string, cwd: string | undefined): string {
  // --share TAG:PATH[:ro] (docs/virtiofs.md): the path after the tag.
  const share = flag === '--share' && cwd ? /^([^:]*):(?!\/)(.*)$/.exec(value) : null;
  if (share) return `${share[1]}:${path.join(cwd!, share[2]!)}`;
  if (!cwd || !PATH_FLAGS.has(flag) || path.isAbsolute(value)) return value;
  // -c/--suite hold a path only when they name a suite file.
  if ((flag === '--section' || flag === '--suite') && !/\.ya?ml(\/|$)/.test(value)) return value;
  return path.join(cwd, value);
}

/** Builds the repro run of `request.test` from the run-start of the recorded run. */
export function reproRun(start: RunStartEvent, request: ReproRequest): ReproRun {
  const flags = new Map([...recordedFlags(start.argv)].map(([flag, values]) => [flag, values.map((v) => v.split(',').map((x) => anchored(flag, x.trim(), start.cwd)).join(','))]));
  const argv: string[] = ['run'];
  const args: RunArgs = {};
  const set = <K extends keyof RunArgs>(flag: string, key: K, value: NonNullable<RunArgs[K]>, tokens: string[]) => {
    args[key] = value;
    argv.push(flag, ...tokens);
  };
  const nixos = flags.get('--backend')?.at(-1) === 'nixos';
  const kernel = bootedOwnKernel(start, flags) ? undefined : start.kernel;
  if (kernel !== undefined) set('--kernel', 'kernel', kernel, [kernel]);
  if (start.fstests !== undefined) set('--fstests', 'fstests', start.fstests, [start.fstests]);
  const section = sectionSpec(request.section.name, flags);
  set('-c', 'section', [section], [section]);
  for (const [flag, key] of Object.entries(CARRIED_VALUE_FLAGS)) {
    const value = flags.get(flag)?.at(-1);
    if (value !== undefined) set(flag, key, value, [value]);
  }
  // KASLR and the paging depth differ between the two boots: reboot the way the run booted.
  if (!nixos && !flags.has('--kernel-entry') && start.bootKernel === undefined) set('--kernel-entry', 'kernelEntry', 'bzimage', ['bzimage']);
  for (const [flag, key] of Object.entries(CARRIED_LIST_FLAGS)) {
    const values = flags.get(flag) ?? [];
    if (values.length > 0) {
      args[key] = values;
      for (const v of values) argv.push(flag, v);
    }
  }
  if (flags.get('--vmcore')?.at(-1) === 'true') {
    args.vmcore = true;
    argv.push('--vmcore');
  }
  set('-j', 'jobs', '1', ['1']);
  set('--results', 'results', request.results, [request.results]);
  if (request.keep) {
    args.keep = true;
    argv.push('--keep');
  }
  if (request.dryRun) {
    args.dryRun = true;
    argv.push('--dry-run');
  }
  args.tests = [request.test];
  argv.push(request.test);
  return { args, argv, ...(kernel !== undefined ? { kernel } : {}) };
}
