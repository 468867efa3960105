/**
 * `kt shell RUN_DIR TEST`: where a test ran, read from the event log of a real TCG run
 * (test/reporters/fixtures/real-tcg-run: two VMs, selftest/005 panicked vm2, vm3 replaced it),
 * and the kept disks of that VM found from its recorded qemu argv.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkSameSection, placeOfTest, recordedTarget, testDiskDir } from '../../src/cli/shellTarget.js';
import { keptDisksDir, withKeptDisks } from '../../src/cli/keptDisks.js';
import { UsageError } from '../../src/errors.js';
import { parseEventLog } from '../../src/record/eventLog.js';
import type { RunEvent } from '../../src/record/events.js';
import type { RunSection } from '../../src/config/runConfig.js';

const FIXTURE = fileURLToPath(new URL('../reporters/fixtures/real-tcg-run/events.jsonl', import.meta.url));
const events: RunEvent[] = parseEventLog(fs.readFileSync(FIXTURE, 'utf8'), FIXTURE).events;

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error('no UsageError');
}

describe('placeOfTest', () => {
  it('finds the section and the VM of the last attempt', () => {
    expect(placeOfTest(events, 'selftest/005', undefined, 'run')).toEqual({ section: { name: 'xfs', fstyp: 'xfs', mkfsOptions: '', mountOptions: '' }, machine: 'vm2' });
    expect(placeOfTest(events, 'selftest/001', undefined, 'run').machine).toBe('vm3');
  });

  it('a test the run planned but never began keeps its section and has no VM', () => {
    const planned = events.filter((e) => !(e.type === 'test-begin' && e.test === 'selftest/001'));
    expect(placeOfTest(planned, 'selftest/001', undefined, 'run')).toEqual({ section: { name: 'xfs', fstyp: 'xfs', mkfsOptions: '', mountOptions: '' } });
  });

  it('refuses a test the run did not have, naming some it had', () => {
    const err = usageError(() => placeOfTest(events, 'xfs/999', undefined, 'kt-results/x'));
    expect(err.code).toBe('E_SHELL_UNKNOWN_TEST');
    expect(err.message).toBe('xfs/999 is not a test of the run in kt-results/x');
    expect(err.hint).toBe('name a test the run planned, e.g. generic/001 selftest/002 selftest/004 selftest/005 selftest/001');
  });

  it('refuses a section the test did not run in', () => {
    const err = usageError(() => placeOfTest(events, 'generic/001', 'xfs/1k', 'r'));
    expect(err.code).toBe('E_SHELL_UNKNOWN_SECTION');
    expect(err.hint).toBe('its sections: xfs');
  });

  it('asks which section when the test ran in several', () => {
    const start = events.find((e) => e.type === 'run-start')!;
    const twoSections: RunEvent[] = [
      { ...start, sections: [{ name: 'xfs/4k', fstyp: 'xfs', mkfsOptions: '-b size=4096', mountOptions: '' }, { name: 'xfs/1k', fstyp: 'xfs', mkfsOptions: '-b size=1024', mountOptions: '' }], work: [{ section: 'xfs/4k', test: 'generic/001' }, { section: 'xfs/1k', test: 'generic/001' }] } as RunEvent,
    ];
    const err = usageError(() => placeOfTest(twoSections, 'generic/001', undefined, 'r'));
    expect(err.code).toBe('E_SHELL_SECTION_NEEDED');
    expect(err.hint).toBe('pick one: -c xfs/4k');
    expect(placeOfTest(twoSections, 'generic/001', 'xfs/1k', 'r').section.mkfsOptions).toBe('-b size=1024');
  });
});

describe('testDiskDir', () => {
  it("reads the TEST disk's directory from a recorded qemu argv", () => {
    const vm3 = events.find((e) => e.type === 'machine-boot' && e.machine === 'vm3');
    expect(vm3 && vm3.type === 'machine-boot' ? testDiskDir(vm3.argv) : undefined).toBe('/tmp/kt-X40t4U/vm3');
  });

  it('undoes the doubled commas of a path that holds one', () => {
    expect(testDiskDir(['-drive', 'if=none,id=disk-test,file=/tmp/a,,b/vm1/test.img,format=raw'])).toBe('/tmp/a,b/vm1');
    expect(testDiskDir(['./run-nixos-vm'])).toBeUndefined();
  });
});

describe('recordedTarget', () => {
  it('refuses a run whose fstests tree is gone', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-shell-target-'));
    try {
      const gone = path.join(dir, 'removed-fstests');
      fs.writeFileSync(path.join(dir, 'events.jsonl'), fs.readFileSync(FIXTURE, 'utf8').replaceAll('/tmp/kt-real/fstests', gone));
      const err = await recordedTarget(dir, 'generic/001', undefined).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect(err).toMatchObject({ code: 'E_SHELL_FSTESTS_GONE', message: `the fstests tree the run used is gone: ${gone}` });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('carries the run flags that shape the VM and finds the disks the VM kept', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-shell-target-'));
    try {
      const tree = path.join(dir, 'fstests');
      const kept = path.join(dir, 'kt-AbC123', 'vm3');
      fs.mkdirSync(tree);
      fs.writeFileSync(path.join(tree, 'check'), '');
      fs.mkdirSync(kept, { recursive: true });
      fs.writeFileSync(path.join(kept, 'test.img'), '');
      // The real log, with the tree and the temp dir moved to where this test made them.
      const text = fs.readFileSync(FIXTURE, 'utf8').replaceAll('/tmp/kt-real/fstests', tree).replaceAll('/tmp/kt-X40t4U', path.join(dir, 'kt-AbC123'));
      fs.mkdirSync(path.join(dir, 'run'));
      fs.writeFileSync(path.join(dir, 'run', 'events.jsonl'), text);
      const t = await recordedTarget(path.join(dir, 'run'), 'selftest/001', undefined);
      expect(t.machine).toBe('vm3');
      expect(t.keptDisks).toBe(kept);
      // A run from before the PVH entry, which booted the bzImage: the shell boots it the same way.
      expect(t.args).toEqual({ fstests: tree, section: ['xfs'], accel: 'tcg', kernelEntry: 'bzimage', results: dir });
      // vm1 kept nothing: fresh disks.
      expect((await recordedTarget(path.join(dir, 'run'), 'generic/001', undefined)).keptDisks).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('checkSameSection', () => {
  const now: RunSection = { name: 'xfs/4k', fstyp: 'xfs', mkfsOptions: '-b size=4096', mountOptions: '', env: {}, excludes: [], devices: {}, suiteFile: 'suites/xfs.yaml' };
  it('accepts the section as recorded and refuses one edited since', () => {
    expect(() => checkSameSection({ name: 'xfs/4k', fstyp: 'xfs', mkfsOptions: '-b size=4096', mountOptions: '' }, now)).not.toThrow();
    const err = usageError(() => checkSameSection({ name: 'xfs/4k', fstyp: 'xfs', mkfsOptions: '-b size=1024', mountOptions: '' }, now));
    expect(err.code).toBe('E_SHELL_SECTION_CHANGED');
    expect(err.message).toBe('section xfs/4k is not what the run ran: MKFS_OPTIONS was "-b size=1024", is now "-b size=4096"');
  });
});

describe('kept disks', () => {
  const disks = [
    { serial: 'kt-root', path: '/cache/root.img', snapshot: true },
    { serial: 'test', path: '/tmp/kt-new/vm1/test.img', snapshot: false, sizeBytes: 5 << 30 },
    { serial: 'scratch', path: '/tmp/kt-new/vm1/scratch.img', snapshot: false, sizeBytes: 5 << 30 },
    { serial: 'fstests', path: '/cache/fstests.img', snapshot: true },
    { serial: 'testlog', path: '/tmp/kt-new/vm1/testlog.img', snapshot: false, sizeBytes: 1 << 30 },
  ];
  it('attaches the kept TEST and SCRATCH read-only (overlay) and leaves the shared images alone', () => {
    const have = new Set(['/kept/vm2/test.img', '/kept/vm2/scratch.img']);
    expect(withKeptDisks(disks, '/kept/vm2', (f) => have.has(f))).toEqual([
      disks[0],
      { serial: 'test', path: '/kept/vm2/test.img', snapshot: true },
      { serial: 'scratch', path: '/kept/vm2/scratch.img', snapshot: true },
      disks[3],
      disks[4],
    ]);
  });

  it('refuses a directory without the kept TEST or SCRATCH disk', () => {
    const err = usageError(() => withKeptDisks(disks, '/kept/vm2', (f) => f.endsWith('test.img')));
    expect(err.code).toBe('E_SHELL_KEPT_DISK_MISSING');
    expect(err.message).toBe('/kept/vm2/scratch.img does not exist: /kept/vm2 does not hold a kept VM\'s disks');
    const noDir = usageError(() => keptDisksDir('no/such/vm1', os.tmpdir()));
    expect(noDir.message).toBe('no/such/vm1 holds no test.img: it is not the directory of a kept VM');
  });
});
