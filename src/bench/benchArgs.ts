/**
 * `npm run bench -- [--fstests DIR --tests T,T,...] [--recovery-tests T,T,...] [--boots N]
 * [--only ROW,ROW] [--accel tcg|kvm] [--kernel FILE] [--cpus N] [--test-dev template|mkfs]`: what the benchmark measures and on which tree (pure).
 * Without --fstests it copies and builds kt's fixture tree (test/fixtures/fstests) and uses its
 * own lists. docs/speed.md describes every row.
 */
import { formatError, UsageError, type KtError } from '../errors.js';

/**
 * The rows, in the order they run. kt boots every VM fresh; the restore row measures what
 * starting one from a saved state would gain (docs/speed.md, "Why not restore a snapshot").
 */
export const BENCH_ROWS = ['boot', 'bootCpu', 'checkStart', 'checkPhases', 'scaling', 'batching', 'rss', 'overhead', 'recovery', 'restore', 'virtiofsBoot'] as const;
export type BenchRow = (typeof BENCH_ROWS)[number];

export interface BenchArgs {
  /** A built fstests tree; undefined: the fixture. */
  fstests?: string;
  /** The list of the checkStart, checkPhases, scaling, batching, rss and overhead rows (checkPhases: its first test). */
  tests?: string[];
  /** Tests that pass on the tree, at least three: the recovery row panics the VM in one of them. */
  recoveryTests?: string[];
  /** Boots per boot row (the median is reported). */
  boots: number;
  /** The rows to run, in BENCH_ROWS order. */
  rows: BenchRow[];
  accel: 'tcg' | 'kvm';
  /** A kernel to boot instead of the image's (a tree's arch/x86/boot/bzImage), as `kt run --kernel`. */
  kernel?: string;
  /**
   * vCPUs of the boot row's VMs, kt's and the bare boot's alike (default 2, kt's default shape;
   * `-j auto` gives a TCG guest 1 when there are as many VMs as cores).
   */
  cpus: number;
  /**
   * How the VMs of the boot and start-up rows get TEST_DEV's filesystem: as a run does (`template`,
   * the default: a copy of one made once, docs/speed.md "TEST_DEV made once"), or by mkfs in
   * every VM (`mkfs`), to measure what the template saves.
   */
  testDev: 'template' | 'mkfs';
}

const USAGE_HINT = `usage: npm run bench -- [--fstests DIR --tests T,T] [--recovery-tests T,T,T] [--boots N] [--only ROW,ROW] [--accel tcg|kvm] [--kernel FILE] [--cpus N] [--test-dev template|mkfs] (docs/speed.md); rows: ${BENCH_ROWS.join(', ')}`;
/** The recovery row panics one test and needs one after it on the spare, and one before it to let the spare settle. */
export const MIN_RECOVERY_TESTS = 3;

function fail(message: string, hint: string): never {
  throw new UsageError('E_BENCH_USAGE', message, hint);
}

function list(flag: string, value: string | undefined): string[] {
  const items = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) fail(`${flag} needs a comma-separated list`, `e.g. ${flag} generic/001,generic/002`);
  return items;
}

function boots(v: string, from: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 50) fail(`${from} ${JSON.stringify(v)} is not a whole number from 1 to 50`, 'e.g. --boots 3');
  return n;
}

export function parseBenchArgs(argv: readonly string[], env: NodeJS.ProcessEnv): BenchArgs {
  const envAccel = env.KT_BENCH_ACCEL;
  if (envAccel !== undefined && envAccel !== 'tcg' && envAccel !== 'kvm') fail(`KT_BENCH_ACCEL=${envAccel} is not tcg or kvm`, 'unset it or use --accel tcg|kvm');
  const args: BenchArgs = {
    boots: env.KT_BENCH_BOOTS !== undefined ? boots(env.KT_BENCH_BOOTS, 'KT_BENCH_BOOTS') : 3,
    rows: [...BENCH_ROWS],
    accel: envAccel ?? 'tcg',
    cpus: 2,
    testDev: 'template',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    // A flag's value is the next word, never another flag (`--fstests --tests` is a missing directory).
    const value = (): string | undefined => {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) return undefined;
      i++;
      return v;
    };
    switch (flag) {
      case '--fstests': {
        const dir = value();
        if (!dir) fail('--fstests needs a directory', 'e.g. --fstests ~/src/xfstests-dev (built with make)');
        args.fstests = dir;
        break;
      }
      case '--tests':
        args.tests = list(flag, value());
        break;
      case '--recovery-tests':
        args.recoveryTests = list(flag, value());
        if (args.recoveryTests.length < MIN_RECOVERY_TESTS) {
          fail(`--recovery-tests needs at least ${MIN_RECOVERY_TESTS} tests, got ${args.recoveryTests.length} (${args.recoveryTests.join(',')})`, 'tests that pass on the tree: the panic goes into one of them and the next must run on the spare');
        }
        break;
      case '--boots':
        args.boots = boots(value() ?? '', '--boots');
        break;
      case '--only': {
        const rows = list(flag, value());
        for (const r of rows) if (!(BENCH_ROWS as readonly string[]).includes(r)) fail(`--only ${r}: no such row`, `rows: ${BENCH_ROWS.join(', ')}`);
        // Rows run in their own order, each once, whatever the order given.
        args.rows = BENCH_ROWS.filter((r) => rows.includes(r));
        break;
      }
      case '--accel': {
        const v = value();
        if (v !== 'tcg' && v !== 'kvm') fail(`--accel ${v ?? ''} is not tcg or kvm`, 'e.g. --accel tcg');
        args.accel = v;
        break;
      }
      case '--kernel': {
        const file = value();
        if (!file) fail('--kernel needs a kernel file', 'e.g. --kernel ~/linux/arch/x86/boot/bzImage');
        args.kernel = file;
        break;
      }
      case '--cpus': {
        const v = value() ?? '';
        // QEMU's q35 takes up to 288 vCPUs; a boot row beyond the host's cores measures contention.
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 64) fail(`--cpus ${JSON.stringify(v)} is not a whole number from 1 to 64`, 'e.g. --cpus 1 (the shape -j auto gives TCG guests)');
        args.cpus = Number(v);
        break;
      }
      case '--test-dev': {
        const v = value();
        if (v !== 'template' && v !== 'mkfs') fail(v === undefined ? '--test-dev needs template or mkfs' : `--test-dev ${v} is not template or mkfs`, 'e.g. --test-dev mkfs (every VM makes TEST_DEV itself)');
        args.testDev = v;
        break;
      }
      default:
        fail(`unknown argument ${JSON.stringify(flag)}`, USAGE_HINT);
    }
  }
  if (args.fstests && !args.tests) fail('--fstests needs --tests (the list to time on that tree)', 'e.g. --tests generic/001,generic/002,generic/005');
  if (!args.fstests && (args.tests || args.recoveryTests)) {
    fail(`${args.tests ? '--tests' : '--recovery-tests'} needs --fstests (the fixture tree has its own lists)`, 'e.g. --fstests ~/src/xfstests-dev --tests generic/001,generic/002');
  }
  if (args.fstests && args.rows.includes('recovery') && !args.recoveryTests && args.tests!.length < MIN_RECOVERY_TESTS) {
    fail(
      `the recovery row needs at least ${MIN_RECOVERY_TESTS} passing tests; --tests has ${args.tests!.length}`,
      'add --recovery-tests T1,T2,T3 (tests that pass on that tree), or leave the row out with --only',
    );
  }
  return args;
}

/** A usage error as the benchmark prints it: `bench: error CODE: message` and the hint, no stack. */
export function formatBenchError(err: KtError): string {
  return formatError(err).replace(/^kt: /, 'bench: ');
}
