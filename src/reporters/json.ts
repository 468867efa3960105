/**
 * summary.json: the RunSummary as versioned JSON, for scripts and dashboards. Bump
 * SUMMARY_JSON_VERSION on any incompatible change of RunSummary.
 */
import type { RunSummary } from '../record/runSummary.js';

/** Format version of summary.json. */
export const SUMMARY_JSON_VERSION = 1;

/** The document written to summary.json. */
export type SummaryJson = { version: typeof SUMMARY_JSON_VERSION } & RunSummary;

/** Renders summary.json (pretty-printed, newline-terminated). */
export function renderJsonSummary(summary: RunSummary): string {
  const doc: SummaryJson = { version: SUMMARY_JSON_VERSION, ...summary };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
