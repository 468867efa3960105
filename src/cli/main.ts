/**
 * kt's command line. Only this file prints errors and picks exit codes (architecture.md).
 */
import yargs from 'yargs';
import { ExitCode, formatError, isKtError } from '../errors.js';
import { runCommand } from './runCommand.js';
import { imageBuildCommand } from './imageCommand.js';
import { reportCommandCli } from './reportCommand.js';

export async function main(argv: string[]): Promise<void> {
  let exitCode: number = ExitCode.ok;
  const parser = yargs(argv)
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
          .option('exclude-file', { alias: 'E', type: 'string', describe: 'file of tests to leave out (fstests -E format)' })
          .option('jobs', { alias: 'j', type: 'number', describe: 'parallel VMs (default 1)' })
          .option('kernel', { type: 'string', describe: 'kernel image (default: ./arch/x86/boot/bzImage in a kernel tree, else the image kernel)' })
          .option('fstests', { type: 'string', describe: 'built fstests (xfstests-dev) tree' })
          .option('results', { type: 'string', describe: 'results directory (default ./kt-results)' })
          .option('accel', { type: 'string', describe: 'auto | kvm | tcg (default auto)' })
          .option('keep', { type: 'boolean', describe: 'keep VM disks and temp files after the run' })
          .option('dry-run', { type: 'boolean', describe: 'print the plan and the qemu command lines, boot nothing' })
          .option('config', { type: 'string', describe: 'config file (default ./kt.yaml, ~/.config/kt/config.yaml)' })
          .option('suite', { type: 'string', describe: 'filesystem configuration: xfs, ext4, btrfs or a suite YAML file' })
          .option('memory', { type: 'number', describe: 'MiB of memory per VM (default 2048)' })
          .option('cpus', { type: 'number', describe: 'vCPUs per VM (default 2)' })
          .option('test-size', { type: 'string', describe: 'TEST_DEV size (default 5G, sparse)' })
          .option('scratch-size', { type: 'string', describe: 'SCRATCH_DEV size (default 5G, sparse)' })
          .option('test-timeout', { type: 'number', describe: 'per-test deadline in seconds (default: from history)' })
          .option('boot-timeout', { type: 'number', describe: 'seconds a VM may take to boot (default 300)' })
          .option('retries', { type: 'number', describe: 'rerun a failed test up to N times on a fresh VM (flaky detection)' })
          .option('shard', { type: 'string', describe: 'run shard i of n of the test list (CI), e.g. 2/4' })
          .option('transport', { type: 'string', describe: 'virtio-serial (default) or tcp (127.0.0.1 host forward)' })
          .option('vmcore', { type: 'boolean', describe: 'on a guest panic, dump guest memory into the run directory' })
          .option('batch', { type: 'number', describe: 'at most N tests per check invocation (default 32; see bench)' })
          .option('backend', { type: 'string', describe: 'direct (kt\'s Debian image, default) or nixos (a VM built from nix/)' })
          .option('nixos-vm', { type: 'string', describe: 'with --backend nixos: the VM derivation (./result of nix build ./nix#vm)' })
          .option('append', { type: 'string', describe: 'extra kernel command line parameter (repeatable)' })
          .strict(),
      async (args) => {
        exitCode = await runCommand(
          {
            group: toList(args.group),
            excludeGroup: toList(args.excludeGroup),
            excludeFile: toList(args.excludeFile),
            jobs: args.jobs,
            kernel: args.kernel,
            fstests: args.fstests,
            results: args.results,
            accel: args.accel,
            keep: args.keep,
            dryRun: args.dryRun,
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
            vmcore: args.vmcore,
            append: toList(args.append),
            backend: args.backend,
            batch: args.batch,
            nixosVm: args.nixosVm,
          },
          argv,
        );
      },
    )
    .command('image build', 'build (or reuse) the Debian guest image', (y) => y.option('rebuild', { type: 'boolean', describe: 'build even when a cached image exists' }).option('system', { type: 'boolean', describe: 'build into the shared cache every user reads (/var/cache/kt; as root)' }), async (args) => {
      exitCode = await imageBuildCommand({ rebuild: args.rebuild ?? false, system: args.system ?? false });
    })
    .command(
      'report <runDirs..>',
      'rebuild junit.xml, summary.json and report.md from one or more run directories (CI shards)',
      (y) =>
        y
          .positional('runDirs', { type: 'string', array: true, demandOption: true })
          .option('out', { type: 'string', describe: 'write the merged reports here (default: the single run dir)' }),
      async (args) => {
        exitCode = await reportCommandCli(args.runDirs as string[], args.out);
      },
    )
    .demandCommand(1, 'give a command: run, image build or report')
    .strict()
    .help()
    .version(false)
    .fail((msg, err) => {
      if (err) throw err;
      console.error(`kt: ${msg}\n  hint: kt --help lists the commands and options`);
      process.exit(ExitCode.usage);
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
}

/**
 * Repeatable flags are declared as plain strings: yargs' `array: true` would swallow the test
 * names after `-g quick` (`kt run -g quick generic/001`). Repeats still arrive as arrays.
 */
function toList(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value : [value];
}
