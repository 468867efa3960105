/**
 * `summarizeRun`: the one pure reduction from events to a RunSummary. Several logs (CI shards)
 * are merged by concatenating their events; each run-start opens a new run, and tests are keyed
 * by section + name so the same test in two sections stays two results.
 *
 * A test that ran in several of the merged runs (`kt report A B` of two runs of one plan) takes
 * its final status from the run that started last, and is flaky only when that run's own retries
 * failed and then passed: attempt numbers restart in every run, so they order attempts within a
 * run, never across runs. CI shards run disjoint tests, so for them this changes nothing.
 *
 * It never throws on odd event orders (a test-end without test-begin, events before run-start):
 * a log cut by SIGKILL or written by a buggy runner must still produce a report. It never
 * guesses, either: the runner names the test it blames for a lost VM (machine-lost.test, after
 * that test's own test-end), and that is the only attribution used.
 */
import type { RunEvent, RunStartEvent, SectionConfig } from './events.js';
import type { CrashInfo, TestStatus } from './outcome.js';
import type {
  CrashGroup,
  MachineLoss,
  MachineSpan,
  RunInfo,
  RunSummary,
  RunWarning,
  SectionInfo,
  SlowTest,
  StatusCounts,
  SummaryStatus,
  TestAttempt,
  TestResult,
} from './runSummary.js';
import { testKey } from './testKey.js';

/** How many tests the slowest list holds. */
export const SLOWEST_COUNT = 10;

/** Section of events seen before any run-start (fstests calls a config without sections "global"). */
const DEFAULT_SECTION = 'global';

/** Statuses that, followed by a pass, make a test flaky. `error` is excluded: it is kt's
 * infrastructure failing (VM lost for a non-kernel reason), not the test behaving differently. */
const FLAKY_BEFORE_PASS: ReadonlySet<TestStatus> = new Set(['failed', 'crashed', 'timedout']);

interface TestEntry {
  test: string;
  section: string;
  /** Insertion order, for stable output. */
  order: number;
  /** Finished attempts with the index of the run (event log) that recorded each, in event order. */
  attempts: { attempt: TestAttempt; runIndex: number }[];
  /** Index of the last run whose plan listed it (or that ran it). */
  runIndex: number;
}

interface RunState {
  info: RunInfo;
  startMs: number;
  lastMs: number;
  ended: boolean;
}

/** A crash that happened once: on one machine of one run, while one test ran. */
interface CrashOccurrence {
  crash: CrashInfo;
  machine: string;
  test?: string;
  fatal: boolean;
}

function parseMs(ts: string | undefined): number {
  const ms = ts === undefined ? Number.NaN : Date.parse(ts);
  return Number.isFinite(ms) ? ms : Number.NaN;
}

/** The sections a run-start names: its `sections`, else the one `section`/`fstyp` of older logs. */
function sectionsOf(start: RunStartEvent | undefined): SectionConfig[] {
  if (start?.sections?.length) return start.sections;
  return [{ name: start?.section || DEFAULT_SECTION, fstyp: start?.fstyp ?? '', mkfsOptions: '', mountOptions: '' }];
}

function newRunInfo(start: RunStartEvent | undefined, ts: string): RunInfo {
  return {
    runId: start?.runId ?? 'unknown',
    section: start?.section || DEFAULT_SECTION,
    sections: sectionsOf(start),
    hasSectionConfigs: (start?.sections?.length ?? 0) > 0,
    argv: start?.argv ?? [],
    ...(start?.ktVersion !== undefined ? { ktVersion: start.ktVersion } : {}),
    ...(start?.fstests !== undefined ? { fstests: start.fstests } : {}),
    hostname: start?.hostname ?? '',
    kernel: start?.kernel ?? '',
    fstyp: start?.fstyp ?? '',
    accel: start?.accel ?? '',
    jobs: start?.jobs ?? 0,
    ...(start?.shard !== undefined ? { shard: start.shard } : {}),
    startedAt: ts,
    status: 'killed',
    wallMs: 0,
    planned: start?.work?.length ?? start?.tests.length ?? 0,
  };
}

/** Why a planned test has no result, from how its run ended. */
function notExecutedReason(run: RunInfo | undefined): string {
  switch (run?.status) {
    case 'interrupted':
    case 'killed':
    case undefined:
      return 'run interrupted';
    case 'error':
      return run.message ? `run failed: ${run.message}` : 'run failed';
    case 'completed':
      return 'run completed without running it';
  }
}

function emptyCounts(): StatusCounts {
  return { passed: 0, failed: 0, notrun: 0, crashed: 0, timedout: 0, error: 0, notexecuted: 0, flaky: 0, total: 0 };
}

/** Reduces the events of one or more logs (concatenated) to the summary every reporter renders. */
export function summarizeRun(events: readonly RunEvent[]): RunSummary {
  const runs: RunState[] = [];
  const tests = new Map<string, TestEntry>();
  /** `${runIndex}/${machine}` → key of the test begun there and not yet ended. */
  const inFlight = new Map<string, string>();
  /** `${runIndex}/${machine}` → ISO time of the test-begin of the test in flight. */
  const beganAt = new Map<string, string>();
  /** `${runIndex}/${machine}` → non-fatal reports seen during the test in flight. */
  const pendingReports = new Map<string, CrashInfo[]>();
  const occurrences = new Map<string, CrashOccurrence>();
  const lost: MachineLoss[] = [];
  const spans = new Map<string, MachineSpan>();
  const warnings: RunWarning[] = [];
  let booted = 0;

  const currentRun = (ts: string): { state: RunState; index: number } => {
    if (runs.length === 0) {
      // Events before any run-start: a log whose head was lost. Keep them under an unnamed run.
      runs.push({ info: newRunInfo(undefined, ts), startMs: parseMs(ts), lastMs: parseMs(ts), ended: false });
    }
    const index = runs.length - 1;
    const state = runs[index] as RunState;
    const ms = parseMs(ts);
    if (Number.isFinite(ms)) {
      if (!Number.isFinite(state.startMs)) state.startMs = ms;
      state.lastMs = Number.isFinite(state.lastMs) ? Math.max(state.lastMs, ms) : ms;
    }
    return { state, index };
  };

  const entryFor = (section: string, test: string, runIndex: number): TestEntry => {
    const key = testKey(section, test);
    let entry = tests.get(key);
    if (!entry) {
      entry = { test, section, order: tests.size, attempts: [], runIndex };
      tests.set(key, entry);
    }
    entry.runIndex = runIndex;
    return entry;
  };

  const spanOf = (runIndex: number, runId: string, machine: string): MachineSpan => {
    const key = `${runIndex}/${machine}`;
    let span = spans.get(key);
    if (!span) {
      span = { machine, runId };
      spans.set(key, span);
    }
    return span;
  };

  const recordCrash = (runIndex: number, machine: string, test: string | undefined, crash: CrashInfo, fatal: boolean): void => {
    // The runner reports a fatal crash twice (the blamed test's outcome and machine-lost): one
    // machine, one running test and one fingerprint make one occurrence.
    const key = `${runIndex}/${machine}\u0000${test ?? ''}\u0000${crash.fingerprint}`;
    const seen = occurrences.get(key);
    if (!seen) occurrences.set(key, { crash, machine, fatal, ...(test !== undefined ? { test } : {}) });
    else if (fatal) seen.fatal = true;
  };

  for (const event of events) {
    switch (event.type) {
      case 'run-start': {
        const ms = parseMs(event.ts);
        runs.push({ info: newRunInfo(event, event.ts), startMs: ms, lastMs: ms, ended: false });
        const index = runs.length - 1;
        const section = event.section || DEFAULT_SECTION;
        if (event.work) for (const w of event.work) entryFor(w.section, w.test, index);
        else for (const test of event.tests) entryFor(section, test, index);
        break;
      }
      case 'machine-boot': {
        const { state, index } = currentRun(event.ts);
        booted += 1;
        spanOf(index, state.info.runId, event.machine).bootAt = event.ts;
        break;
      }
      case 'machine-up': {
        const { state, index } = currentRun(event.ts);
        const span = spanOf(index, state.info.runId, event.machine);
        span.upAt = event.ts;
        span.bootMs = event.bootMs;
        break;
      }
      case 'machine-lost': {
        const { state, index } = currentRun(event.ts);
        const span = spanOf(index, state.info.runId, event.machine);
        span.lostAt = event.ts;
        span.lostReason = event.reason;
        lost.push({
          machine: event.machine,
          runId: state.info.runId,
          reason: event.reason,
          message: event.message,
          ...(event.crash ? { crashFingerprint: event.crash.fingerprint } : {}),
          ...(event.test !== undefined ? { test: event.test } : {}),
          consoleLog: event.consoleLog,
          ...(event.vmcore !== undefined ? { vmcore: event.vmcore } : {}),
        });
        if (event.crash) recordCrash(index, event.machine, event.test, event.crash, true);
        // A test that began here and has no end was not blamed: the crash came before its own
        // work (runner/blame.ts), and it went back to the queue. It is not running any more.
        const slot = `${index}/${event.machine}`;
        inFlight.delete(slot);
        beganAt.delete(slot);
        pendingReports.delete(slot);
        break;
      }
      case 'test-begin': {
        const { state, index } = currentRun(event.ts);
        const entry = entryFor(event.section ?? state.info.section, event.test, index);
        const slot = `${index}/${event.machine}`;
        inFlight.set(slot, testKey(entry.section, entry.test));
        beganAt.set(slot, event.ts);
        pendingReports.set(slot, []);
        break;
      }
      case 'console-report': {
        const { state, index } = currentRun(event.ts);
        recordCrash(index, event.machine, event.test, event.report, false);
        if (event.test === undefined) break;
        // The console and check's stdout are separate streams: a report may arrive while its
        // test runs, or just after check printed the test's result. Tie it to that attempt.
        const slot = `${index}/${event.machine}`;
        const key = testKey(event.section ?? state.info.section, event.test);
        if (inFlight.get(slot) === key) {
          pendingReports.get(slot)?.push(event.report);
          break;
        }
        const last = tests.get(key)?.attempts.filter((a) => a.runIndex === index && a.attempt.machine === event.machine).at(-1);
        last?.attempt.reports.push(event.report);
        break;
      }
      case 'test-end': {
        const { state, index } = currentRun(event.ts);
        const entry = entryFor(event.section ?? state.info.section, event.test, index);
        const slot = `${index}/${event.machine}`;
        const sameTest = inFlight.get(slot) === testKey(entry.section, entry.test);
        const startedAt = sameTest ? beganAt.get(slot) : undefined;
        const reports = sameTest ? (pendingReports.get(slot) ?? []) : [];
        if (sameTest) {
          inFlight.delete(slot);
          beganAt.delete(slot);
          pendingReports.delete(slot);
        }
        const attempt: TestAttempt = {
          attempt: event.attempt,
          machine: event.machine,
          outcome: event.outcome,
          durationMs: event.durationMs,
          ...(event.checkSeconds !== undefined ? { checkSeconds: event.checkSeconds } : {}),
          endedAt: event.ts,
          ...(startedAt !== undefined ? { startedAt } : {}),
          artifacts: event.artifacts,
          ...(event.dmesg !== undefined ? { dmesg: event.dmesg } : {}),
          ...(event.fullTail !== undefined ? { fullTail: event.fullTail } : {}),
          runId: state.info.runId,
          reports,
        };
        entry.attempts.push({ attempt, runIndex: index });
        const outcome = event.outcome;
        const crash = outcome.status === 'crashed' || outcome.status === 'timedout' ? outcome.crash : undefined;
        if (crash) recordCrash(index, event.machine, event.test, crash, true);
        break;
      }
      case 'warning':
        currentRun(event.ts);
        // The CI shards of one run each said the same about its plan and host: once is enough.
        if (event.beforeRun && warnings.some((w) => w.beforeRun && w.message === event.message)) break;
        warnings.push({ ts: event.ts, message: event.message, ...(event.machine !== undefined ? { machine: event.machine } : {}), ...(event.beforeRun ? { beforeRun: true } : {}) });
        break;
      case 'run-end': {
        const { state } = currentRun(event.ts);
        state.ended = true;
        state.info.status = event.status;
        state.info.wallMs = event.wallMs;
        if (event.signal !== undefined) state.info.signal = event.signal;
        if (event.message !== undefined) state.info.message = event.message;
        break;
      }
    }
  }

  for (const run of runs) {
    if (!run.ended && Number.isFinite(run.startMs) && Number.isFinite(run.lastMs)) {
      run.info.wallMs = run.lastMs - run.startMs;
    }
  }

  const unfinishedOn = new Map<string, string>();
  for (const [slot, key] of inFlight) unfinishedOn.set(key, slot.slice(slot.indexOf('/') + 1));

  const runRank = chronologicalRanks(runs);
  const results = orderBySection([...tests.values()]).map((entry): TestResult => {
    const key = testKey(entry.section, entry.test);
    // Runs in the order they started, then attempts within a run (a stable sort keeps the event
    // order of equal keys): the last element is the latest run's last attempt.
    const ordered = [...entry.attempts].sort(
      (a, b) => (runRank[a.runIndex] ?? 0) - (runRank[b.runIndex] ?? 0) || a.attempt.attempt - b.attempt.attempt,
    );
    const attempts = ordered.map((a) => a.attempt);
    const lastRun = ordered.at(-1)?.runIndex;
    const last = attempts[attempts.length - 1];
    const status: SummaryStatus = last ? last.outcome.status : 'notexecuted';
    // Flaky is a property of one run's retries: a failure in another run followed by a pass here
    // is two runs disagreeing, not a retry that passed.
    const flaky = status === 'passed' && ordered.slice(0, -1).some((a) => a.runIndex === lastRun && FLAKY_BEFORE_PASS.has(a.attempt.outcome.status));
    const machine = unfinishedOn.get(key);
    return {
      test: entry.test,
      section: entry.section,
      status,
      attempts,
      flaky,
      ...(machine !== undefined && !last ? { unfinishedOn: machine } : {}),
      ...(status === 'notexecuted'
        ? { notExecutedReason: notExecutedReason(runs[entry.runIndex]?.info), notExecutedRunStatus: runs[entry.runIndex]?.info.status ?? 'killed' }
        : {}),
    };
  });

  const runInfos = runs.map((r) => r.info);
  return {
    runs: runInfos,
    sections: summarizeSections(runs),
    tests: results,
    counts: countStatuses(results),
    crashes: groupCrashes([...occurrences.values()]),
    slowest: pickSlowest(results),
    machines: { booted, lost, spans: [...spans.values()] },
    warnings,
    startedAt: earliestStart(runs),
    wallMs: overallWallMs(runs),
    interrupted: runInfos.some((r) => r.status === 'interrupted' || r.status === 'killed'),
  };
}

/**
 * Each run's rank by start time (index → rank), the order of the logs breaking ties. When some
 * run has no start time (a log whose head was lost), the order of the logs alone.
 */
function chronologicalRanks(runs: readonly RunState[]): number[] {
  const indexes = runs.map((_, i) => i);
  if (runs.every((r) => Number.isFinite(r.startMs))) {
    indexes.sort((a, b) => (runs[a] as RunState).startMs - (runs[b] as RunState).startMs || a - b);
  }
  const rank: number[] = [];
  indexes.forEach((runIndex, position) => {
    rank[runIndex] = position;
  });
  return rank;
}

/** Groups tests by section (first seen first), keeping plan order within a section. */
function orderBySection(entries: TestEntry[]): TestEntry[] {
  const sectionOrder = new Map<string, number>();
  for (const e of entries) if (!sectionOrder.has(e.section)) sectionOrder.set(e.section, sectionOrder.size);
  return entries.sort(
    (a, b) => (sectionOrder.get(a.section) ?? 0) - (sectionOrder.get(b.section) ?? 0) || a.order - b.order,
  );
}

function countStatuses(results: TestResult[]): StatusCounts {
  const counts = emptyCounts();
  for (const r of results) {
    counts[r.status] += 1;
    if (r.flaky) counts.flaky += 1;
    counts.total += 1;
  }
  return counts;
}

function groupCrashes(occurrences: CrashOccurrence[]): CrashGroup[] {
  const groups = new Map<string, CrashGroup>();
  let corrupted = 0;
  for (const o of occurrences) {
    // A corrupted report's fingerprint is not trustworthy: it never merges with another one.
    const key = o.crash.corrupted ? `corrupted\u0000${corrupted++}` : o.crash.fingerprint;
    let group = groups.get(key);
    if (!group) {
      group = { fingerprint: o.crash.fingerprint, crash: o.crash, count: 0, tests: [], machines: [], fatal: false };
      groups.set(key, group);
    }
    if (o.fatal) group.fatal = true;
    group.count += 1;
    if (o.test !== undefined && !group.tests.includes(o.test)) group.tests.push(o.test);
    if (!group.machines.includes(o.machine)) group.machines.push(o.machine);
  }
  return [...groups.values()];
}

function pickSlowest(results: TestResult[]): SlowTest[] {
  const executed: SlowTest[] = [];
  for (const r of results) {
    const last = r.attempts[r.attempts.length - 1];
    if (last) executed.push({ test: r.test, section: r.section, durationMs: last.durationMs, machine: last.machine });
  }
  return executed.sort((a, b) => b.durationMs - a.durationMs).slice(0, SLOWEST_COUNT);
}

/** One SectionInfo per section name over every run (a run may hold several sections). */
function summarizeSections(runs: RunState[]): SectionInfo[] {
  const sections = new Map<string, SectionInfo & { startMs: number; endMs: number }>();
  for (const run of runs) {
    const endMs = run.startMs + run.info.wallMs;
    for (const config of run.info.sections) {
      const existing = sections.get(config.name);
      if (!existing) {
        sections.set(config.name, {
          name: config.name,
          hostnames: run.info.hostname ? [run.info.hostname] : [],
          startedAt: run.info.startedAt,
          wallMs: 0,
          fstyp: config.fstyp || run.info.fstyp,
          kernel: run.info.kernel,
          // A log of a kt without sections has no options to tell: leave them out, not empty.
          ...(run.info.hasSectionConfigs ? { mkfsOptions: config.mkfsOptions, mountOptions: config.mountOptions } : {}),
          ...(run.info.ktVersion !== undefined ? { ktVersion: run.info.ktVersion } : {}),
          startMs: run.startMs,
          endMs,
        });
        continue;
      }
      if (run.info.hostname && !existing.hostnames.includes(run.info.hostname)) existing.hostnames.push(run.info.hostname);
      if (run.startMs < existing.startMs) {
        existing.startMs = run.startMs;
        existing.startedAt = run.info.startedAt;
      }
      if (endMs > existing.endMs) existing.endMs = endMs;
    }
  }
  return [...sections.values()].map(({ startMs, endMs, ...info }) => ({
    ...info,
    wallMs: Number.isFinite(endMs - startMs) ? endMs - startMs : 0,
  }));
}

function earliestStart(runs: RunState[]): string {
  let best: RunState | undefined;
  for (const run of runs) if (Number.isFinite(run.startMs) && (!best || run.startMs < best.startMs)) best = run;
  return best?.info.startedAt ?? runs[0]?.info.startedAt ?? '';
}

/** Shards run side by side, so the wall time is the span of all runs, not their sum. */
function overallWallMs(runs: RunState[]): number {
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const run of runs) {
    if (!Number.isFinite(run.startMs)) continue;
    start = Math.min(start, run.startMs);
    end = Math.max(end, run.startMs + run.info.wallMs);
  }
  return Number.isFinite(end - start) ? end - start : 0;
}
