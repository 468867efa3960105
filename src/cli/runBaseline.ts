/**
 * `kt run --baseline FILE` (docs/baseline.md): the baseline is read and checked before anything
 * boots, decides the retry policy (new failures are measured, known ones are not rerun), and
 * judges the finished run; runCommand only threads it through.
 */
import type { Baseline } from '../baseline/format.js';
import { judge } from '../baseline/judge.js';
import { baselineRetryPolicy } from '../baseline/retryPolicy.js';
import type { RunSummary } from '../record/runSummary.js';
import type { RunVerdict } from '../record/verdict.js';
import type { RetryPolicy } from '../runner/dispatcher.js';
import { retriesPolicy } from '../runner/run.js';
import { readBaseline } from './baselineFile.js';

/** Options of `kt run` that are not run configuration. */
export interface RunOptions {
  /** --baseline FILE */
  baseline?: string;
}

/** A baseline read for a run. */
export interface RunBaseline {
  file: string;
  baseline: Baseline;
}

/** Reads --baseline (exit 2 when missing or damaged), or undefined without one. */
export function loadRunBaseline(options: RunOptions): RunBaseline | undefined {
  return options.baseline !== undefined ? { file: options.baseline, baseline: readBaseline(options.baseline) } : undefined;
}

/** --retries N: with a baseline, baselineRetryPolicy; without, the plain one. */
export function retryPolicyFor(baseline: RunBaseline | undefined, retries: number): RetryPolicy {
  return baseline ? baselineRetryPolicy(baseline.baseline, retries) : retriesPolicy(retries);
}

/** The run judged against the baseline, if there is one. */
export function verdictFor(summary: RunSummary, baseline: RunBaseline | undefined): RunVerdict | undefined {
  return baseline ? judge(summary, baseline.baseline, { file: baseline.file }) : undefined;
}
