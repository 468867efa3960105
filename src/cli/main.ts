/**
 * kt's command line. Only the CLI prints errors and picks exit codes (docs/architecture.md).
 */
import yargs from 'yargs';
import { ExitCode, UsageError, formatError, isKtError, printable } from '../errors.js';
import { single } from '../config/input.js';
import { runCommand } from './runCommand.js';
import { imageBuildCommand } from './imageCommand.js';
import { reportCommandCli } from './reportCommand.js';
import { joinNegativeValues, negatedValueFlag, RUN_VALUE_FLAGS, type DeclaredFlags } from './argv.js';
import { ktVersion } from './version.js';
import { releaseHungUpTerminal } from './terminal.js';

export async function main(rawArgv: string[]): Promise<void> {
  let exitCode: number = ExitCode.ok;
  // A closed terminal (SIGHUP) or a closed pipe (`kt ... | head`) makes writes fail: kt goes on
  // with its clean stop — VMs shut down, results written — and drops what it cannot print.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const argv = joinNegativeValues(rawArgv, RUN_VALUE_FLAGS);
  // Value flags are declared as strings: kt checks and echoes them as typed (yargs' number
  // type would turn `-j abc` into NaN). Repeatable flags are plain strings too: yargs'
  // `array: true` would swallow the test names after `-g quick` (`kt run -g quick generic/001`);
  // repeats still arrive as arrays, and single-value flags given twice are refused.
  // No dot-notation: `--fstests.a X` or `-g.x y` would hand an object to a flag that takes a
  // string; without it they are unknown options, which strict mode refuses.
  const parser = yargs(argv)
    .parserConfiguration(PARSER_CONFIG)
    .scriptName('kt')
    .usage('$0 <command> [options]')
    .command(
      'run [tests..]',
      'run fstests in parallel ephemeral VMs',
      (y) =>
        y
          .positional('tests', { type: 'string', array: true, describe: 'explicit tests, e.g. generic/001 xfs/042' })
          .option('group', { alias: 'g', type: 'string', describe: 'fstests group to run (repeatable)' })
          .option('exclude-group', { alias: 'x', type: 'string', describe: 'fstests group to leave out (repeatable)' })
          .option('exclude-file', { alias: 'E', type: 'string', describe: 'file of tests to leave out (fstests -E format, repeatable)' })
          .option('jobs', { alias: 'j', type: 'string', describe: 'parallel VMs, or auto: one per core (TCG) or per 2 cores (KVM), as memory allows (default 1)' })
          .option('kernel', { type: 'string', describe: 'kernel image (default: ./arch/x86/boot/bzImage in a kernel tree, else the image kernel)' })
          .option('fstests', { type: 'string', describe: 'built fstests (xfstests-dev) tree' })
          .option('results', { type: 'string', describe: 'results directory (default ./kt-results)' })
          .option('accel', { type: 'string', describe: 'auto | kvm | tcg (default auto)' })
          .option('keep', { type: 'boolean', describe: 'keep VM disks and temp files after the run' })
          .option('dry-run', { type: 'boolean', describe: 'print the plan and the qemu command lines, boot nothing' })
          .option('config', { type: 'string', describe: 'config file (default ./kt.yaml, ~/.config/kt/config.yaml)' })
          .option('section', { alias: 'c', type: 'string', describe: 'sections to run, SUITE/SECTION (repeatable, comma lists; SUITE/all: every section), e.g. -c xfs/4k,xfs/1k' })
          .option('suite', { type: 'string', describe: "a suite's default section: xfs, ext4, btrfs or a suite YAML file (= -c SUITE)" })
          .option('memory', { type: 'string', describe: 'MiB of memory per VM (default 2048)' })
          .option('cpus', { type: 'string', describe: 'vCPUs per VM (default 2; 1 under TCG with as many VMs as cores)' })
          .option('test-size', { type: 'string', describe: 'TEST_DEV size (default 5G, sparse)' })
          .option('scratch-size', { type: 'string', describe: 'SCRATCH_DEV size (default 5G, sparse)' })
          .option('test-timeout', { type: 'string', describe: 'per-test deadline in seconds (default: from history)' })
          .option('boot-timeout', { type: 'string', describe: 'seconds a VM may take to boot (default 300)' })
          .option('retries', { type: 'string', describe: 'rerun a failed test up to N times on a fresh VM (flaky detection)' })
          .option('shard', { type: 'string', describe: 'run shard i of n of the test list (CI), e.g. 2/4' })
          .option('transport', { type: 'string', describe: 'virtio-serial (default) or tcp (127.0.0.1 host forward)' })
          .option('kernel-entry', { type: 'string', describe: "auto (default: the kernel's PVH entry when its uncompressed ELF is at hand; docs/kernel.md) or bzimage" })
          .option('test-dev', { type: 'string', describe: "template (default: TEST_DEV as a copy of one an earlier VM's mkfs made for this image, kernel build and section) or mkfs (every VM's own)" })
          .option('vmcore', { type: 'boolean', describe: 'on a guest panic, dump guest memory into the run directory' })
          .option('batch', { type: 'string', describe: 'at most N tests per check invocation (default 32; see bench)' })
          .option('spares', { type: 'string', describe: 'VMs kept booted ahead to replace a crashed one at once (default 1 with -j > 1)' })
          .option('backend', { type: 'string', describe: "direct (kt's Debian image, default) or nixos (a VM built from nix/)" })
          .option('nixos-vm', { type: 'string', describe: 'with --backend nixos: the VM derivation (./result of nix build ./nix#vm)' })
          .option('append', { type: 'string', describe: 'extra kernel command line parameter (repeatable)' })
          .option('modules', { type: 'string', describe: 'installed modules of the kernel (lib/modules/<release>; default: the tree\'s, staged)' })
          .option('module', { type: 'string', describe: 'out-of-tree module (.ko) to load in every VM before the first test (repeatable)' })
          .option('rootfs', { type: 'string', describe: "image (kt's root image, default) or virtiofs (no root image: the image tree and the fstests tree shared read-only)" })
          .option('share', { type: 'string', describe: 'with --rootfs virtiofs: host directory mounted at /mnt/share/TAG, TAG:PATH[:ro] (repeatable)' })
          .option('baseline', { type: 'string', describe: 'judge the run against this baseline (docs/baseline.md): exit 1 only for regressions' })
          .strict(),
      async (args) => {
        const { baselinePath } = await import('./baselineFile.js');
        const baseline = baselinePath(args.baseline);
        exitCode = await runCommand(
          {
            group: toList(args.group, '-g'),
            excludeGroup: toList(args.excludeGroup, '-x'),
            excludeFile: toList(args.excludeFile, '-E'),
            section: toList(args.section, '-c'),
            jobs: args.jobs,
            kernel: args.kernel,
            fstests: args.fstests,
            results: args.results,
            accel: args.accel,
            keep: lastFlag(args.keep),
            dryRun: lastFlag(args.dryRun),
            tests: args.tests,
            config: args.config,
            suite: args.suite,
            memory: args.memory,
            cpus: args.cpus,
            testSize: args.testSize,
            scratchSize: args.scratchSize,
            testTimeout: args.testTimeout,
            bootTimeout: args.bootTimeout,
            retries: args.retries,
            shard: args.shard,
            transport: args.transport,
            kernelEntry: args.kernelEntry,
            testDev: args.testDev,
            vmcore: lastFlag(args.vmcore),
            append: toList(args.append, '--append'),
            backend: args.backend,
            batch: args.batch,
            spares: args.spares,
            nixosVm: args.nixosVm,
            modules: args.modules,
            module: toList(args.module, '--module'),
            rootfs: args.rootfs,
            share: toList(args.share, '--share'),
          },
          rawArgv,
          baseline !== undefined ? { baseline } : {},
        );
      },
    )
    .command(
      'image [action]',
      'build (or reuse) the Debian guest image: kt image build',
      (y) =>
        y
          // An action, not a word of the command's name: `kt image delete` must not build.
          .positional('action', { type: 'string', describe: `one of: ${IMAGE_ACTIONS.join(', ')}` })
          .option('rebuild', { type: 'boolean', describe: 'build even when a cached image exists' })
          .option('system', { type: 'boolean', describe: 'build into the shared cache every user reads (/var/cache/kt; as root)' })
          .strict(),
      async (args) => {
        if (args.action === undefined || !IMAGE_ACTIONS.includes(args.action)) {
          const what = args.action === undefined ? 'kt image needs an action' : `${printable(args.action)} is not an action of kt image`;
          throw new UsageError(
            'E_IMAGE_ACTION',
            `${what} (its actions: ${IMAGE_ACTIONS.join(', ')})`,
            'kt image build [--rebuild] builds or reuses the image; an image is a directory of the cache, deleted like any other (docs/image.md)',
          );
        }
        exitCode = await imageBuildCommand({ rebuild: lastFlag(args.rebuild) ?? false, system: lastFlag(args.system) ?? false });
      },
    )
    .command(
      'report <runDirs..>',
      'rebuild junit.xml, summary.json, report.md and report.html from one or more run directories (CI shards)',
      (y) =>
        y
          .positional('runDirs', { type: 'string', array: true, demandOption: true })
          .option('out', { type: 'string', describe: 'write the merged reports here (default: the single run dir)' })
          .option('format', { type: 'string', describe: 'junit, json, md or html: only these reports (repeatable or a comma list; default all)' })
          .option('baseline', { type: 'string', describe: 'judge the runs against this baseline (docs/baseline.md): exit 1 only for regressions' }),
      async (args) => {
        const formats = toList(args.format, '--format');
        const { baselinePath } = await import('./baselineFile.js');
        const baseline = baselinePath(args.baseline);
        exitCode = await reportCommandCli(args.runDirs as string[], singleOut(args.out), { ...(baseline !== undefined ? { baseline } : {}), ...(formats ? { formats } : {}) });
      },
    )
    .command(
      'kconfig <action> [tree]',
      "check a kernel's config for kt (check), add what it lacks (fix), or print kt's Kconfig fragment (fragment)",
      (y) =>
        y
          .positional('action', { type: 'string', choices: ['check', 'fix', 'fragment'], demandOption: true })
          .positional('tree', { type: 'string', describe: 'kernel tree or O= build directory with a .config (default: .)' })
          .option('config', { type: 'string', describe: 'check this .config file instead of a tree' })
          .option('kernel', { type: 'string', describe: 'check the config built into this bzImage (CONFIG_IKCONFIG)' })
          .option('suite', { type: 'string', describe: 'suite whose default section is checked (default xfs, or suite: of kt.yaml)' })
          .option('section', { alias: 'c', type: 'string', describe: 'sections to check, SUITE/SECTION (repeatable, comma lists, SUITE/all)' })
          .option('backend', { type: 'string', describe: 'direct (default) or nixos' })
          .option('rootfs', { type: 'string', describe: "image (kt's root image, default) or virtiofs (imageless boot)" })
          .option('transport', { type: 'string', describe: 'virtio-serial (default) or tcp' })
          .option('modules', { type: 'string', describe: 'installed modules of this kernel (lib/modules/<release>): =m counts' })
          .option('json', { type: 'boolean', describe: 'check: print JSON' })
          .option('required-only', { type: 'boolean', describe: 'fix, fragment: add only the required options' })
          .option('all', { type: 'boolean', describe: 'fragment: every option kt needs or recommends, whatever the config has' })
          .strict(),
      async (args) => {
        const { kconfigCommandCli } = await import('./kconfigCommand.js');
        exitCode = await kconfigCommandCli({ ...args, action: String(args.action) });
      },
    )
    .command(
      'crash <action> [files..]',
      'find kernel crash reports in console logs (scan: one line per report, - reads stdin)',
      (y) =>
        y
          .positional('action', { type: 'string', choices: ['scan'], demandOption: true })
          .positional('files', { type: 'string', array: true, describe: 'console logs (- for stdin)' })
          .option('json', { type: 'boolean', describe: 'print one JSON object per report' })
          .strict(),
      async (args) => {
        const { crashCommandCli } = await import('./crashCommand.js');
        exitCode = await crashCommandCli(String(args.action), args.files ?? [], { json: lastFlag(args.json) ?? false }, rawArgv);
      },
    )
    .command(
      'baseline <action> [runDirs..]',
      'record run results as a baseline of failure rates (update), or print it (show): docs/baseline.md',
      (y) =>
        y
          .positional('action', { type: 'string', choices: ['update', 'show'], demandOption: true })
          .positional('runDirs', { type: 'string', array: true, describe: 'update: run directories to fold in' })
          .option('baseline', { type: 'string', describe: 'the baseline file (default ./kt-baseline.json)' })
          .strict(),
      async (args) => {
        const { baselineUpdateCli, baselineShowCli } = await import('./baselineCommand.js');
        if (args.action === 'show') {
          if ((args.runDirs ?? []).length > 0) throw new UsageError('E_USAGE', `kt baseline show takes no run directories (got ${(args.runDirs ?? []).join(' ')})`, 'kt baseline show [--baseline FILE]');
          exitCode = baselineShowCli(args.baseline);
        } else exitCode = await baselineUpdateCli(args.runDirs ?? [], args.baseline);
      },
    )
    .command(
      'compare [dirs..]',
      'did the head runs regress against the base runs? kt compare BASE HEAD, or BASE... -- HEAD... (docs/baseline.md)',
      (y) =>
        y
          .positional('dirs', { type: 'string', array: true, describe: 'run directories: BASE HEAD, or the base set before --' })
          .option('format', { type: 'string', describe: 'text (default), md or json' })
          .strict(),
      async (args) => {
        const { compareCommandCli } = await import('./compareCommand.js');
        exitCode = await compareCommandCli(args.dirs ?? [], rawArgv, { ...(args.format !== undefined ? { format: args.format } : {}) });
      },
    )
    .command(
      'repro <runDir> <test>',
      'rerun a test of a recorded run the way it ran (kernel, fstests tree, section), on a fresh VM, --count times',
      (y) =>
        y
          .positional('runDir', { type: 'string', demandOption: true })
          .positional('test', { type: 'string', demandOption: true })
          .option('section', { type: 'string', describe: 'the section to rerun it in, when it ran in several' })
          .option('count', { type: 'string', describe: 'rerun it N times, each on a fresh VM (default 1): "failed 3 of 10"' })
          .option('keep', { type: 'boolean', describe: 'keep the VM disks of the runs in which it failed' })
          .option('dry-run', { type: 'boolean', describe: 'print the kt run command and its plan, boot nothing' })
          .option('results', { type: 'string', describe: 'where the runs go (default: next to the recorded run)' })
          .strict(),
      async (args) => {
        const { reproCommandCli } = await import('./reproCommand.js');
        exitCode = await reproCommandCli(String(args.runDir), String(args.test), {
          ...(args.section !== undefined ? { section: args.section } : {}),
          ...(args.count !== undefined ? { count: args.count } : {}),
          ...(args.results !== undefined ? { results: args.results } : {}),
          keep: lastFlag(args.keep) ?? false,
          dryRun: lastFlag(args.dryRun) ?? false,
        });
      },
    )
    .command(
      'shell [runDir] [test]',
      'a root shell in the VM kt would run tests on (kt shell RUN_DIR TEST: the one a recorded test ran on; kt shell -- CMD: run CMD there): docs/shell.md',
      (y) =>
        y
          .parserConfiguration({ ...PARSER_CONFIG, 'populate--': true })
          .positional('runDir', { type: 'string', describe: 'a run directory: boot what TEST ran on' })
          .positional('test', { type: 'string', describe: 'the test of RUN_DIR, e.g. generic/001' })
          .option('kernel', { type: 'string', describe: 'kernel image (default as kt run)' })
          .option('fstests', { type: 'string', describe: 'built fstests (xfstests-dev) tree' })
          .option('section', { alias: 'c', type: 'string', describe: 'the section whose check config and TEST_DEV the shell gets, SUITE/SECTION' })
          .option('suite', { type: 'string', describe: "a suite's default section (= -c SUITE)" })
          .option('accel', { type: 'string', describe: 'auto | kvm | tcg (default auto)' })
          .option('config', { type: 'string', describe: 'config file (default ./kt.yaml, ~/.config/kt/config.yaml)' })
          .option('memory', { type: 'string', describe: 'MiB of memory (default 2048)' })
          .option('cpus', { type: 'string', describe: 'vCPUs (default 2)' })
          .option('test-size', { type: 'string', describe: 'TEST_DEV size (default 5G, sparse)' })
          .option('scratch-size', { type: 'string', describe: 'SCRATCH_DEV size (default 5G, sparse)' })
          .option('boot-timeout', { type: 'string', describe: 'seconds the VM may take to boot (default 300)' })
          .option('transport', { type: 'string', describe: 'virtio-serial (default) or tcp' })
          .option('kernel-entry', { type: 'string', describe: 'auto (default: the PVH entry when possible) or bzimage' })
          .option('backend', { type: 'string', describe: 'direct (default) or nixos' })
          .option('nixos-vm', { type: 'string', describe: 'with --backend nixos: the VM derivation' })
          .option('append', { type: 'string', describe: 'extra kernel command line parameter (repeatable)' })
          .option('modules', { type: 'string', describe: "installed modules of the kernel (default: the tree's, staged)" })
          .option('module', { type: 'string', describe: 'out-of-tree module (.ko) to load (repeatable)' })
          .option('results', { type: 'string', describe: 'where a console log with kernel reports is kept (default ./kt-results)' })
          .option('keep', { type: 'boolean', describe: 'keep the VM disks after the session' })
          .option('disks', { type: 'string', describe: 'boot on the disks a VM kept (its directory, e.g. /tmp/kt-AbC123/vm1), read-only' })
          .strict(),
      async (args) => {
        const { shellCommandCli } = await import('./shellCommand.js');
        const rest = (args as { '--'?: (string | number)[] })['--'] ?? [];
        exitCode = await shellCommandCli(
          {
            ...(args.runDir !== undefined ? { runDir: args.runDir } : {}),
            ...(args.test !== undefined ? { test: args.test } : {}),
            command: rest.map(String),
            args: {
              kernel: args.kernel,
              fstests: args.fstests,
              section: toList(args.section, '-c'),
              suite: args.suite,
              accel: args.accel,
              config: args.config,
              memory: args.memory,
              cpus: args.cpus,
              testSize: args.testSize,
              scratchSize: args.scratchSize,
              bootTimeout: args.bootTimeout,
              transport: args.transport,
              kernelEntry: args.kernelEntry,
              backend: args.backend,
              nixosVm: args.nixosVm,
              append: toList(args.append, '--append'),
              modules: args.modules,
              module: toList(args.module, '--module'),
              results: args.results,
              keep: lastFlag(args.keep),
            },
            ...(args.disks !== undefined ? { disks: args.disks } : {}),
          },
          rawArgv,
        );
      },
    )
    .demandCommand(1, 'give a command: run, image build, report, kconfig, crash, baseline, compare, repro or shell')
    .strict()
    // yargs 18 passes its declared options to a check (yargs-factory.js: f(argv, getOptions()));
    // @types/yargs 17 still names that argument aliases.
    .check((parsed, declared) => {
      refuseNegatedValueFlag(argv, declared as unknown as DeclaredFlags);
      refuseWordsAfterDash(argv, parsed._[0] === undefined ? undefined : String(parsed._[0]));
      return true;
    }, true)
    .help()
    .version('version', 'print the version of kt', ktVersion())
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError('E_USAGE', msg, 'kt --help lists the commands and options');
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    if (isKtError(err)) {
      console.error(formatError(err));
      exitCode = err.exitCode;
    } else {
      console.error(`kt: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      exitCode = ExitCode.infrastructure;
    }
  }
  process.exitCode = exitCode;
  // Node 20 aborts at exit resetting a terminal that hung up (nodejs/node#51519).
  releaseHungUpTerminal();
}

const PARSER_CONFIG = { 'dot-notation': false } as const;

const IMAGE_ACTIONS = ['build'];

/**
 * What to write instead of `-- WORDS`, per command. Only `kt shell` (the command to run) and `kt
 * compare` (the head runs) read the words after `--`; yargs hands them to nobody elsewhere, so
 * `kt run -- generic/001` would plan the whole default list and `kt baseline update a -- b
 * --baseline f` would write ./kt-baseline.json.
 */
const AFTER_DASH_HINTS: Readonly<Record<string, string>> = {
  run: 'give tests as plain arguments: kt run generic/001',
  report: 'give run directories as plain arguments: kt report kt-results/<run-id> [--out DIR]',
  baseline: 'give run directories and options before any --: kt baseline update DIR... --baseline FILE',
  repro: 'give the run directory and the test as plain arguments: kt repro kt-results/<run-id> generic/001',
  kconfig: 'give the tree as a plain argument: kt kconfig fix ~/linux',
  image: 'kt image build [--rebuild] takes no other arguments',
};

/** Pure: the words after the first `--` that `command` would drop (none for kt shell, kt compare and kt crash). */
export function droppedAfterDash(argv: readonly string[], command: string | undefined): string[] {
  const dash = argv.indexOf('--');
  // kt crash scan: `--` ends its options, so a file may start with "-" (crashCommand.ts scanFiles).
  if (dash < 0 || command === 'shell' || command === 'compare' || command === 'crash') return [];
  return argv.slice(dash + 1);
}

/** Refuses (exit 2, before any work) words after `--` that the command would silently drop. */
function refuseWordsAfterDash(argv: readonly string[], command: string | undefined): void {
  const words = droppedAfterDash(argv, command);
  if (words.length === 0) return;
  const name = command === undefined ? 'kt' : `kt ${printable(command)}`;
  throw new UsageError(
    'E_ARGS_AFTER_DASH',
    `${name} does not read words after --: ${words.map(printable).join(' ')}`,
    (command !== undefined ? AFTER_DASH_HINTS[command] : undefined) ?? 'drop the --; only kt shell -- CMD, kt compare BASE... -- HEAD... and kt crash scan -- FILE... read words after it',
  );
}

/** `--no-config` and the like: only on/off flags have a `--no-` form (src/cli/argv.ts). */
function refuseNegatedValueFlag(argv: readonly string[], declared: DeclaredFlags): void {
  const name = negatedValueFlag(argv, declared);
  if (name === undefined) return;
  const flag = `${name.length === 1 ? '-' : '--'}${printable(name)}`;
  throw new UsageError(
    'E_FLAG_NEGATED',
    `--no-${printable(name)}: ${flag} takes a value and has no --no- form (only on/off flags such as --keep have one)`,
    `give ${flag} VALUE, or drop the flag for its default`,
  );
}

/** A repeatable flag's values as a list; anything but strings (yargs' dot-notation or negation) is refused. */
function toList(value: unknown, flag: string): string[] | undefined {
  if (value === undefined) return undefined;
  const list: unknown[] = Array.isArray(value) ? value : [value];
  for (const v of list) {
    if (typeof v !== 'string') {
      throw new UsageError('E_FLAG_VALUE', `${flag} was given ${printable(JSON.stringify(v) ?? String(v))}, not a value`, `give ${flag} VALUE`);
    }
  }
  return list as string[];
}

/** A boolean flag given twice arrives as an array: the last one wins, as in most tools. */
function lastFlag(value: boolean | boolean[] | undefined): boolean | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

function singleOut(value: unknown): string | undefined {
  return single('--out', toList(value, '--out'));
}
