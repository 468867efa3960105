/**
 * Wording shared by the human-facing reporters (terminal, markdown, progress, annotations), so a
 * status reads the same everywhere.
 */
import type { StatusCounts, SummaryStatus } from '../record/runSummary.js';

/** How a status is written for people. */
export const STATUS_LABEL: Readonly<Record<SummaryStatus, string>> = {
  passed: 'passed',
  failed: 'failed',
  notrun: 'not run',
  crashed: 'crashed',
  timedout: 'timed out',
  error: 'error',
  notexecuted: 'not executed',
};

/** Order in which statuses are listed: the ones that need attention first after passed. */
export const STATUS_ORDER: readonly SummaryStatus[] = ['passed', 'failed', 'crashed', 'timedout', 'error', 'notrun', 'notexecuted'];

/** 850 → "0.9s", 12_345 → "12s", 125_000 → "2m05s", 3_720_000 → "1h02m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 60) return `${totalSeconds}s`;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return hours > 0 ? `${hours}h${pad(minutes)}m` : `${minutes}m${pad(seconds)}s`;
}

/** "7 passed (1 flaky), 2 failed, 1 crashed, 2 not executed": zero counts left out, passed always shown. */
export function formatCounts(counts: StatusCounts): string {
  const parts: string[] = [];
  for (const status of STATUS_ORDER) {
    const n = counts[status];
    if (n === 0 && status !== 'passed') continue;
    parts.push(status === 'passed' && counts.flaky > 0 ? `${n} passed (${counts.flaky} flaky)` : `${n} ${STATUS_LABEL[status]}`);
  }
  return parts.join(', ');
}

/** "generic/001" or "generic/001 [ext4_1k]" when the run had several sections. */
export function testLabel(test: string, section: string, manySections: boolean): string {
  return manySections ? `${test} [${section}]` : test;
}

/** "1 VM", "3 VMs". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
