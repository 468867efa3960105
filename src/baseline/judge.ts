/**
 * `judge`: a run against a baseline → regressions, known failures, fixes. The rules, their
 * order and why they are what they are: docs/baseline.md ("How a run is judged").
 */
import type { RunSummary } from '../record/runSummary.js';
import type { RunVerdict, TestVerdict } from '../record/verdict.js';
import { countedRuns, failingRuns, type Baseline, type BaselineEntry } from './format.js';
import { observe, type Observation } from './observe.js';
import { fisherGreater, fisherLess, isCountTable } from './stats.js';
import { titleRecorded } from './legacyTitles.js';

/** Recorded runs (that passed or failed) below which a recorded rate is not trusted. */
export const MIN_TRUSTED_RUNS = 3;

/** Significance of the one-sided Fisher test behind rate regressions and fixes. */
export const SIGNIFICANCE = 0.05;

/** p ≤ SIGNIFICANCE, with room for rounding: 1/C(6,3) is exactly 0.05 but sums of exp(log) are not. */
function significant(p: number): boolean {
  return p <= SIGNIFICANCE * (1 + 1e-9);
}

/** Attempts that must agree before a rate regression or a fix: "repeatedly". */
export const MIN_REPEATS = 2;

/** A known failure that passes is a possible fix when it fails in at least this share of runs. */
export const USUAL_FAILURE_SHARE = 0.5;

/** Options of judge. */
export interface JudgeOptions {
  /** The baseline's file name, for the verdict and the reports. */
  file: string;
}

function runs(n: number): string {
  return `${n} recorded run${n === 1 ? '' : 's'}`;
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${Math.round((100 * part) / whole)}%`;
}

function pValue(p: number): string {
  return p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`;
}

/** "failed", or "failed 2 of 3 attempts" when there was more than one attempt. */
function observedPhrase(obs: Observation, verb: string): string {
  return obs.attempts > 1 ? `${verb} ${obs.failed} of ${obs.attempts} attempts` : verb;
}

/** The first words of a failure line: the last failing attempt's status and detail. */
function failurePhrase(obs: Observation): string {
  const head = obs.lastFailure ?? 'failed';
  if (obs.attempts <= 1) return head;
  return `${head} (${obs.failed} of ${obs.attempts} attempts failed)`;
}

/** "passed in all 12 recorded runs", or with a thin baseline, how thin. */
function passedInAll(counted: number): string {
  const base = counted === 1 ? 'passed in the only recorded run' : counted === 2 ? 'passed in both recorded runs' : `passed in all ${runs(counted)}`;
  return counted < MIN_TRUSTED_RUNS ? `${base} (fewer than ${MIN_TRUSTED_RUNS}: a flaky test cannot be told yet)` : base;
}

/** Context a single test is judged in. */
export interface TestContext {
  section: string;
  test: string;
  /** The baseline has some run of this section. */
  sectionKnown: boolean;
  /** The baseline's entry for the test, if any. */
  entry: BaselineEntry | undefined;
}

/**
 * Judges one test's observation. Pure; also used by the retry policy on a single attempt.
 * Rules, in order (docs/baseline.md): kt errors, not run, then for a failing test: section or
 * test unknown, a new crash or hang, a first failure, a rate above the recorded one, else known;
 * for a passing one: fixed, possibly fixed, else ok.
 */
export function judgeTest(ctx: TestContext, obs: Observation): TestVerdict {
  const { section, test, entry } = ctx;
  const base = { section, test };
  const observed = obs.attempts > 0 ? { observed: { failed: obs.failed, attempts: obs.attempts } } : {};
  const recorded = entry ? { recorded: { failing: failingRuns(entry), runs: countedRuns(entry) } } : {};
  const verdict = (judgement: TestVerdict['judgement'], rule: TestVerdict['rule'], why: string, title?: string): TestVerdict => ({
    ...base,
    judgement,
    why,
    rule,
    ...observed,
    ...recorded,
    ...(title !== undefined ? { title } : {}),
  });

  if (obs.attempts === 0) {
    if (obs.notrun > 0) {
      const reason = obs.notrunReason ? ` (${obs.notrunReason})` : '';
      if (entry && countedRuns(entry) > 0 && entry.notrun === 0) {
        const n = countedRuns(entry);
        return verdict('regression', 'newly-notrun', `not run${reason}; ran in ${n === 1 ? 'the only recorded run' : `all ${runs(n)}`}`);
      }
      return verdict('ok', 'as-expected', `not run${reason}`);
    }
    return verdict('unjudged', 'kt-error', `kt error${obs.errorMessage ? `: ${obs.errorMessage}` : ''}; no verdict on the kernel`);
  }

  const F = entry ? failingRuns(entry) : 0;
  const N = entry ? countedRuns(entry) : 0;
  // parseBaseline refuses entries whose counts disagree (more flaky runs than passes makes
  // F > N); one built in code could still carry them. Its rate is then no rate: the Fisher
  // rules are skipped rather than thrown on, and the test is judged by the other rules.
  const rateTrusted = N >= MIN_TRUSTED_RUNS && isCountTable(F, N, obs.failed, obs.attempts);

  if (obs.failed > 0) {
    const what = failurePhrase(obs);
    if (!ctx.sectionKnown) return verdict('regression', 'section-not-in-baseline', `${what}; the baseline has no run of section ${section}`);
    if (!entry) return verdict('regression', 'not-in-baseline', `${what}; the baseline has no run of this test in section ${section}`);
    if (N === 0) return verdict('regression', 'new-failure', `${what}; it never ran in the ${runs(entry.runs)} (${entry.notrun > 0 ? 'not run' : 'kt errors'})`);

    const recordedTitles = Object.keys(entry.titles);
    for (const crash of obs.crashes) {
      if (crash.corrupted) {
        // Its title cannot be trusted: it is new only if the test never crashed at all.
        if (entry.crashed === 0 && entry.crashedEarlier === 0 && recordedTitles.length === 0) {
          return verdict('regression', 'new-crash', `crashed (a corrupted report: ${crash.title}); never crashed in ${runs(N)}`, crash.title);
        }
        continue;
      }
      if (!titleRecorded(entry.titles, crash)) {
        const known = recordedTitles.length === 0 ? 'no crash recorded' : `recorded: ${recordedTitles.length} other title${recordedTitles.length === 1 ? '' : 's'}`;
        return verdict('regression', 'new-crash', `crashed: ${crash.title}; a new crash for this test (${runs(N)}, ${known})`, crash.title);
      }
    }
    if (obs.timeouts > 0) {
      const newHang = obs.hangs.find((h) => !h.corrupted && !titleRecorded(entry.titles, h));
      if (entry.timedout === 0 && entry.timedoutEarlier === 0 && !obs.hangs.some((h) => titleRecorded(entry.titles, h))) {
        return verdict('regression', 'new-timeout', `${observedPhrase(obs, 'timed out')}${newHang ? `: ${newHang.title}` : ''}; never timed out in ${runs(N)}`, newHang?.title);
      }
      if (newHang) return verdict('regression', 'new-timeout', `timed out: ${newHang.title}; a hang the baseline never recorded for this test (${runs(N)})`, newHang.title);
    }
    if (F === 0) return verdict('regression', 'new-failure', `${what}; ${passedInAll(N)}`);

    const rate = `failed in ${F} of ${runs(N)} (${percent(F, N)})`;
    if (rateTrusted && obs.failed >= MIN_REPEATS && obs.failed * N > F * obs.attempts) {
      const p = fisherGreater(F, N, obs.failed, obs.attempts);
      if (significant(p)) return verdict('regression', 'rate', `failed ${obs.failed} of ${obs.attempts} attempts; ${rate}; ${pValue(p)} (Fisher's exact test)`);
    }
    return verdict('known', 'known-failure', `${what}; ${rate}`);
  }

  // Every judgeable attempt passed.
  if (!entry || F === 0) return verdict('ok', 'as-expected', 'passed');
  const rate = `failed in ${F} of ${runs(N)} (${percent(F, N)})`;
  if (rateTrusted && obs.attempts >= MIN_REPEATS) {
    const p = fisherLess(F, N, 0, obs.attempts);
    if (significant(p)) return verdict('fix', 'fixed', `passed ${obs.attempts} of ${obs.attempts} attempts; ${rate}; ${pValue(p)} (Fisher's exact test)`);
  }
  if (F >= USUAL_FAILURE_SHARE * N) {
    const passed = obs.attempts > 1 ? `passed ${obs.attempts} of ${obs.attempts} attempts` : 'passed';
    return verdict('possible-fix', 'passed-usual-failure', `${passed}; ${rate}: not yet enough passes to call it fixed (rerun with --retries or kt repro --count)`);
  }
  return verdict('ok', 'as-expected', `passed; ${rate}`);
}

/** Judges every executed test of `summary` against `baseline`. */
export function judge(summary: RunSummary, baseline: Baseline, options: JudgeOptions): RunVerdict {
  const verdict: RunVerdict = {
    baseline: options.file,
    regressions: [],
    known: [],
    fixes: [],
    possibleFixes: [],
    unjudged: [],
    notExecuted: 0,
    sectionsNotInBaseline: [],
    minRuns: MIN_TRUSTED_RUNS,
  };
  for (const result of summary.tests) {
    if (result.attempts.length === 0) {
      // Never ran (interrupted run, stopped shard): no evidence either way, never a regression.
      verdict.notExecuted += 1;
      continue;
    }
    const sectionTests = baseline.sections[result.section];
    if (!sectionTests && !verdict.sectionsNotInBaseline.includes(result.section)) verdict.sectionsNotInBaseline.push(result.section);
    const v = judgeTest({ section: result.section, test: result.test, sectionKnown: sectionTests !== undefined, entry: sectionTests?.[result.test] }, observe(result.attempts));
    switch (v.judgement) {
      case 'regression':
        verdict.regressions.push(v);
        break;
      case 'known':
        verdict.known.push(v);
        break;
      case 'fix':
        verdict.fixes.push(v);
        break;
      case 'possible-fix':
        verdict.possibleFixes.push(v);
        break;
      case 'unjudged':
        verdict.unjudged.push(v);
        break;
      case 'ok':
        break;
    }
  }
  return verdict;
}
