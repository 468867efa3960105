/**
 * The benchmark's recovery row (docs/speed.md): a guest panic → the next test running on a
 * healthy VM, in a real `kt run -j 1 --spares 1`. The panic is injected from the host, so any
 * fstests tree works: once the spare is up and made ready, the benchmark waits for a test to
 * start on vm1, lets it run a second, and presses alt+sysrq+c on vm1's keyboard over QMP (the
 * same path kt uses for sysrq dumps of hung guests). The clock starts at that key press.
 *
 * kt holds its VM's QMP socket, and a QMP socket serves one client at a time (a second one
 * waits for the greeting until the first leaves). So kt runs here with a `qemu-system-x86_64`
 * first on its PATH that execs the real one with kt's argv and one more monitor,
 * `-qmp unix:<dir>/<vm name>.qmp,server=on,wait=off`, for the benchmark (QEMU starts one monitor
 * per -qmp option: qemu-system-x86_64(1), "-qmp" and "-mon"). Nothing else of the VM changes.
 *
 * The parts: the panic report begins on the console (kt's first sign: the replacement is asked
 * for, a machine-boot event), the VM is given up (machine-lost: the crash grace, the blame, the
 * artifacts), and the next batch starts on the spare (discard, take, check's own start-up, which
 * mkfs's SCRATCH_DEV, up to check naming its first test).
 */
import fs from 'node:fs';
import path from 'node:path';
import { shellQuote } from '../util/shell.js';
import { findOnPath } from '../vm/image/hostTools.js';
import { QmpClient } from '../vm/qmp.js';
import { qemuOptValue } from '../vm/qemuOptValue.js';
import { ktRun, readLatestEvents, startKt, type BenchEvent } from './ktRun.js';

/** The spare's section mkfs runs after its machine-up; give it this long before the panic. */
const SPARE_SETTLE_MS = 5_000;
/** Into the chosen test before the panic. */
const INTO_TEST_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const at = (e: BenchEvent) => Date.parse(e.ts);

/** The benchmark's monitor of a run's VM: QEMU's -name is kt-<run>-<vm> (src/vm/spec.ts). */
function benchMonitorOf(qmpDir: string, vm: string): string {
  const socket = fs.readdirSync(qmpDir).find((f) => f.endsWith(`-${vm}.qmp`));
  if (!socket) throw new Error(`recovery: no monitor of ${vm} in ${qmpDir} (kt did not start QEMU through the benchmark's wrapper)`);
  return path.join(qmpDir, socket);
}

/**
 * A directory holding a `qemu-system-x86_64` that runs the real one with a second QMP monitor
 * at `<qmpDir>/<-name value>.qmp`; put it first on kt's PATH.
 */
export function qemuWithBenchMonitor(binDir: string, qmpDir: string, realQemu: string): void {
  fs.mkdirSync(binDir, { recursive: true });
  fs.mkdirSync(qmpDir, { recursive: true });
  const script = [
    '#!/bin/sh',
    '# kt\'s QEMU with one more QMP monitor for the benchmark (src/bench/recoveryBench.ts).',
    'name=vm prev=',
    'for a in "$@"; do [ "$prev" = -name ] && name=$a; prev=$a; done',
    // A comma in the directory would end QEMU's option value: doubled, as kt's own argv does.
    `exec ${shellQuote(realQemu)} "$@" -qmp "unix:"${shellQuote(qemuOptValue(qmpDir))}"/$name.qmp,server=on,wait=off"`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(binDir, 'qemu-system-x86_64'), script, { mode: 0o755 });
}

export async function recoveryRow(opts: { tree: string; tests: string[]; work: string; accel: 'tcg' | 'kvm'; readyMs: number; kernel?: string }): Promise<Record<string, unknown>> {
  const results = path.join(opts.work, 'results-recovery');
  // kt's VM directories under the benchmark's work directory: removed with it on every path.
  const tmp = path.join(opts.work, 'tmp-recovery');
  fs.mkdirSync(tmp, { recursive: true });
  const realQemu = findOnPath('qemu-system-x86_64', process.env.PATH);
  if (!realQemu) throw new Error('recovery: qemu-system-x86_64 is not on PATH');
  const binDir = path.join(opts.work, 'bin-recovery');
  const qmpDir = path.join(opts.work, 'qmp');
  qemuWithBenchMonitor(binDir, qmpDir, realQemu);
  const args = ['-j', '1', '--spares', '1', '--fstests', opts.tree, ...(opts.kernel ? ['--kernel', opts.kernel] : []), ...opts.tests];
  const env = { TMPDIR: tmp, PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}` };
  const child = startKt(args, results, opts.accel, env);
  const done = ktRun(args, results, opts.accel, env, child);
  // Its failure is thrown where it is awaited; until then it must not count as unhandled.
  done.catch(() => undefined);
  let exited = false;
  void child.finally(() => (exited = true));
  let injectedAt: number | undefined;
  let target: string | undefined;
  try {
    const deadline = Date.now() + 3_600_000;
    while (injectedAt === undefined) {
      if (Date.now() > deadline) throw new Error('recovery: no test started on vm1 after the spare was ready');
      const events = readLatestEvents(results);
      if (exited || events.some((e) => e.type === 'run-end')) {
        await done;
        return { skipped: `the run ended before a test started on vm1 ${SPARE_SETTLE_MS} ms after the spare was up: give --recovery-tests more (or longer) tests` };
      }
      // The order the run takes its tests in (kt keeps fstests' order on a first run): the
      // panicked test must have one after it, to run on the spare.
      const planned = events.find((e) => e.type === 'run-start')?.tests ?? opts.tests;
      const spareUp = events.find((e) => e.type === 'machine-up' && e.machine !== 'vm1');
      const started = spareUp && events.filter((e) => e.type === 'test-begin' && e.machine === 'vm1' && at(e) >= at(spareUp) + SPARE_SETTLE_MS);
      const begin = started?.[0];
      if (begin && planned.indexOf(begin.test ?? '') < planned.length - 1) {
        target = begin.test;
        await sleep(Math.max(0, at(begin) + INTO_TEST_MS - Date.now()));
        const qmp = await QmpClient.connect(benchMonitorOf(qmpDir, 'vm1'), 5_000);
        try {
          injectedAt = Date.now();
          await qmp.sendKeys(['alt', 'sysrq', 'c']);
        } finally {
          qmp.close();
        }
      } else {
        await sleep(200);
      }
    }
  } catch (err) {
    // The run must not outlive the row: kt stops its VMs on SIGTERM.
    child.kill('SIGTERM');
    await done.catch(() => undefined);
    throw err;
  }
  const run = await done;
  const after = run.events.filter((e) => at(e) >= injectedAt!);
  const prefetch = after.find((e) => e.type === 'machine-boot');
  const lost = after.find((e) => e.type === 'machine-lost' && e.machine === 'vm1');
  const next = after.find((e) => e.type === 'test-begin' && e.machine !== 'vm1');
  const crashed = run.events.find((e) => e.type === 'test-end' && e.outcome?.status === 'crashed');
  if (!lost || !next) return { skipped: `vm1 did not crash on alt+sysrq+c or nothing ran after it (lost: ${Boolean(lost)}, next test: ${Boolean(next)})`, runDir: run.runDir };
  const spareUp = run.events.find((e) => e.type === 'machine-up' && e.machine !== 'vm1');
  const panicToNextTestMs = at(next) - injectedAt!;
  return {
    panicToNextTestMs,
    panicToNextTestS: +(panicToNextTestMs / 1000).toFixed(2),
    inBoots: +(panicToNextTestMs / opts.readyMs).toFixed(3),
    bootReadyMs: opts.readyMs,
    parts: {
      // The first boot asked for after the panic: the prefetch when no spare stood, else the
      // taken spare's replacement (MachineSupply.refill, once the next test began).
      reportBegunMs: prefetch ? at(prefetch) - injectedAt! : null,
      vmGivenUpMs: at(lost) - injectedAt!,
      nextBatchToFirstTestMs: at(next) - at(lost),
    },
    panickedIn: target,
    crashedTest: crashed?.test,
    nextTest: next.test,
    spareReadyBeforePanic: spareUp !== undefined && at(spareUp) + SPARE_SETTLE_MS <= injectedAt!,
    goal: '<= 3000 ms under TCG',
  };
}
