/**
 * The `kt run` that `kt repro` starts, from a recorded run-start (src/cli/reproArgs.ts): what is
 * carried over from the recorded command line and what is not.
 */
import { describe, expect, it } from 'vitest';
import { isImageKernel, kernelChange, recordedFlags, reproRun, sectionSpec } from '../../src/cli/reproArgs.js';
import type { RunStartEvent } from '../../src/record/events.js';

const START: RunStartEvent = {
  type: 'run-start',
  v: 1,
  ts: '2026-11-21T23:22:27.000Z',
  runId: '20261121-232227-a1b2',
  tests: ['generic/001', 'xfs/042'],
  jobs: 4,
  kernel: '/home/me/linux/arch/x86/boot/bzImage',
  bootKernel: '/home/me/linux/arch/x86/boot/compressed/vmlinux.bin',
  accel: 'kvm',
  fstyp: 'xfs',
  section: 'xfs/1k',
  hostname: 'build-7',
  argv: [
    'run', '-g', 'quick', '-x', 'dangerous', '-E', 'my.exclude', '-j', '4', '--retries=2', '--shard', '1/4',
    '-c', 'xfs/4k,xfs/1k', '--memory', '4096', '--cpus=4', '--append', 'xfs.debug=1', '--append', 'loglevel=8',
    '--test-timeout', '900', '--vmcore', '--results', 'out', '--baseline', 'kt-baseline.json', '--keep', 'generic/001', 'xfs/042',
  ],
  sections: [
    { name: 'xfs/4k', fstyp: 'xfs', mkfsOptions: '-b size=4096', mountOptions: '' },
    { name: 'xfs/1k', fstyp: 'xfs', mkfsOptions: '-b size=1024', mountOptions: '' },
  ],
  fstests: '/home/me/src/xfstests-dev',
};

describe('reproRun', () => {
  it('keeps the kernel, tree, section and VM flags; drops groups, excludes, tests, jobs, shards, retries, results, keep', () => {
    const run = reproRun(START, { test: 'xfs/042', section: START.sections![1]!, results: '/home/me/linux/kt-results', keep: false, dryRun: false });
    expect(run.argv).toEqual([
      'run',
      '--kernel', '/home/me/linux/arch/x86/boot/bzImage',
      '--fstests', '/home/me/src/xfstests-dev',
      '-c', 'xfs/1k',
      '--memory', '4096',
      '--cpus', '4',
      '--test-timeout', '900',
      '--append', 'xfs.debug=1',
      '--append', 'loglevel=8',
      '--vmcore',
      '-j', '1',
      '--results', '/home/me/linux/kt-results',
      'xfs/042',
    ]);
    expect(run.args).toEqual({
      kernel: '/home/me/linux/arch/x86/boot/bzImage',
      fstests: '/home/me/src/xfstests-dev',
      section: ['xfs/1k'],
      memory: '4096',
      cpus: '4',
      testTimeout: '900',
      append: ['xfs.debug=1', 'loglevel=8'],
      vmcore: true,
      jobs: '1',
      results: '/home/me/linux/kt-results',
      tests: ['xfs/042'],
    });
    expect(run.kernel).toBe('/home/me/linux/arch/x86/boot/bzImage');
  });

  it('boots the image kernel again without --kernel, and passes --keep and --dry-run when asked', () => {
    const start = { ...START, kernel: '/root/.cache/kt/images/6eda750e9b2edd04/vmlinuz', bootKernel: '/root/.cache/kt/images/6eda750e9b2edd04/vmlinux', argv: ['run', '--accel', 'tcg', '--fstests', '/tmp/t', 'selftest/002'] };
    const run = reproRun(start, { test: 'selftest/002', section: START.sections![0]!, results: '/r', keep: true, dryRun: true });
    expect(run.argv).toEqual(['run', '--fstests', '/home/me/src/xfstests-dev', '-c', 'xfs/4k', '--accel', 'tcg', '-j', '1', '--results', '/r', '--keep', '--dry-run', 'selftest/002']);
    expect(run.kernel).toBeUndefined();
  });

  it('boots the way the run booted: the bzImage when its record names no bootKernel, the entry the run was given as given', () => {
    const { bootKernel: _, ...byBzImage } = START;
    const run = reproRun(byBzImage, { test: 'xfs/042', section: START.sections![1]!, results: '/r', keep: false, dryRun: false });
    expect(run.argv.join(' ')).toContain(' --kernel-entry bzimage ');
    expect(run.args.kernelEntry).toBe('bzimage');
    expect(reproRun(START, { test: 'xfs/042', section: START.sections![1]!, results: '/r', keep: false, dryRun: false }).args.kernelEntry).toBeUndefined();
    const given = reproRun({ ...START, argv: ['run', '--kernel-entry', 'bzimage', 'xfs/042'] }, { test: 'xfs/042', section: START.sections![1]!, results: '/r', keep: false, dryRun: false });
    expect(given.argv.filter((w) => w === '--kernel-entry')).toHaveLength(1);
    expect(given.args.kernelEntry).toBe('bzimage');
  });

  it('makes TEST_DEV the way the run made it: --test-dev mkfs carried over, its value not taken for a test', () => {
    const own = reproRun({ ...START, argv: ['run', '--test-dev', 'mkfs', 'xfs/042'] }, { test: 'xfs/042', section: START.sections![1]!, results: '/r', keep: false, dryRun: false });
    expect(own.args.testDev).toBe('mkfs');
    expect(own.argv.join(' ')).toContain(' --test-dev mkfs ');
    // Its value is the flag's, in either form, never a test name.
    expect(recordedFlags(['run', '--test-dev', 'mkfs', 'xfs/042']).get('--test-dev')).toEqual(['mkfs']);
    expect(recordedFlags(['run', '--test-dev=mkfs', 'xfs/042']).get('--test-dev')).toEqual(['mkfs']);
    expect(reproRun(START, { test: 'xfs/042', section: START.sections![1]!, results: '/r', keep: false, dryRun: false }).args.testDev).toBeUndefined();
  });

  it('selects a section of a suite file by the file the run named', () => {
    const flags = recordedFlags(['run', '-c', './suites/mine.yaml/fast,xfs/1k', '--fstests', 'x']);
    expect(sectionSpec('mine/fast', flags)).toBe('./suites/mine.yaml/fast');
    expect(sectionSpec('mine/slow', flags)).toBe('./suites/mine.yaml/slow');
    expect(sectionSpec('xfs/1k', flags)).toBe('xfs/1k');
    expect(sectionSpec('xfs/4k', recordedFlags(['run', '--suite', 'xfs']))).toBe('xfs/4k');
    expect(sectionSpec('mine', recordedFlags(['run', '--suite=/etc/kt/mine.yml']))).toBe('/etc/kt/mine.yml');
    expect(sectionSpec('ext4/1k', recordedFlags(['run']))).toBe('ext4/1k');
  });

  it('never takes a flag value for a test or a flag, and knows an image kernel', () => {
    const flags = recordedFlags(['run', '-g', '--memory', '1024', 'generic/001', '--nixos-vm=./result', '--', '--cpus', '8']);
    expect(flags.has('--group')).toBe(false);
    expect(flags.get('--memory')).toEqual(['1024']);
    expect(recordedFlags(['run', '--scratch-size', '-5G']).get('--scratch-size')).toEqual(['-5G']);
    expect(flags.get('--nixos-vm')).toEqual(['./result']);
    expect(flags.has('--cpus')).toBe(false);
    expect(isImageKernel('/var/cache/kt/images/0e3c59f1fcdabede/vmlinuz')).toBe(true);
    expect(isImageKernel('/home/me/linux/arch/x86/boot/bzImage')).toBe(false);
    expect(isImageKernel('/home/me/images/vmlinuz')).toBe(false);
  });

  it('reads the value an on/off flag was given: --vmcore=false and --vmcore false are off, as kt run read them', () => {
    const vmcore = (argv: string[]) => recordedFlags(['run', ...argv, 'generic/001']).get('--vmcore');
    expect(vmcore(['--vmcore=false'])).toEqual(['false']);
    expect(vmcore(['--vmcore=true'])).toEqual(['true']);
    expect(vmcore(['--vmcore', 'false'])).toEqual(['false']);
    expect(vmcore(['--vmcore'])).toEqual(['true']);
    expect(vmcore(['--vmcore', '--no-vmcore'])).toEqual(['true', 'false']);
    expect(recordedFlags(['run', '--keep=false']).get('--keep')).toEqual(['false']);
    expect(recordedFlags(['run', '--no-keep']).get('--keep')).toEqual(['false']);
    for (const off of [['--vmcore=false'], ['--vmcore', 'false'], ['--vmcore', '--no-vmcore']]) {
      const run = reproRun({ ...START, argv: ['run', ...off, 'generic/001'] }, { test: 'generic/001', section: START.sections![0]!, results: '/r', keep: false, dryRun: false });
      expect(run.argv).not.toContain('--vmcore');
      expect(run.args.vmcore).toBeUndefined();
    }
    const on = reproRun({ ...START, argv: ['run', '--vmcore=true', 'generic/001'] }, { test: 'generic/001', section: START.sections![0]!, results: '/r', keep: false, dryRun: false });
    expect(on.args.vmcore).toBe(true);
  });

  it('anchors the relative paths of the recorded command line at the directory the run ran in', () => {
    const start = { ...START, cwd: '/home/me/linux', argv: ['run', '--config', 'ci/kt.yaml', '-c', 'ci/mine.yaml/fast', '--module', 'out/m.ko', '--fstests', '/t', 'generic/001'], sections: [{ name: 'mine/fast', fstyp: 'xfs', mkfsOptions: '', mountOptions: '' }] };
    const run = reproRun(start, { test: 'generic/001', section: start.sections[0]!, results: 'r', keep: false, dryRun: false });
    expect(run.args.config).toBe('/home/me/linux/ci/kt.yaml');
    expect(run.args.section).toEqual(['/home/me/linux/ci/mine.yaml/fast']);
    expect(run.args.module).toEqual(['/home/me/linux/out/m.ko']);
  });

  it('boots the repro over virtiofs with the same shares when the run did (docs/virtiofs.md)', () => {
    const start = { ...START, cwd: '/home/me/linux', argv: ['run', '--rootfs', 'virtiofs', '--share', 'data:testdata:ro', '--share=out:/tmp/out', '--fstests', '/t', 'generic/001'] };
    const run = reproRun(start, { test: 'generic/001', section: START.sections![0]!, results: '/r', keep: false, dryRun: false });
    expect(run.args.rootfs).toBe('virtiofs');
    expect(run.args.share).toEqual(['data:/home/me/linux/testdata:ro', 'out:/tmp/out']);
    expect(run.args.tests).toEqual(['generic/001']);
  });

  it('passes a kernel file by its path, and none for the image kernel; refuses a repro that would boot another kernel than the image one', () => {
    const image = '/root/.cache/kt/images/6eda750e9b2edd04/vmlinuz';
    const request = { test: 'generic/001', section: START.sections![0]!, results: '/r', keep: false, dryRun: false };
    const imageStart = { ...START, kernel: image, cwd: '/home/me/linux', argv: ['run', '--fstests', '/t', 'generic/001'] };
    const imageRun = reproRun(imageStart, request);
    expect(imageRun.kernel).toBeUndefined();
    expect(imageRun.argv).not.toContain('--kernel');
    // kt run in the recorded directory now: the image kernel again, or a file it gained since.
    expect(kernelChange(imageStart, imageRun, { kernelSource: 'image' }, { cwd: '/home/me/linux' })).toBeUndefined();
    // kt.yaml's kernel: naming the very image kernel the run booted is no change.
    expect(kernelChange(imageStart, imageRun, { kernel: imageStart.kernel, kernelSource: 'flag' }, { cwd: '/home/me/linux', configFile: '/home/me/linux/kt.yaml' })).toBeUndefined();
    expect(kernelChange(imageStart, imageRun, { kernel: '/home/me/linux/arch/x86/boot/bzImage', kernelSource: 'tree' }, { cwd: '/home/me/linux' })).toEqual({
      message: `the run booted the image kernel ${image}, but kt run in /home/me/linux now boots /home/me/linux/arch/x86/boot/bzImage (the bzImage of the kernel tree it runs in): the repro would test another kernel`,
      hint: 'kt run has no flag for the image kernel: to rerun with it, run kt run from a directory that is no kernel tree; to test /home/me/linux/arch/x86/boot/bzImage, use kt run --kernel /home/me/linux/arch/x86/boot/bzImage',
    });
    expect(kernelChange(imageStart, imageRun, { kernel: '/home/me/linux/arch/x86/boot/bzImage', kernelSource: 'tree', notBuilt: true }, { cwd: '/home/me/linux' })?.message).toBe(
      `the run booted the image kernel ${image}, but kt run in /home/me/linux now boots /home/me/linux/arch/x86/boot/bzImage (the bzImage of the kernel tree it runs in, not built yet): the repro would test another kernel`,
    );
    expect(kernelChange(imageStart, imageRun, { kernel: '/k/bzImage', kernelSource: 'flag' }, { cwd: '/home/me/linux', configFile: '/home/me/linux/kt.yaml' })?.message).toBe(
      `the run booted the image kernel ${image}, but kt run in /home/me/linux now boots /k/bzImage (the kernel: of /home/me/linux/kt.yaml): the repro would test another kernel`,
    );
    // A run given an image's kernel file with --kernel booted that file: it is passed, and kt run boots it.
    const given = reproRun({ ...imageStart, argv: ['run', '--kernel', image, 'generic/001'] }, request);
    expect(given.kernel).toBe(image);
    expect(given.argv.slice(0, 3)).toEqual(['run', '--kernel', image]);
    expect(kernelChange(imageStart, given, { kernel: image, kernelSource: 'flag' }, { cwd: '/home/me/linux' })).toBeUndefined();
    // A NixOS run that booted a kernel file: the file is passed, not the VM's own kernel.
    const nixosFile = reproRun({ ...START, argv: ['run', '--backend', 'nixos', '--nixos-vm', '/nix/store/abc-vm', '--kernel', 'arch/x86/boot/bzImage'] }, request);
    expect(nixosFile.kernel).toBe(START.kernel);
  });

  it('lets a NixOS VM bring its own kernel', () => {
    const start = { ...START, kernel: 'nixos-vm-kernel', argv: ['run', '--backend', 'nixos', '--nixos-vm', '/nix/store/abc-vm'] };
    const run = reproRun(start, { test: 'xfs/042', section: START.sections![0]!, results: '/r', keep: false, dryRun: false });
    expect(run.args.kernel).toBeUndefined();
    expect(run.argv.slice(0, 9)).toEqual(['run', '--fstests', '/home/me/src/xfstests-dev', '-c', 'xfs/4k', '--backend', 'nixos', '--nixos-vm', '/nix/store/abc-vm']);
    // Its backend from a config file rather than the command line: still no --kernel.
    expect(reproRun({ ...start, argv: ['run', '--nixos-vm', '/nix/store/abc-vm'] }, { test: 'xfs/042', section: START.sections![0]!, results: '/r', keep: false, dryRun: false }).argv).not.toContain('--kernel');
    expect(kernelChange(start, run, { kernel: '/src/linux/arch/x86/boot/bzImage', kernelSource: 'tree' }, { cwd: '/src/linux' })?.message).toBe(
      "the run booted the NixOS VM's own kernel, but kt run in /src/linux now boots /src/linux/arch/x86/boot/bzImage (the bzImage of the kernel tree it runs in): the repro would test another kernel",
    );
  });
});
