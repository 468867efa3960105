/**
 * sizeRun: the host's limits said on the terminal, and the warnings handed to kt run's `warn`
 * (which prints and records them: src/runner/run.ts startWarnings) instead of printed twice.
 */
import { describe, expect, it } from 'vitest';
import type { RunConfig } from '../../src/config/runConfig.js';
import type { HostFacts } from '../../src/config/runSize.js';
import { sizeRun } from '../../src/cli/runSizing.js';

const GiB = 1024 ** 3;
/** What sizeRun reads of a run config: one VM of 5 + 5 GiB, one section without extra disks. */
const config = {
  sizeRequest: { jobs: 1, cpus: 1, spares: 0 },
  memoryMiB: 2048,
  testSizeBytes: 5 * GiB,
  scratchSizeBytes: 5 * GiB,
  sections: [{ name: 'xfs', fstyp: 'xfs', devices: {} }],
} as unknown as RunConfig;
const host = (tmpFreeBytes: number): HostFacts => ({ cores: 2, memAvailableMiB: 24_000, openFilesLimit: 1_048_576, maxMapCount: 65_530, tmpFreeBytes, tmpDir: '/tmp' });

describe('sizeRun', () => {
  it('gives a warning to warn only, and still says it with say when there is no warn', () => {
    const said: string[] = [];
    const warned: string[] = [];
    // 3 GiB free: more than the 2 GiB a VM needs at least, less than its disks may grow to.
    sizeRun(config, 'tcg', { say: (l) => said.push(l), warn: (w) => warned.push(w), facts: host(3 * GiB) });
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(/^\/tmp has 3\.0 GiB free; the sparse disks of 1 VM\(s\) may grow to 10\.0 GiB/);
    expect(said.filter((l) => l.includes('GiB free'))).toEqual([]);
    const only: string[] = [];
    sizeRun(config, 'tcg', { say: (l) => only.push(l), facts: host(3 * GiB) });
    expect(only.filter((l) => l.includes('GiB free'))).toEqual([`kt: warning: ${warned[0]}\n`]);
  });

  it('warns of nothing on a host with room', () => {
    const warned: string[] = [];
    const sized = sizeRun(config, 'tcg', { warn: (w) => warned.push(w), facts: host(100 * GiB) });
    expect(warned).toEqual([]);
    expect([sized.jobs, sized.cpus, sized.spares]).toEqual([1, 1, 0]);
  });
});
