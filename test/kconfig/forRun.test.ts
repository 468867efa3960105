// The check kt run makes before booting a kernel of the user's, on throw-away trees that
// hold real configs (fixtures/README.md).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkKernelForRun, kernelConfigError, type RunKernel } from '../../src/kconfig/forRun.js';
import { locateConfig, treeOfKernel } from '../../src/kconfig/locate.js';

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

let tmp: string;

/** A kernel tree as kt sees one: Kbuild, arch/, .config, and a bzImage (contents do not matter here). */
function tree(name: string, config: string, opts: { modules?: boolean } = {}): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, 'arch/x86/boot'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'Kbuild'), '');
  fs.writeFileSync(path.join(dir, 'arch/x86/boot/bzImage'), 'not booted here');
  fs.writeFileSync(path.join(dir, '.config'), config);
  // The bzImage is newer than its .config, as after make.
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(path.join(dir, '.config'), old, old);
  if (opts.modules) fs.writeFileSync(path.join(dir, 'modules.order'), 'fs/xfs/xfs.ko\n');
  return dir;
}

function runKernel(dir: string, over: Partial<RunKernel> = {}): RunKernel {
  return {
    kernel: path.join(dir, 'arch/x86/boot/bzImage'),
    kernelSource: 'tree',
    kernelTree: dir,
    backend: 'direct',
    transport: 'virtio-serial',
    suite: { name: 'xfs', sections: [{ name: 'xfs', fstyp: 'xfs', mkfsOptions: '', mountOptions: '', env: {} }] },
    extraModules: false,
    cwd: dir,
    ...over,
  };
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-forrun-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('checkKernelForRun', () => {
  it('stops a tinyconfig tree with the missing options and the fix command', async () => {
    const dir = tree('tiny', fixture('tinyconfig-6.1.192.config'));
    const r = await checkKernelForRun(runKernel(dir));
    expect(r.checked && r.missing.slice(0, 3)).toEqual(['CONFIG_64BIT', 'CONFIG_BLK_DEV_INITRD', 'CONFIG_RD_GZIP']);
    const err = kernelConfigError(r, path.join(dir, 'arch/x86/boot/bzImage'))!;
    expect(err.code).toBe('E_KCONFIG_MISSING');
    expect(err.exitCode).toBe(2);
    expect(err.message.split('\n')[0]).toBe(
      `the kernel ${dir}/arch/x86/boot/bzImage lacks 28 options kt needs (checked ${dir}/.config): ${r.checked ? r.missing.join(' ') : ''}`,
    );
    expect(err.message).toContain('\n  CONFIG_XFS_FS: the filesystem under test: FSTYP=xfs in xfs');
    expect(err.hint).toBe(`kt kconfig fix ${dir} && make -C ${dir} -j$(nproc), then run kt again (kt kconfig check ${dir} explains every option)`);
  });

  it('lets a fixed tree boot', async () => {
    const dir = tree('fixed', fixture('tinyconfig-kt-fix-6.1.192.config'), { modules: true });
    const r = await checkKernelForRun(runKernel(dir));
    expect(r.checked && r.missing).toEqual([]);
    expect(kernelConfigError(r, 'x')).toBeUndefined();
    expect(r.checked && r.notes).toEqual([]);
  });

  it('counts modules only when the tree has built some, and says so', async () => {
    const built = tree('cloud-built', fixture('debian-6.1.192-cloud-amd64.config'), { modules: true });
    const r = await checkKernelForRun(runKernel(built));
    expect(r.checked && r.missing).toEqual([]);
    expect(r.modulesFrom).toEqual({ kind: 'tree', tree: built });
    expect(r.checked && r.notes[0]).toBe(
      "4 required options are modules (CONFIG_VIRTIO_PCI=m CONFIG_VIRTIO_BLK=m CONFIG_VIRTIO_CONSOLE=m CONFIG_XFS_FS=m): kt stages the kernel's modules into the guest",
    );
    const unbuilt = tree('cloud-unbuilt', fixture('debian-6.1.192-cloud-amd64.config'));
    const u = await checkKernelForRun(runKernel(unbuilt));
    expect(u.checked && u.missing).toEqual(['CONFIG_VIRTIO_PCI', 'CONFIG_VIRTIO_BLK', 'CONFIG_VIRTIO_CONSOLE', 'CONFIG_XFS_FS']);
    // --modules DIR stages an installed tree instead.
    const withDir = await checkKernelForRun(runKernel(unbuilt, { modulesDir: '/lib/modules/6.1.192' }));
    expect(withDir.checked && withDir.missing).toEqual([]);
  });

  it('says when the .config changed after the bzImage was built', async () => {
    const dir = tree('stale', fixture('tinyconfig-kt-fix-6.1.192.config'), { modules: true });
    fs.utimesSync(path.join(dir, '.config'), new Date(), new Date(Date.now() + 60_000));
    const r = await checkKernelForRun(runKernel(dir));
    expect(r.checked && r.notes).toEqual([`${dir}/.config is newer than ${dir}/arch/x86/boot/bzImage: checking the .config; rebuild if you changed it since`]);
  });

  it('is a note, not an error, when no config can be found', async () => {
    const lone = path.join(tmp, 'lone-bzImage');
    fs.writeFileSync(lone, 'no config in here');
    const r = await checkKernelForRun(runKernel(tmp, { kernel: lone, kernelSource: 'flag', cwd: tmp }));
    expect(r).toEqual({ checked: false, note: `no config found for ${lone} (no .config of its tree, no CONFIG_IKCONFIG in it): not checked; kt kconfig check --config FILE checks one by hand` });
  });

  it('checks nothing for the image kernel', async () => {
    expect(await checkKernelForRun({ ...runKernel(tmp), kernelSource: 'image', kernel: undefined })).toEqual({ checked: false });
  });
});

describe('locateConfig', () => {
  it('reads TREE/.config, a config file, and finds the tree of a bzImage', async () => {
    const dir = tree('locate', fixture('tinyconfig-6.1.192.config'));
    expect((await locateConfig({ cwd: dir })).source).toEqual({ kind: 'tree', path: `${dir}/.config`, tree: dir, version: '6.1.192' });
    expect((await locateConfig({ config: '.config', cwd: dir })).source).toEqual({ kind: 'file', path: `${dir}/.config`, version: '6.1.192' });
    expect(treeOfKernel(`${dir}/arch/x86/boot/bzImage`)).toBe(dir);
  });

  it('refuses with the path and the fix when there is no config', async () => {
    await expect(locateConfig({ cwd: tmp })).rejects.toMatchObject({
      code: 'E_KCONFIG_NO_CONFIG',
      exitCode: 2,
      message: `no kernel config found: ${tmp}/.config does not exist`,
      hint: 'run in a configured kernel tree (after make defconfig or similar), or give TREE, --config FILE or --kernel bzImage',
    });
    const unconfigured = tree('unconfigured', '');
    fs.rmSync(path.join(unconfigured, '.config'));
    await expect(locateConfig({ cwd: unconfigured })).rejects.toMatchObject({
      code: 'E_KCONFIG_NO_CONFIG',
      message: `${unconfigured} is a kernel tree but has no .config`,
      hint: `configure it first (make defconfig, or copy a config to ${unconfigured}/.config)`,
    });
    fs.writeFileSync(path.join(tmp, 'notes.txt'), 'hello\n');
    await expect(locateConfig({ config: 'notes.txt', cwd: tmp })).rejects.toMatchObject({ code: 'E_KCONFIG_NOT_A_CONFIG', message: `${tmp}/notes.txt is not a kernel config (no CONFIG_ lines)` });
    await expect(locateConfig({ kernel: 'nope', cwd: tmp })).rejects.toMatchObject({ code: 'E_KCONFIG_NO_CONFIG', message: `kernel image ${tmp}/nope does not exist` });
  });
});
