/**
 * summary.json: the RunSummary as versioned JSON, for scripts and dashboards. Bump
 * SUMMARY_JSON_VERSION on any incompatible change of RunSummary.
 */
import type { RunSummary } from '../record/runSummary.js';
import type { RunVerdict } from '../record/verdict.js';

/** Format version of summary.json. */
export const SUMMARY_JSON_VERSION = 1;

/** The document written to summary.json; `verdict` when the run was judged against a baseline. */
export type SummaryJson = { version: typeof SUMMARY_JSON_VERSION } & RunSummary & { verdict?: RunVerdict };

/** Renders summary.json (pretty-printed, newline-terminated). */
export function renderJsonSummary(summary: RunSummary, verdict?: RunVerdict): string {
  // The verdict leads, as in every report; a run without a baseline renders as before.
  const doc: SummaryJson = { version: SUMMARY_JSON_VERSION, ...(verdict ? { verdict } : {}), ...summary };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
