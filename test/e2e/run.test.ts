/**
 * kt run on real VMs: the fixture fstests tree in Debian guests under TCG, -j 2,
 * TEST/SCRATCH formatted with mkfs.xfs in the guest, every outcome kind, JUnit against the
 * schema, nothing left behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveCacheDir } from '../../src/vm/image/cacheDir.js';
import { hashFstestsTree } from '../../src/vm/fstestsImage.js';
import { fixtureTree, ktTempDirs, lastEnd, outcomes, qemuOf, readEvents, runIdOf, runKt, validateJunit, type KtRun } from './harness.js';

describe('kt run -j 2 on the fixture tree', () => {
  let run: KtRun;
  let tree: string;

  let memos: () => string[];
  let templateDir: string;

  beforeAll(async () => {
    tree = await fixtureTree();
    // The preflight memos of this tree (src/cli/preflightMemo.ts: <image>-<build>-<tree hash>),
    // cleared so that this run's VMs run the preflight and remember the tree afresh.
    const cacheDir = resolveCacheDir(process.env);
    const memoDir = path.join(cacheDir, 'preflight');
    const treeHash = hashFstestsTree(tree, cacheDir).hash;
    memos = () => (fs.existsSync(memoDir) ? fs.readdirSync(memoDir).filter((f) => f.endsWith(`-${treeHash}`)) : []);
    for (const f of memos()) fs.rmSync(path.join(memoDir, f));
    // TEST_DEV made once (src/cli/testDevTemplates.ts), cleared so that this run's first VMs make
    // it themselves and keep it. (e2e files run one at a time: no other run keeps one meanwhile.)
    templateDir = path.join(cacheDir, 'test-dev');
    fs.rmSync(templateDir, { recursive: true, force: true });
    run = await runKt([
      '-j', '2', '--fstests', tree, '-g', 'quick',
      'selftest/001', 'selftest/002', 'selftest/003', 'selftest/004', 'selftest/900', 'selftest/901',
    ]);
  }, 1_800_000);

  it('exits 1 because tests failed, and says where the results are', () => {
    expect(run.stderr + run.stdout).not.toMatch(/internal error/);
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stdout).toContain(`kt: results in ${run.runDir}`);
  });

  it("boots the image kernel by its PVH entry: the uncompressed vmlinux the image keeps (src/vm/pvh)", () => {
    const said = /^kt: kernel (\S+)\/vmlinuz \(image kernel [^)]+\), booted by its PVH entry: \1\/vmlinux$/m.exec(run.stderr);
    expect(said, run.stderr).not.toBeNull();
    // The record names both: the kernel of the run, and the file QEMU booted.
    const start = readEvents(run.runDir).find((e) => e.type === 'run-start')!;
    expect(start).toMatchObject({ kernel: `${said![1]}/vmlinuz`, bootKernel: `${said![1]}/vmlinux` });
    // The image kernel has xfs as a module: the initramfs starts its load (and only of what is
    // not there yet) as soon as the root is mounted.
    expect(fs.readFileSync(path.join(run.runDir, 'console', 'vm1.log'), 'utf8')).toMatch(/^kt-initramfs: modules: loading .*\bxfs\b.* in the background\r?$/m);
  });

  it('gives every test the outcome fstests check printed', () => {
    expect(outcomes(run.runDir)).toEqual({
      'generic/001': 'passed',
      'generic/002': 'passed',
      'generic/004': 'notrun',
      'xfs/001': 'passed',
      'selftest/001': 'passed',
      'selftest/002': 'failed',
      'selftest/003': 'failed',
      'selftest/004': 'notrun',
      'selftest/900': 'failed',
      'selftest/901': 'failed',
    });
    expect(lastEnd(run.runDir, 'selftest/004').outcome!.reason).toBe('Always skip me');
    expect(lastEnd(run.runDir, 'selftest/002').outcome!.message).toMatch(/^- output mismatch \(see \/run\/kt\/results\/xfs_4k\/selftest\/002.out.bad\)/);
    expect(lastEnd(run.runDir, 'selftest/901').outcome!.message).toContain('[failed, exit status 3]');
    expect(lastEnd(run.runDir, 'selftest/900').outcome!.message).toContain('_check_dmesg: something found in dmesg');
  });

  it('copies per-test files out of the guest', () => {
    const dmesg = fs.readFileSync(path.join(run.runDir, 'results/selftest/900.dmesg'), 'utf8');
    expect(dmesg).toContain('WARNING: CPU: 0 PID: 1 at fs/fake.c:42');
    expect(fs.readFileSync(path.join(run.runDir, 'results/selftest/002.out.bad'), 'utf8')).toContain('I am intentionally broken');
    expect(lastEnd(run.runDir, 'selftest/900').dmesg).toContain('run fstests selftest/900 at');
  });

  it('used two VMs and shared the tests between them', () => {
    const events = readEvents(run.runDir);
    const machines = new Set(events.filter((e) => e.type === 'test-begin').map((e) => e.machine));
    expect([...machines].sort()).toEqual(['vm1', 'vm2']);
    const up = events.filter((e) => e.type === 'machine-up');
    expect(up.filter((e) => machines.has(e.machine))).toHaveLength(2);
    expect(up[0]!.kernelRelease).toMatch(/cloud-amd64/);
    // -j 2 keeps one warm spare (default --spares 1): booted once they were up, never given a
    // test here since no VM was lost, and shut down with the run.
    const spares = events.filter((e) => e.type === 'machine-boot' && !machines.has(e.machine));
    expect(spares.map((e) => e.machine)).toEqual(['vm3']);
    expect(events.filter((e) => e.type === 'machine-lost')).toEqual([]);
  });

  it('writes JUnit that validates against the schema, summary.json and report.md', async () => {
    const junit = path.join(run.runDir, 'junit.xml');
    const v = await validateJunit(junit);
    expect(v.ok, v.output).toBe(true);
    const xml = fs.readFileSync(junit, 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(10);
    expect(xml).toContain('Always skip me');
    const summary = JSON.parse(fs.readFileSync(path.join(run.runDir, 'summary.json'), 'utf8')) as { version: number };
    expect(summary.version).toBe(1);
    expect(fs.readFileSync(path.join(run.runDir, 'report.md'), 'utf8')).toContain('selftest/002');
    expect(fs.existsSync(path.join(run.runDir, 'console/vm1.log'))).toBe(true);
  });

  it('makes TEST_DEV in its first VMs and keeps it for later ones (docs/speed.md, "TEST_DEV made once")', () => {
    const up = readEvents(run.runDir).filter((e) => e.type === 'machine-up');
    // No template before the run: the first VMs made TEST_DEV themselves; a VM booted after one
    // of them was ready (the spare, a crash's replacement) may begin from the copy.
    expect(up[0]!['testDev']).toBe('mkfs');
    for (const e of up) expect(['mkfs', 'template']).toContain(e['testDev']);
    // One file, for the one section; sparse: a copy of what mkfs wrote, not of the 5 GiB disk.
    const kept = fs.readdirSync(templateDir).filter((f) => f.endsWith('.img'));
    expect(kept).toHaveLength(1);
    const st = fs.statSync(path.join(templateDir, kept[0]!));
    expect(st.size).toBe(5 * 2 ** 30);
    expect(st.blocks * 512).toBeLessThan(st.size / 10);
    // An xfs superblock (the fixture's default section is xfs) at the start of the copy.
    const magic = Buffer.alloc(4);
    const fd = fs.openSync(path.join(templateDir, kept[0]!), 'r');
    fs.readSync(fd, magic, 0, 4, 0);
    fs.closeSync(fd);
    expect(magic.toString('latin1')).toBe('XFSB');
  });

  it('runs the preflight or skips the set-up as remembered, and remembers the tree for the next run', async () => {
    const up = readEvents(run.runDir).filter((e) => e.type === 'machine-up');
    // No memo before the run: the first VMs up ran the preflight (a VM up after one of them
    // passed it may already skip), and the run left the memo behind.
    expect(up[0]!['preflight']).toBe('ran');
    for (const e of up) expect(['ran', 'remembered']).toContain(e['preflight']);
    expect(memos()).toHaveLength(1);
    // kt-init did the rest of the set-up and said so before its ready line.
    expect(fs.readFileSync(path.join(run.runDir, 'console', 'vm1.log'), 'utf8')).toMatch(/^kt-init: prepared\r?$/m);
    // A later run of the same tree in the same image skips the set-up command (src/runner/guestSetup.ts).
    // Its -x names no group: a warning of the plan, which the record keeps too.
    const again = await runKt(['-j', '1', '--spares', '0', '--fstests', tree, '-x', 'nosuch', 'selftest/001']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(readEvents(again.runDir).filter((e) => e.type === 'machine-up').map((e) => e['preflight'])).toEqual(['remembered']);
    // Its VM's TEST disk began as the first run's TEST_DEV, made once: check mounted it and the test passed.
    expect(readEvents(again.runDir).filter((e) => e.type === 'machine-up').map((e) => e['testDev'])).toEqual(['template']);
    expect(outcomes(again.runDir)).toEqual({ 'selftest/001': 'passed' });
    // --test-dev mkfs: the VM makes its own TEST_DEV, and the template is neither used (its mtime
    // is touched on use) nor replaced.
    const kept = () => fs.readdirSync(templateDir).map((f) => [f, fs.statSync(path.join(templateDir, f)).mtimeMs]);
    const before = kept();
    const own = await runKt(['-j', '1', '--spares', '0', '--fstests', tree, '--test-dev', 'mkfs', 'selftest/001']);
    expect(own.exitCode, own.stderr).toBe(0);
    expect(readEvents(own.runDir).filter((e) => e.type === 'machine-up').map((e) => e['testDev'])).toEqual(['mkfs']);
    expect(outcomes(own.runDir)).toEqual({ 'selftest/001': 'passed' });
    expect(kept()).toEqual(before);
    const warning = '-x nosuch: group "nosuch" is empty or not defined for FSTYP=xfs; nothing left out for it';
    // Said once before the run, once in the summary at its end; recorded right after run-start.
    expect(again.stderr.split('\n').filter((l) => l.includes('nosuch'))).toEqual([`kt: warning: ${warning}`]);
    expect(again.stdout.split('\n').filter((l) => l.includes('nosuch'))).toEqual([`warning: ${warning}`]);
    // Before any VM boots, among the other warnings said before the run (if the host gave any).
    const events = readEvents(again.runDir);
    const firstBoot = events.findIndex((e) => e.type === 'machine-boot');
    expect(events[0]!.type).toBe('run-start');
    expect(events.slice(1, firstBoot).every((e) => e.type === 'warning' && e['beforeRun'] === true)).toBe(true);
    expect(events.slice(1, firstBoot).filter((e) => e['message'] === warning)).toHaveLength(1);
    const summary = JSON.parse(fs.readFileSync(path.join(again.runDir, 'summary.json'), 'utf8')) as { warnings: { message: string; beforeRun?: boolean }[] };
    // (A host with little space in TMPDIR adds its own warning: only this one is looked at.)
    expect(summary.warnings.filter((w) => w.message.includes('nosuch'))).toEqual([expect.objectContaining({ message: warning, beforeRun: true })]);
  }, 600_000);

  it('leaves no qemu and no VM temp dirs behind', async () => {
    expect(await qemuOf(runIdOf(run.runDir))).toEqual([]);
    expect(ktTempDirs()).toEqual([]);
  });
});
