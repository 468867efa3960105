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
 * `say` gets the notes as lines for the terminal, and the warnings too unless `warn` takes them
 * (kt run's prints and records them: src/runner/run.ts startWarnings). `facts`: the host's
 * (tests give their own).
 */
export function sizeRun(config: RunConfig, accel: Accel, out: { say?: (line: string) => void; warn?: (warning: string) => void; facts?: HostFacts } = {}): RunConfig {
  const { say, warn } = out;
  const facts = out.facts ?? readHostFacts();
  const diskBytesPerVm = config.testSizeBytes + config.scratchSizeBytes + extraDisksFor(config).reduce((n, d) => n + d.sizeBytes, 0);
  const size = resolveRunSize({ ...config.sizeRequest, memoryMiB: config.memoryMiB, accel, diskBytesPerVm }, facts);
  if (say) for (const note of size.notes) say(`kt: ${note}\n`);
  for (const warning of size.warnings) {
    if (warn) warn(warning);
    else say?.(`kt: warning: ${warning}\n`);
  }
  return Object.freeze({ ...config, jobs: size.jobs, cpus: size.cpus, spares: size.spares });
}
