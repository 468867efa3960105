/**
 * `kt shell RUN_DIR TEST`: what the test ran on, read from the run's event log — the kernel,
 * fstests tree and VM flags of its run-start (turned into `kt run` flags by reproArgs.ts, as
 * `kt repro` does), the section it ran in, and the disks its VM kept when the run had --keep.
 * The decisions are pure functions of the events; only recordedTarget reads files.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RunArgs, RunSection } from '../config/runConfig.js';
import { UsageError, printable } from '../errors.js';
import { EVENT_LOG_NAME, readEventLog } from '../record/eventLog.js';
import type { RunEvent, RunStartEvent, SectionConfig } from '../record/events.js';
import { isImageKernel, reproRun } from './reproArgs.js';

/** Where a test of a recorded run ran. */
export interface TestPlace {
  section: SectionConfig;
  /** The VM of its last attempt (vm3), when it began at all. */
  machine?: string;
}

/** The sections of a run with their options (older logs only name the first one). */
function runSections(start: RunStartEvent): SectionConfig[] {
  return start.sections ?? [{ name: start.section, fstyp: start.fstyp, mkfsOptions: '', mountOptions: '' }];
}

/**
 * The section `test` ran in (the one named by `sectionGiven`, or its only one) and the VM of its
 * last attempt there. A test the run planned but never began still has its section.
 */
export function placeOfTest(events: readonly RunEvent[], test: string, sectionGiven: string | undefined, runDir: string): TestPlace {
  const start = events.find((e): e is RunStartEvent => e.type === 'run-start');
  if (!start) throw new UsageError('E_EVENTS_EMPTY', `${printable(runDir)} holds no run-start event`, 'pass the run directory of a `kt run` that started');
  const planned = (start.work ?? start.tests.map((t) => ({ section: start.section, test: t }))).filter((w) => w.test === test).map((w) => w.section);
  const begun = new Map<string, string>();
  for (const e of events) if (e.type === 'test-begin' && e.test === test) begun.set(e.section ?? start.section, e.machine);
  const names = [...new Set([...planned, ...begun.keys()])];
  if (names.length === 0) {
    const some = [...new Set((start.work ?? []).map((w) => w.test).concat(start.tests))].slice(0, 5);
    throw new UsageError('E_SHELL_UNKNOWN_TEST', `${printable(test)} is not a test of the run in ${printable(runDir)}`, `name a test the run planned${some.length > 0 ? `, e.g. ${some.join(' ')}` : ' (see its report.md)'}`);
  }
  let name: string;
  if (sectionGiven !== undefined) {
    if (!names.includes(sectionGiven)) {
      throw new UsageError('E_SHELL_UNKNOWN_SECTION', `${printable(test)} did not run in section ${printable(sectionGiven)} of ${printable(runDir)}`, `its sections: ${names.join(', ')}`);
    }
    name = sectionGiven;
  } else if (names.length === 1) {
    name = names[0]!;
  } else {
    throw new UsageError('E_SHELL_SECTION_NEEDED', `${printable(test)} ran in ${names.length} sections of ${printable(runDir)} (${names.join(', ')})`, `pick one: -c ${names[0]}`);
  }
  const section = runSections(start).find((s) => s.name === name) ?? { name, fstyp: start.fstyp, mkfsOptions: '', mountOptions: '' };
  const machine = begun.get(name);
  return { section, ...(machine !== undefined ? { machine } : {}) };
}

/** A QEMU option value back as written: a doubled comma is one comma (src/vm/qemuOptValue.ts). */
function unescapeOptValue(value: string): string {
  return value.replaceAll(',,', ',');
}

/**
 * The directory of a VM's TEST disk, from its recorded qemu argv (`-drive ...,file=<dir>/test.img,...`).
 * Pure; undefined when the argv names no such disk (a NixOS VM's run script).
 */
export function testDiskDir(argv: readonly string[]): string | undefined {
  for (const arg of argv) {
    // A value runs to the first single comma; a doubled comma is part of it.
    const m = /(?:^|,)file=((?:[^,]|,,)*)/.exec(arg);
    if (!m) continue;
    const file = unescapeOptValue(m[1]!);
    if (path.basename(file) === 'test.img') return path.dirname(file);
  }
  return undefined;
}

/** The qemu argv of `machine`'s boot in the run. */
function bootArgvOf(events: readonly RunEvent[], machine: string): string[] | undefined {
  for (const e of events) if (e.type === 'machine-boot' && e.machine === machine) return e.argv;
  return undefined;
}

/** What `kt shell RUN_DIR TEST` boots. */
export interface RecordedTarget {
  test: string;
  runDir: string;
  section: SectionConfig;
  machine?: string;
  /** The `kt run` flags of the recorded run that shape the VM (kernel, fstests, -c, memory, ...). */
  args: RunArgs;
  /** The directory of the disks the test's VM kept (the run had --keep), when they still exist. */
  keptDisks?: string;
}

/** Reads the run's event log and decides what to boot; refuses (exit 2) what cannot be booted again. */
export async function recordedTarget(runDir: string, test: string, sectionGiven: string | undefined): Promise<RecordedTarget> {
  const dir = path.resolve(runDir);
  if (!fs.existsSync(dir)) throw new UsageError('E_SHELL_RUN_DIR', `run directory ${printable(runDir)} does not exist`, `pass the directory a \`kt run\` wrote (it holds ${EVENT_LOG_NAME})`);
  const log = await readEventLog(path.join(dir, EVENT_LOG_NAME));
  const problem = log.problems[0];
  if (problem) throw new UsageError('E_EVENTS_DAMAGED', `${problem.where}: ${problem.what}`, `${path.join(dir, EVENT_LOG_NAME)} is damaged or is not a kt event log`);
  const place = placeOfTest(log.events, test, sectionGiven, runDir);
  const start = log.events.find((e): e is RunStartEvent => e.type === 'run-start')!;
  if (start.fstests === undefined) {
    throw new UsageError('E_SHELL_NO_FSTESTS', `the run in ${printable(runDir)} does not record its fstests tree (written by an older kt)`, 'boot it by hand: kt shell --fstests DIR --kernel FILE -c SECTION');
  }
  if (!fs.existsSync(path.join(start.fstests, 'check'))) {
    throw new UsageError('E_SHELL_FSTESTS_GONE', `the fstests tree the run used is gone: ${start.fstests}`, 'restore the tree at that path, or give another with --fstests DIR');
  }
  if (!isImageKernel(start.kernel) && start.kernel.startsWith('/') && !fs.existsSync(start.kernel)) {
    throw new UsageError('E_SHELL_KERNEL_GONE', `the kernel the run booted is gone: ${start.kernel}`, 'rebuild (or restore) it at that path, or give another with --kernel FILE');
  }
  const { args } = reproRun(start, { test, section: place.section, results: path.dirname(dir), keep: false, dryRun: false });
  // One VM for a shell: the run's planning flags mean nothing here.
  delete args.tests;
  delete args.jobs;
  delete args.keep;
  const argv = place.machine !== undefined ? bootArgvOf(log.events, place.machine) : undefined;
  const kept = argv ? testDiskDir(argv) : undefined;
  return {
    test,
    runDir: dir,
    section: place.section,
    ...(place.machine !== undefined ? { machine: place.machine } : {}),
    args,
    ...(kept !== undefined && fs.existsSync(path.join(kept, 'test.img')) ? { keptDisks: kept } : {}),
  };
}

/**
 * The section kt would boot must be the one the test ran in: same name, FSTYP, MKFS_OPTIONS and
 * MOUNT_OPTIONS. A suite file edited since the run would silently give another filesystem.
 */
export function checkSameSection(recorded: SectionConfig, now: RunSection): void {
  const differs = (what: string, a: string, b: string) =>
    new UsageError(
      'E_SHELL_SECTION_CHANGED',
      `section ${recorded.name} is not what the run ran: ${what} was ${JSON.stringify(a)}, is now ${JSON.stringify(b)}`,
      'restore the suite file as it was for that run, or boot by hand with kt shell -c SUITE/SECTION',
    );
  if (now.name !== recorded.name) throw differs('its name', recorded.name, now.name);
  if (now.fstyp !== recorded.fstyp) throw differs('FSTYP', recorded.fstyp, now.fstyp);
  if (now.mkfsOptions !== recorded.mkfsOptions) throw differs('MKFS_OPTIONS', recorded.mkfsOptions, now.mkfsOptions);
  if (now.mountOptions !== recorded.mountOptions) throw differs('MOUNT_OPTIONS', recorded.mountOptions, now.mountOptions);
}
