/**
 * Fits -j, --cpus and --spares of a run to this host (src/config/runSize.ts decides, this reads
 * the host and says what was decided). Called before anything is built, with the accelerator
 * the run asked for (a dry run prints the result), and again once the probe has chosen it.
 */
import type { RunConfig } from '../config/runConfig.js';
import { resolveRunSize, type HostFacts } from '../config/runSize.js';
import type { Accel } from '../vm/spec.js';
import { readHostFacts } from './hostFacts.js';
import { extraDisksFor } from './machines.js';

/**
 * `say` gets the notes and warnings as lines for the terminal; `warn`, when given, each warning
 * as it is (the run records them: src/runner/run.ts startWarnings).
 */
export function sizeRun(config: RunConfig, accel: Accel, say?: (line: string) => void, facts: HostFacts = readHostFacts(), warn?: (warning: string) => void): RunConfig {
  const diskBytesPerVm = config.testSizeBytes + config.scratchSizeBytes + extraDisksFor(config).reduce((n, d) => n + d.sizeBytes, 0);
  const size = resolveRunSize({ ...config.sizeRequest, memoryMiB: config.memoryMiB, accel, diskBytesPerVm }, facts);
  if (say) {
    for (const note of size.notes) say(`kt: ${note}\n`);
    for (const warning of size.warnings) say(`kt: warning: ${warning}\n`);
  }
  for (const warning of size.warnings) warn?.(warning);
  return Object.freeze({ ...config, jobs: size.jobs, cpus: size.cpus, spares: size.spares });
}
