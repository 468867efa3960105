/** Grouping the same crash seen on several VMs / in several tests, by fingerprint. */
import type { CrashReport } from './report.js';

/** A report as the runner saw it, with the VM it came from. */
export type CrashSighting = CrashReport & {
  /** Name of the VM (machine) whose console printed it. */
  machine?: string;
};

/** One distinct crash and where it was seen. */
export interface DedupedCrash {
  /** Shared fingerprint of the group. */
  fingerprint: string;
  /** Title of the group (all members share it, as it is part of the fingerprint). */
  title: string;
  /** Crash class of the group. */
  type: string;
  /** First relevant frame, when known. */
  frame?: string;
  /** The (only) sighting is corrupted: it stands alone. */
  corrupted?: boolean;
  /** At least one sighting was fatal. */
  fatal: boolean;
  /** How many times it was seen. */
  count: number;
  /** Tests it happened in, each once, in order of first sighting. */
  tests: string[];
  /** Machines it happened on, each once, in order of first sighting. */
  machines: string[];
  /** The first sighting, whose excerpt stands for the group. */
  first: CrashSighting;
}

/**
 * Groups reports by fingerprint, in order of first sighting. A corrupted report (its frames or
 * its end were lost) is never grouped with another one: its title may not be its identity.
 */
export function dedupeCrashes(reports: readonly CrashSighting[]): DedupedCrash[] {
  const groups = new Map<string, DedupedCrash>();
  for (const [index, report] of reports.entries()) {
    const key = report.corrupted ? `corrupted#${index}` : report.fingerprint;
    let group = groups.get(key);
    if (!group) {
      group = {
        fingerprint: report.fingerprint,
        title: report.title,
        type: report.type,
        fatal: false,
        count: 0,
        tests: [],
        machines: [],
        first: report,
      };
      if (report.frame !== undefined) group.frame = report.frame;
      if (report.corrupted) group.corrupted = true;
      groups.set(key, group);
    }
    group.count++;
    group.fatal ||= report.fatal;
    if (report.test !== undefined && !group.tests.includes(report.test)) group.tests.push(report.test);
    if (report.machine !== undefined && !group.machines.includes(report.machine)) group.machines.push(report.machine);
  }
  return [...groups.values()];
}
