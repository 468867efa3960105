import { describe, expect, it } from 'vitest';
import { fetchArtifacts } from '../../src/runner/artifacts.js';
import type { Machine } from '../../src/vm/machine.js';

const item = { test: 'generic/001', section: 'xfs', attempt: 1, freshVm: false };
const body = Buffer.from('@@KT-FILE dmesg 6\n@@KT-FILE full 5\n@@KT-BODY\ndmesg\nfull\n');

/** A guest whose fetch command prints `out` and ends with `exitCode`. */
function guest(exitCode: number): Machine {
  return {
    exec: async (_command: string, opts?: { onStdout?: (c: Buffer) => void }) => {
      opts?.onStdout?.(body);
      return { exitCode, stdout: '', stderr: '' };
    },
  } as unknown as Machine;
}

describe('fetchArtifacts', () => {
  it('saves every file the guest printed', async () => {
    const saved: string[] = [];
    const r = await fetchArtifacts(guest(0), item, { status: 'failed', message: 'x' }, '/r', (_i, ext, data) => (saved.push(`${ext}=${data.toString()}`), `results/generic/001.${ext}`));
    expect(saved).toEqual(['dmesg=dmesg\n', 'full=full\n']);
    expect(r.artifacts).toEqual({ dmesg: 'results/generic/001.dmesg', full: 'results/generic/001.full' });
  });

  it('keeps nothing when the copy failed in the guest (a file gone mid-copy misaligns the bodies after it)', async () => {
    const saved: string[] = [];
    const r = await fetchArtifacts(guest(1), item, { status: 'failed', message: 'x' }, '/r', (_i, ext) => (saved.push(ext), ext));
    expect(saved).toEqual([]);
    expect(r).toEqual({ artifacts: {} });
  });
});
