import { describe, expect, it } from 'vitest';
import { withOverlays } from '../../src/bench/restoreBench.js';
import { renderQemuArgs } from '../../src/vm/qemuArgs.js';
import { resolveVmSpec } from '../../src/vm/spec.js';
import { baseVmOptions } from '../vm/vmOptions.js';

describe('withOverlays (the restore row: disks that outlive QEMU)', () => {
  const spec = resolveVmSpec(baseVmOptions);
  const overlays = new Map([
    ['kt-root', '/tmp/w/saved-kt-root.qcow2'],
    ['fstests', '/tmp/w/saved-fstests.qcow2'],
  ]);

  it('attaches the shared images through the given qcow2 overlays instead of snapshot=on, and TEST and SCRATCH as they were', () => {
    const drives = renderQemuArgs(withOverlays(spec, overlays)).filter((_, i, argv) => argv[i - 1] === '-drive');
    expect(drives).toEqual([
      'if=none,id=disk-kt-root,file=/tmp/w/saved-kt-root.qcow2,format=qcow2,cache=unsafe,discard=unmap',
      'if=none,id=disk-test,file=/tmp/kt-x/vm1/test.img,format=raw,cache=unsafe,discard=unmap',
      'if=none,id=disk-scratch,file=/tmp/kt-x/vm1/scratch.img,format=raw,cache=unsafe,discard=unmap',
      'if=none,id=disk-fstests,file=/tmp/w/saved-fstests.qcow2,format=qcow2,cache=unsafe,discard=unmap',
    ]);
  });

  it('keeps the guest-visible serials, so the guest finds every disk where it was saved', () => {
    expect(withOverlays(spec, overlays).disks.map((d) => d.serial)).toEqual(spec.disks.map((d) => d.serial));
  });

  it('leaves a shared disk without an overlay on snapshot=on', () => {
    const root = withOverlays(spec, new Map()).disks[0]!;
    expect(root).toEqual(spec.disks[0]);
    expect(renderQemuArgs(spec).join(' ')).toContain('format=raw,snapshot=on');
  });
});
