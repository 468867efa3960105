/**
 * CrashReport: what the detector hands the runner. It is a CrashInfo (the outcome's view of a
 * crash) plus where it happened; plain data, so it can go into events.jsonl as is.
 */
import { createHash } from 'node:crypto';

import type { CrashInfo } from '../record/outcome.js';
import type { CrashType } from './patterns.js';

export interface CrashReport extends CrashInfo {
  /** Crash class (CrashInfo.type, narrowed). */
  type: CrashType;
  /** The VM is dead or must be treated as dead: panic, Oops followed by a panic, hard lockup, lost VM. */
  fatal: boolean;
  /** The fstests test that was running (last "run fstests <test> at" marker), when known. */
  test?: string;
  /**
   * How many fstests markers the console had shown when the report began (the one naming `test`
   * is the last of them): tells one run of a test from another of the same name (a run of
   * several sections) — src/runner/batchRun.ts.
   */
  markerSeq?: number;
  /** 1-based number of the console line that started the report (0 for synthetic reports). */
  startLine: number;
  /** 1-based number of the last console line of the report (0 for synthetic reports). */
  endLine: number;
  /** Id of the pattern that matched (CRASH_PATTERNS), or the synthetic kind. */
  pattern: string;
}

/** Stable hash over type + title + frame: the same bug on two VMs gets the same fingerprint. */
export function fingerprintCrash(type: string, title: string, frame?: string): string {
  return createHash('sha256').update(`${type}\n${title}\n${frame ?? ''}`).digest('hex').slice(0, 16);
}

/** Kinds of reports the runner makes itself, when the console says nothing useful. */
export type SyntheticCrashKind = 'no-output' | 'lost-connection';

export interface SyntheticCrashDetails {
  /** The test that was running. */
  test?: string;
  /** How long the console stayed silent, or when the connection went away, in seconds. */
  seconds?: number;
  /** What the runner knows (e.g. "ssh: connection reset", "qemu exited with status 1"). */
  message?: string;
  /** The last console lines before it happened, for the excerpt. */
  lastLines?: readonly string[];
}

// syzkaller pkg/report: "no output from test machine", "lost connection to test machine"
const SYNTHETIC_TITLES: Record<SyntheticCrashKind, string> = {
  'no-output': 'no output from test machine',
  'lost-connection': 'lost connection to test machine',
};

/** A report for a VM that went silent or away without printing a crash. Always fatal. */
export function makeSyntheticReport(kind: SyntheticCrashKind, details: SyntheticCrashDetails = {}): CrashReport {
  const title = SYNTHETIC_TITLES[kind];
  const what =
    kind === 'no-output'
      ? `no console output${details.seconds === undefined ? '' : ` for ${details.seconds}s`}`
      : `lost connection to the VM${details.seconds === undefined ? '' : ` after ${details.seconds}s`}`;
  const excerpt = [
    `${what}${details.test ? ` while ${details.test} ran` : ''}${details.message ? `: ${details.message}` : ''}`,
    ...(details.lastLines?.length ? ['last console lines:', ...details.lastLines] : []),
  ].join('\n');
  const report: CrashReport = {
    title,
    type: kind,
    fingerprint: fingerprintCrash(kind, title),
    excerpt,
    fatal: true,
    startLine: 0,
    endLine: 0,
    pattern: kind,
  };
  if (details.test !== undefined) report.test = details.test;
  return report;
}
