/**
 * The event stream of a run: the one record every reporter is built from.
 *
 * The runner appends each event to `<run-dir>/events.jsonl` the moment it happens, so a run
 * killed by Ctrl-C, the OOM killer or a host crash still has its results, and `kt report`
 * replays one or many logs (CI shards) through the same reporters. Events are plain JSON:
 * reporters never see live objects. The zod schemas below are the one definition of the
 * format: types are inferred from them and the reader validates every line with them.
 *
 * Compatibility: readers ignore fields they do not know, so adding an optional field is not a
 * format change. Bump EVENTS_VERSION on any incompatible change (docs/architecture.md, "The
 * event log").
 */
import { z } from 'zod';
import { crashInfoSchema, testOutcomeSchema } from './outcome.js';

/** Major version of the event format: readers reject another major. */
export const EVENTS_VERSION = 1;

const ts = z.string();

/** Where the files of one test landed, relative to the run directory. */
export const testArtifactsSchema = z.object({
  /** Tail of fstests' `<seq>.full`. */
  full: z.string().optional(),
  /** fstests' `<seq>.dmesg` (check keeps it for every test with KEEP_DMESG=yes). */
  dmesg: z.string().optional(),
  /** fstests' `<seq>.out.bad`. */
  outBad: z.string().optional(),
  /** Console lines of the VM while the test ran (crash/hang cases). */
  console: z.string().optional(),
});
export type TestArtifacts = z.infer<typeof testArtifactsSchema>;

/** One filesystem configuration of a run (an fstests config section). */
export const sectionConfigSchema = z.object({
  /** `SUITE/SECTION`, e.g. `xfs/4k`; `global`-style names for single-suite runs. */
  name: z.string(),
  /** fstests FSTYP. */
  fstyp: z.string(),
  /** MKFS_OPTIONS. */
  mkfsOptions: z.string().default(''),
  /** MOUNT_OPTIONS. */
  mountOptions: z.string().default(''),
});
export type SectionConfig = z.infer<typeof sectionConfigSchema>;

/** One planned unit of work: a test in a section. */
export const workSpecSchema = z.object({ section: z.string(), test: z.string() });
export type WorkSpec = z.infer<typeof workSpecSchema>;

export const runStartSchema = z.object({
  type: z.literal('run-start'),
  v: z.number(),
  /** Wall clock, ISO-8601. */
  ts,
  runId: z.string(),
  /** The ordered test list of the first section (all sections: `work`). */
  tests: z.array(z.string()),
  /** Number of parallel VMs. */
  jobs: z.number(),
  /** Kernel image used, as given or resolved. */
  kernel: z.string(),
  /** The file QEMU booted when it was not `kernel`: its uncompressed ELF, by the PVH entry (docs/kernel.md). */
  bootKernel: z.string().optional(),
  /** Accelerator actually used after probing. */
  accel: z.enum(['kvm', 'tcg']),
  /** Filesystem type under test (first section's). */
  fstyp: z.string(),
  /** Config section name (first section's; "global" when none). */
  section: z.string(),
  /** Host name, for JUnit's hostname attribute. */
  hostname: z.string(),
  /** The CLI arguments, for the record. */
  argv: z.array(z.string()),
  /** `i/n` when this run is one CI shard. */
  shard: z.string().optional(),
  /** kt's version (package.json). */
  ktVersion: z.string().optional(),
  /** Every section of the run with its options (absent in logs of single-section kt). */
  sections: z.array(sectionConfigSchema).optional(),
  /** Every planned (section, test) pair in the order VMs take them (absent: `tests` in `section`). */
  work: z.array(workSpecSchema).optional(),
  /** The fstests tree the run used (absolute host path), for `kt repro`. */
  fstests: z.string().optional(),
  /** The directory kt ran in: relative paths of `argv` are relative to it (`kt repro`). */
  cwd: z.string().optional(),
});

export const machineBootSchema = z.object({
  type: z.literal('machine-boot'),
  ts,
  /** Stable name within the run: vm1, vm2, ... (a replacement VM gets a new name). */
  machine: z.string(),
  /** The qemu argv, for reproduction. */
  argv: z.array(z.string()),
});

export const machineUpSchema = z.object({
  type: z.literal('machine-up'),
  ts,
  machine: z.string(),
  /** qemu start → ready for the first test (commands accepted, guest set up). */
  bootMs: z.number(),
  /** `uname -r` in the guest. */
  kernelRelease: z.string(),
  /** Where the boot time went, in ms per phase, when the machine measured it. */
  phases: z.record(z.string(), z.number()).optional(),
  /**
   * The fstests tree's preflight in the guest set-up: it ran, or the set-up was skipped because
   * kt-init had done the rest and this tree had passed in this guest image before (docs/speed.md).
   */
  preflight: z.enum(['ran', 'remembered']).optional(),
  /**
   * How TEST_DEV got its filesystem for the VM's first section: that section's mkfs, or a copy
   * of one an earlier VM of the same image made (docs/speed.md, "TEST_DEV made once").
   */
  testDev: z.enum(['mkfs', 'template']).optional(),
});

/** How a guest's set-up went: its preflight ran, or the set-up was skipped as remembered. */
export type PreflightOutcome = NonNullable<z.infer<typeof machineUpSchema>['preflight']>;
/** How a VM's TEST_DEV got its first section's filesystem: that section's mkfs, or a template's copy. */
export type TestDevOrigin = NonNullable<z.infer<typeof machineUpSchema>['testDev']>;

export const machineLostSchema = z.object({
  type: z.literal('machine-lost'),
  ts,
  machine: z.string(),
  /** Why kt discarded it: crash, hang, qemu exit, transport loss, boot failure. */
  reason: z.enum(['crash', 'hang', 'qemu-exit', 'transport', 'boot-failure']),
  message: z.string(),
  /** The test blamed for it (its test-end, with the same crash, comes first). */
  test: z.string().optional(),
  /** Section of the blamed test. */
  section: z.string().optional(),
  crash: crashInfoSchema.optional(),
  /** Console log of the VM, relative to the run dir. */
  consoleLog: z.string(),
  /** Guest memory dump, relative to the run dir, when --vmcore took one. */
  vmcore: z.string().optional(),
});

/**
 * check named a test on its stdout. Its test-end follows, except when the VM's machine-lost
 * follows first without naming it: the kernel crashed before the test's own work began (the
 * crash report names the test before it: runner/blame.ts), and the test went back to the queue
 * with the same attempt number.
 */
export const testBeginSchema = z.object({
  type: z.literal('test-begin'),
  ts,
  test: z.string(),
  /** Section the test runs in (absent: the run-start section). */
  section: z.string().optional(),
  machine: z.string(),
  /** 1 for the first run of this test, 2+ for retries (--retries). */
  attempt: z.number(),
  /**
   * On the first test of a batch: ms from the batch's `check` call to this line, check's start-up
   * (history.ts keeps the last run's for the next run's batching, order.ts batchBudget).
   */
  checkStartupMs: z.number().optional(),
});

export const testEndSchema = z.object({
  type: z.literal('test-end'),
  ts,
  test: z.string(),
  section: z.string().optional(),
  machine: z.string(),
  attempt: z.number(),
  outcome: testOutcomeSchema,
  /** Wall time kt observed, from test-begin to outcome. */
  durationMs: z.number(),
  /** The duration fstests itself printed (" 5s"), when it printed one. */
  checkSeconds: z.number().optional(),
  artifacts: testArtifactsSchema,
  /** fstests `.dmesg` text (capped), for JUnit's system-out. */
  dmesg: z.string().optional(),
  /** Tail of `.full` (capped). */
  fullTail: z.string().optional(),
});

/**
 * A kernel report on the console that did not end the VM (a WARNING, a KASAN report without
 * panic_on_warn, a hung-task report): tied to the test that ran when it began.
 */
export const consoleReportSchema = z.object({
  type: z.literal('console-report'),
  ts,
  machine: z.string(),
  /** The test that ran when the report began (fstests' "run fstests <test>" kmsg marker). */
  test: z.string().optional(),
  section: z.string().optional(),
  attempt: z.number().optional(),
  report: crashInfoSchema,
});

export const warningSchema = z.object({
  type: z.literal('warning'),
  ts,
  message: z.string(),
  machine: z.string().optional(),
  /** Said before the run began (its plan, the host, the history); kt printed it then. */
  beforeRun: z.boolean().optional(),
});

export const runEndSchema = z.object({
  type: z.literal('run-end'),
  ts,
  /** completed: every test has an outcome; interrupted: SIGINT/SIGTERM; error: infra failure. */
  status: z.enum(['completed', 'interrupted', 'error']),
  wallMs: z.number(),
  signal: z.enum(['SIGINT', 'SIGTERM']).optional(),
  message: z.string().optional(),
});

export const runEventSchema = z.discriminatedUnion('type', [
  runStartSchema,
  machineBootSchema,
  machineUpSchema,
  machineLostSchema,
  testBeginSchema,
  testEndSchema,
  consoleReportSchema,
  warningSchema,
  runEndSchema,
]);

export type RunStartEvent = z.infer<typeof runStartSchema>;
export type MachineBootEvent = z.infer<typeof machineBootSchema>;
export type MachineUpEvent = z.infer<typeof machineUpSchema>;
export type MachineLostEvent = z.infer<typeof machineLostSchema>;
export type TestBeginEvent = z.infer<typeof testBeginSchema>;
export type TestEndEvent = z.infer<typeof testEndSchema>;
export type ConsoleReportEvent = z.infer<typeof consoleReportSchema>;
export type WarningEvent = z.infer<typeof warningSchema>;
export type RunEndEvent = z.infer<typeof runEndSchema>;
export type RunEvent = z.infer<typeof runEventSchema>;

/** The event types this version of kt reads. */
export const EVENT_TYPES: ReadonlySet<string> = new Set(runEventSchema.options.map((o) => o.shape.type.value));

/** Distributes Omit over the union so callers can emit events without a timestamp. */
export type EventInput = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'ts'> : never) : never;
