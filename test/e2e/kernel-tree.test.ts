/**
 * The developer's own kernel, end to end: a real kernel tree (Debian's linux-source-6.1),
 * configured from `make tinyconfig` with `kt kconfig fix` and built by
 * scripts/build-test-kernel (cached in kt's cache: the first build takes several minutes on two
 * cores, later runs reuse it), checked, booted under TCG and used to run fixture tests — with
 * everything built in, with virtio-blk and xfs as modules, and with out-of-tree modules
 * (test/fixtures/kmod) loaded in a booted guest.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBzImageHeader, releaseOfVersion } from '../../src/kconfig/bzImage.js';
import { knownSymbols } from '../../src/kconfig/fix.js';
import { readIkconfig } from '../../src/kconfig/ikconfig.js';
import { earlyModules, requirementsFor } from '../../src/kconfig/requirements.js';
import { MODULE_LOAD_CRASHED, MODULE_LOAD_FAILED, moduleLoadError, renderModuleLoad } from '../../src/modules/load.js';
import { KT_INIT_MODULES } from '../../src/modules/plan.js';
import { composeRunInitramfs, readExtraModules } from '../../src/modules/runInitramfs.js';
import { stageTreeModules } from '../../src/modules/stage.js';
import { ensureFstestsImage } from '../../src/vm/fstestsImage.js';
import { resolveCacheDir } from '../../src/vm/image/cacheDir.js';
import { ensureImage, type GuestImage } from '../../src/vm/image/ensureImage.js';
import { QemuMachine } from '../../src/vm/qemuMachine.js';
import { resolveVmSpec } from '../../src/vm/spec.js';
import { bootKernelFor } from '../../src/vm/pvh/pvhKernel.js';
import { generateSshKeyPair } from '../../src/vm/sshKeyPair.js';
import { KT, REPO, fixtureTree, ktEnv, readEvents } from './harness.js';

/** The first build of the test kernels: minutes on two free cores, much longer on a busy host. */
const BUILD_TIMEOUT_MS = 3 * 3600_000;
const RUN_TIMEOUT_MS = 1_200_000;

let out: string;
let builtin: string;
let modular: string;
let fstests: string;
let tmp: string;
const cacheDir = resolveCacheDir(process.env);

async function kt(args: string[], cwd: string) {
  const r = await execa('node', [KT, ...args], { cwd, env: ktEnv(), reject: false, stdin: 'ignore' });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

/** kt run in `cwd` (a kernel tree boots its own bzImage) with the fixture fstests tree. */
async function ktRun(args: string[], cwd: string) {
  const results = fs.mkdtempSync(path.join(tmp, 'results-'));
  const r = await kt(['run', '--accel', 'tcg', '--fstests', fstests, '--results', results, ...args], cwd);
  const latest = path.join(results, 'latest');
  return { ...r, runDir: fs.existsSync(latest) ? fs.realpathSync(latest) : undefined };
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-e2e-kernel-'));
  const build = await execa(path.join(REPO, 'scripts/build-test-kernel'), [], { env: ktEnv(), reject: false, stdin: 'ignore' });
  if (build.exitCode !== 0) throw new Error(`scripts/build-test-kernel failed:\n${String(build.stderr).slice(-4000)}`);
  out = String(build.stdout).trim().split('\n').pop()!;
  builtin = path.join(out, 'builtin');
  modular = path.join(out, 'modular');
  fstests = await fixtureTree();
}, BUILD_TIMEOUT_MS);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('kt kconfig on a real tree', () => {
  it('check finds what a plain make tinyconfig lacks, with why and what it depends on (exit 1)', async () => {
    const r = await kt(['kconfig', 'check', '--config', 'tinyconfig.config'], out);
    expect(r.code).toBe(1);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe(`kt kconfig: ${out}/tinyconfig.config (Linux 6.1.192)`);
    expect(r.out).toContain('Required, missing (28):');
    expect(lines).toContain('  CONFIG_XFS_FS                the filesystem under test: FSTYP=xfs in xfs/4k');
    expect(r.out).toMatch(/ {2}CONFIG_VIRTIO_BLK {12}the root image and the TEST\/SCRATCH disks are virtio-blk disks\n {31}depends on CONFIG_BLOCK \(off\), CONFIG_BLK_DEV \(not in this config\), CONFIG_VIRTIO_PCI \(not in this config\): missing too/);
    expect(r.out).toContain('kt kconfig: fix: kt kconfig fix TREE (in the kernel tree this config was built from), then rebuild (make -j$(nproc))');

    const json = await kt(['kconfig', 'check', '--config', 'tinyconfig.config', '--json'], out);
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.out) as { ok: boolean; required: { missing: string[] }; recommended: { missing: string[] } };
    expect(doc.ok).toBe(false);
    expect(doc.required.missing).toContain('CONFIG_XFS_FS');
    expect(doc.recommended.missing).toContain('CONFIG_PVPANIC_PCI');
  });

  it('fix closed every gap of that tree: the check passes in it (exit 0)', async () => {
    const log = fs.readFileSync(path.join(out, 'builtin.fix.log'), 'utf8');
    // The tree was configured in one build directory and copied (scripts/build-test-kernel).
    expect(log).toMatch(new RegExp(`^kt kconfig fix: wrote kt's fragment ${out}/(\\w+)/\\.kt/kt\\.config and merged it into ${out}/\\1/\\.config$`, 'm'));
    expect(fs.readFileSync(path.join(builtin, '.kt', 'kt.config'), 'utf8')).toContain('CONFIG_XFS_FS=y');
    expect(log).toContain('  CONFIG_XFS_FS: n (not set) → y');
    expect(log).toContain('kt kconfig fix: all required options are set now; rebuild: make -j$(nproc)');
    expect(fs.readFileSync(path.join(builtin, '.config.kt-old'), 'utf8')).toBe(fs.readFileSync(path.join(out, 'tinyconfig.config'), 'utf8'));
    const r = await kt(['kconfig', 'check'], builtin);
    expect(r.code).toBe(0);
    // execa strips the final newline.
    expect(r.out).toMatch(/\nkt kconfig: all \d+ required options are set$/);
  });

  it('reads the config built into the bzImage (IKCONFIG inside an xz payload)', async () => {
    const bzImage = path.join(builtin, 'arch/x86/boot/bzImage');
    expect(await readIkconfig(bzImage)).toBe(fs.readFileSync(path.join(builtin, '.config'), 'utf8'));
    const r = await kt(['kconfig', 'check', '--kernel', bzImage, '--json'], tmp);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, source: { kind: 'ikconfig', path: bzImage, tree: builtin, version: '6.1.192' } });
    const head = fs.readFileSync(bzImage).subarray(0, 64 * 1024);
    expect(releaseOfVersion(parseBzImageHeader(head)!.version!)).toBe('6.1.192');
    // The Debian kernel of kt's image has no IKCONFIG: nothing to read, and the check says so.
    const image = await ensureImage({ cacheDir });
    expect(await readIkconfig(image.kernel)).toBeUndefined();
    expect(releaseOfVersion(parseBzImageHeader(fs.readFileSync(image.kernel).subarray(0, 64 * 1024))!.version!)).toBe(image.kernelRelease);
    const none = await kt(['kconfig', 'check', '--kernel', image.kernel], tmp);
    expect(none.code).toBe(2);
    expect(none.err).toBe(
      `kt: error E_KCONFIG_NO_CONFIG: no kernel config found for ${image.kernel}: it has no embedded config (CONFIG_IKCONFIG) and no .config of its tree next to it\n` +
        '  hint: pass the .config it was built with (--config FILE), or build it with CONFIG_IKCONFIG=y',
    );
  });

  it('fix on a fresh tinyconfig build directory: what changed, a backup, nothing twice, no user file overwritten', async () => {
    const src = fs.realpathSync(path.join(builtin, 'source'));
    const dir = path.join(tmp, 'fresh');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(out, 'tinyconfig.config'), path.join(dir, '.config'));
    await execa('make', ['-s', '-C', src, `O=${dir}`, 'olddefconfig']);
    const before = fs.readFileSync(path.join(dir, '.config'), 'utf8');

    const first = await kt(['kconfig', 'fix', '--required-only'], dir);
    expect(first.code).toBe(0);
    expect(first.out).toContain(`kt kconfig fix: the previous .config is saved as ${dir}/.config.kt-old`);
    expect(first.out).toContain('Changed as asked (');
    expect(first.out).toContain('  CONFIG_VIRTIO_BLK: n (not set) → y');
    expect(first.out).toContain(`every change is in ${dir}/.kt/last-fix.changes`);
    expect(fs.readFileSync(path.join(dir, '.config.kt-old'), 'utf8')).toBe(before);
    expect((await kt(['kconfig', 'check'], dir)).code).toBe(0);

    // Only the recommended options are left; a second full fix adds them, a third does nothing.
    const second = await kt(['kconfig', 'fix'], dir);
    expect(second.code).toBe(0);
    expect(second.out).toContain(`saved as ${dir}/.config.kt-old.1`);
    expect(second.out).toContain('  CONFIG_PVPANIC_PCI: n (not set) → y');
    const third = await kt(['kconfig', 'fix'], dir);
    expect(third.out).toBe(`kt kconfig fix: ${dir}/.config already has everything kt needs and recommends; nothing changed`);
    expect(fs.existsSync(path.join(dir, '.config.kt-old.2'))).toBe(false);

    // A .kt/kt.config kt did not write is the user's: refused, .config untouched.
    const other = path.join(tmp, 'other');
    fs.mkdirSync(path.join(other, '.kt'), { recursive: true });
    fs.copyFileSync(path.join(out, 'tinyconfig.config'), path.join(other, '.config'));
    await execa('make', ['-s', '-C', src, `O=${other}`, 'olddefconfig']);
    fs.writeFileSync(path.join(other, '.kt', 'kt.config'), 'CONFIG_MY_OWN=y\n');
    const refused = await kt(['kconfig', 'fix'], other);
    expect(refused.code).toBe(2);
    expect(refused.err).toBe(`kt: error E_KCONFIG_FRAGMENT_EXISTS: ${other}/.kt/kt.config exists and was not written by kt\n  hint: move it away; kt keeps its fragment there (kt.config)`);
    expect(fs.readFileSync(path.join(other, '.kt', 'kt.config'), 'utf8')).toBe('CONFIG_MY_OWN=y\n');
    expect(fs.existsSync(path.join(other, '.config.kt-old'))).toBe(false);

    // The symbols a refusal is checked against come from the tree's Kconfig files.
    const known = knownSymbols(src);
    expect(known.has('XFS_FS') && known.has('VIRTIO_MENU')).toBe(true);
    expect(known.has('NO_SUCH_OPTION')).toBe(false);
  });
});

describe('kt run in the tree', () => {
  it('stops before booting when the kernel lacks what the run needs (exit 2, the options and the fix)', async () => {
    const r = await ktRun(['--suite', 'btrfs', 'selftest/001'], builtin);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      new RegExp(`^kt: error E_KCONFIG_MISSING: the kernel ${builtin}/arch/x86/boot/bzImage lacks 1 option kt needs \\(checked ${builtin}/\\.config\\): CONFIG_BTRFS_FS\n`),
    );
    expect(r.err).toContain('\n  CONFIG_BTRFS_FS: the filesystem under test: FSTYP=btrfs in btrfs/default\n');
    // The fix command carries the run's sections, so it adds what this run needs.
    expect(r.err).toContain(`  hint: kt kconfig fix ${builtin} -c btrfs/default && make -C ${builtin} -j$(nproc), then run kt again`);
    expect(r.runDir).toBeUndefined();
    // --kernel: the config built into the bzImage, and the tree it came from for the fix.
    const flag = await ktRun(['--suite', 'btrfs', '--kernel', path.join(builtin, 'arch/x86/boot/bzImage'), 'selftest/001'], tmp);
    expect(flag.code).toBe(2);
    expect(flag.err).toContain('lacks 1 option kt needs (checked its built-in config): CONFIG_BTRFS_FS');
  });

  it(
    'boots the kernel built from tinyconfig + kt kconfig fix and passes the fixture tests',
    async () => {
      const r = await ktRun(['selftest/001', 'xfs/001'], builtin);
      expect(r.err).not.toContain('E_KCONFIG');
      expect(r.code, r.err).toBe(0);
      // kt kconfig fix recommends CONFIG_PVH: QEMU boots the tree's vmlinux.bin, not the bzImage.
      expect(r.err).toContain(`booted by its PVH entry: ${builtin}/arch/x86/boot/compressed/vmlinux.bin\n`);
      // Everything is built in, pvpanic-pci and xfs too: neither the initramfs nor kt-init starts a
      // modprobe (guest/init load_fs_modules, guest/kt-init present).
      const console = fs.readFileSync(path.join(r.runDir!, 'console', 'vm1.log'), 'utf8');
      expect(console).toContain('kt-init: ready');
      expect(console).not.toMatch(/^kt-init(ramfs)?: modules: loading/m);
      const events = readEvents(r.runDir!);
      expect(events.find((e) => e.type === 'machine-up')?.kernelRelease).toBe('6.1.192');
      // kt orders tests by their history; compare as a set.
      const ends = events.filter((e) => e.type === 'test-end').map((e) => `${e.test} ${e.outcome?.status}`);
      expect(ends.sort()).toEqual(['selftest/001 passed', 'xfs/001 passed']);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "gives device-mapper devices udev's /dev/mapper links in that kernel too (kt kconfig fix adds INOTIFY_USER and SYSVIPC)",
    async () => {
      // What fstests' dm helpers need (common/rc _dmsetup_create, _short_dev): udevd running in
      // the guest (it needs inotify) and dmsetup waiting for its link (System V semaphores).
      // udevd may still be starting on a loaded host: wait for its word (at most 60 s).
      const script = 'n=0; while read -r u </run/kt/udev && [ "$u" = starting ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done; echo "udev $u"; dmsetup create kt-e2e --table "0 2048 linear /dev/disk/by-id/virtio-scratch 0" && udevadm wait --timeout 30 /dev/mapper/kt-e2e && readlink /dev/mapper/kt-e2e && dmsetup remove kt-e2e && echo DM-OK';
      const r = await kt(['shell', '--accel', 'tcg', '--fstests', fstests, '--results', fs.mkdtempSync(path.join(tmp, 'shell-')), '--', 'sh', '-c', script], builtin);
      expect(r.code, `${r.out}\n${r.err}`).toBe(0);
      // The tree's kernel, not the image's (which has both options).
      expect(r.err).toContain('kernel 6.1.192,');
      expect(r.out).toMatch(/^udev running\r?\n\.\.\/dm-\d+\r?\nDM-OK\r?$/m);
      expect(r.out + r.err).not.toContain('not configured for semaphores');
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'boots the same kernel with virtio-blk and xfs as modules: kt stages them',
    async () => {
      const r = await ktRun(['selftest/001', 'xfs/001'], modular);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toContain(`booted by its PVH entry: ${modular}/arch/x86/boot/compressed/vmlinux.bin\n`);
      expect(r.err).toContain('kt: kernel config: 2 required options are modules (CONFIG_VIRTIO_BLK=m CONFIG_XFS_FS=m)');
      expect(r.err).toMatch(/kt: modules: all \d+ modules of 6\.1\.192-ktmod staged from .*; loaded before the root is mounted: virtio_blk\n/);
      const events = readEvents(r.runDir!);
      expect(events.find((e) => e.type === 'machine-up')?.kernelRelease).toBe('6.1.192-ktmod');
      expect(events.filter((e) => e.type === 'test-end').map((e) => e.outcome?.status)).toEqual(['passed', 'passed']);
      // xfs came from the staged tree: the guest mounted TEST_DEV with it.
      expect(fs.readFileSync(path.join(r.runDir!, 'console', 'vm1.log'), 'utf8')).toContain('XFS (vdb): Mounting V5 Filesystem');
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'kt run --module loads an out-of-tree module in the VM before its first test',
    async () => {
      const r = await ktRun(['--module', path.join(out, 'kmod/kt_hello.ko'), 'selftest/001'], builtin);
      expect(r.code, r.err).toBe(0);
      const console = fs.readFileSync(path.join(r.runDir!, 'console', 'vm1.log'), 'utf8');
      // Loaded (its printk) before fstests' marker of the first test.
      expect(console.indexOf('kt_hello: loaded')).toBeGreaterThan(-1);
      expect(console.indexOf('kt_hello: loaded')).toBeLessThan(console.indexOf('run fstests selftest/001'));
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'kt run --module with a module that panics at load reports that module, not a test',
    async () => {
      const r = await ktRun(['--module', path.join(out, 'kmod/kt_panic.ko'), 'selftest/001'], builtin);
      expect(r.code).toBe(3);
      expect(r.err).toMatch(/kt: error E_GUEST_SETUP_MODULE_CRASH: .*kt_panic/);
      const events = readEvents(r.runDir!);
      expect(events.filter((e) => e.type === 'test-end')).toEqual([]);
      expect(events.find((e) => e.type === 'machine-lost')).toMatchObject({ reason: 'crash' });
    },
    RUN_TIMEOUT_MS,
  );

  it("boots a tree's bzImage by its PVH entry only when vmlinux.bin is that bzImage's kernel", () => {
    // A tree whose arch/x86/boot holds builtin's bzImage and, in turn, several vmlinux.bin files.
    const boot = path.join(tmp, 'pvh-tree/arch/x86/boot');
    fs.mkdirSync(path.join(boot, 'compressed'), { recursive: true });
    const bzImage = path.join(boot, 'bzImage');
    const elf = path.join(boot, 'compressed/vmlinux.bin');
    fs.copyFileSync(path.join(builtin, 'arch/x86/boot/bzImage'), bzImage);
    const own = fs.readFileSync(path.join(builtin, 'arch/x86/boot/compressed/vmlinux.bin'));
    // As make leaves them: vmlinux.bin written before the bzImage made from it.
    const before = new Date(fs.statSync(bzImage).mtimeMs - 60_000);
    const place = (bytes: Buffer, file = elf) => {
      fs.writeFileSync(file, bytes);
      fs.utimesSync(file, before, before);
    };
    const notIt = (why: string, how = 'rebuild (make bzImage)') => ({ path: bzImage, entry: 'bzImage', why: `${elf} is not the kernel in ${bzImage} (${why}): ${how}` });

    place(own);
    expect(bootKernelFor(bzImage)).toEqual({ path: elf, entry: 'pvh' });
    // Through a link to the bzImage (arch/x86_64/boot/bzImage is one), the same.
    fs.symlinkSync(bzImage, path.join(tmp, 'bzImage-link'));
    expect(bootKernelFor(path.join(tmp, 'bzImage-link'))).toEqual({ path: elf, entry: 'pvh' });
    // A vmlinux.relocs left from when the kernel was relocatable changes nothing.
    place(Buffer.alloc(4096), path.join(boot, 'compressed/vmlinux.relocs'));
    expect(bootKernelFor(bzImage)).toEqual({ path: elf, entry: 'pvh' });

    // A build that made vmlinux.bin and stopped before the bzImage (interrupted, or failed).
    fs.writeFileSync(elf, own);
    const after = new Date(fs.statSync(bzImage).mtimeMs + 60_000);
    fs.utimesSync(elf, after, after);
    expect(bootKernelFor(bzImage)).toEqual(notIt('it is newer than the bzImage', 'finish the build (make bzImage); a copied tree keeps its times with cp -a'));

    // The same tree built once more: another build number in the banner, the same size.
    const version = parseBzImageHeader(fs.readFileSync(bzImage))!.version!;
    const number = /#(\d+) /.exec(version)![1]!;
    const banner = own.indexOf(`Linux version ${version.slice(0, version.indexOf(') ') + 1)}`);
    const rebuilt = Buffer.from(own);
    rebuilt.write(`#${String((Number(number) + 1) % 10)} `, rebuilt.indexOf(`#${number} `, banner), 'latin1');
    place(rebuilt);
    expect(bootKernelFor(bzImage)).toEqual(notIt('its version banner differs'));

    // Another configuration's kernel: another size. Without the stale vmlinux.relocs placed
    // above, whose 4 KiB may be just what the two configurations differ by (size + relocs is
    // what a relocatable kernel's payload holds).
    fs.rmSync(path.join(boot, 'compressed/vmlinux.relocs'));
    place(fs.readFileSync(path.join(modular, 'arch/x86/boot/compressed/vmlinux.bin')));
    expect(bootKernelFor(bzImage)).toEqual(notIt("its size differs from the payload's"));
  });

  it(
    'kt run --kernel-entry bzimage boots the bzImage of a tree that has a PVH kernel',
    async () => {
      const r = await ktRun(['--kernel-entry', 'bzimage', 'selftest/001'], builtin);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toContain(`kt: kernel ${builtin}/arch/x86/boot/bzImage\n`);
      expect(r.err).not.toContain('PVH');
    },
    RUN_TIMEOUT_MS,
  );

  it('refuses a --module built for another kernel before anything boots', async () => {
    const r = await ktRun(['--module', path.join(out, 'kmod/kt_hello.ko'), 'selftest/001'], modular);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`kt: error E_MODULE_WRONG_KERNEL: --module ${out}/kmod/kt_hello.ko was built for 6.1.192, but the kernel is 6.1.192-ktmod`);
    expect(r.runDir).toBeUndefined();
  });
});

describe('out-of-tree modules in a booted guest', () => {
  let image: GuestImage;
  let fstestsImage: string;
  const keys = generateSshKeyPair();
  const machines: QemuMachine[] = [];

  beforeAll(async () => {
    image = await ensureImage({ cacheDir });
    fstestsImage = await ensureFstestsImage(fstests, cacheDir);
  }, RUN_TIMEOUT_MS);

  afterAll(async () => {
    for (const m of machines) await m.dispose();
  });

  /** Boots the builtin kernel with its staged modules and the given --module files, as kt run does. */
  async function boot(name: string, modules: string[]): Promise<QemuMachine> {
    const staged = await stageTreeModules(builtin, '6.1.192', cacheDir);
    const reqs = requirementsFor({ backend: 'direct', rootfs: 'image', transport: 'virtio-serial', suite: { name: 'xfs', sections: [] }, modulesStaged: true, extraModules: true });
    const initramfs = composeRunInitramfs({
      baseInitramfs: image.initramfs,
      cacheDir,
      staged,
      early: earlyModules(reqs),
      wanted: [...KT_INIT_MODULES],
      extraModules: readExtraModules(modules.map((m) => path.join(out, 'kmod', m)), '6.1.192'),
    }).file;
    const dir = fs.mkdtempSync(path.join(tmp, `${name}-`));
    const spec = resolveVmSpec({
      runId: path.basename(dir),
      index: machines.length + 1,
      accel: 'tcg',
      cpus: 2,
      memoryMiB: 1024,
      kernel: path.join(builtin, 'arch/x86/boot/bzImage'),
      initramfs,
      rootImage: image.rootImage,
      fstestsImage,
      testSizeBytes: 1 << 30,
      scratchSizeBytes: 1 << 30,
      extraCmdline: [],
      baseDir: dir,
      sshKeyBlob: keys.public.split(' ')[1]!,
      transport: 'virtio-serial',
      hungTaskTimeoutSec: 0,
      vmcore: false,
    });
    const machine = new QemuMachine({ spec, name, consoleLogPath: path.join(dir, 'console.log'), privateKey: keys.private, bootTimeoutMs: 600_000, keep: false });
    machines.push(machine);
    await machine.boot(new AbortController().signal);
    return machine;
  }

  it(
    'loads a module before the first test (lsmod shows it), and a failing one is an error with its kernel log',
    async () => {
      const m = await boot('vm-mod', ['kt_hello.ko', 'kt_fail.ko']);
      const load = await m.exec(renderModuleLoad(), { timeoutMs: 300_000 });
      const err = moduleLoadError({ exitCode: load.exitCode, stdout: load.stdout, console: m.consoleTail(200), machine: m.name });
      expect(err?.code).toBe(MODULE_LOAD_FAILED);
      expect(err?.module).toBe('kt_fail');
      expect(err?.message).toContain('insmod: ERROR: could not insert module /run/kt/modules/kt_fail.ko: No such device');
      expect(err?.message).toContain('kt_fail: refusing to load: no such device');
      const lsmod = await m.exec('lsmod', { timeoutMs: 60_000 });
      expect(lsmod.stdout.split('\n').map((l) => l.split(/\s+/)[0])).toContain('kt_hello');
      expect(m.consoleTail(200)).toContain('kt_hello: loaded');
      // The staged tree reached the root system: modprobe finds the kernel's module index.
      const modprobe = await m.exec('modprobe -n -v xfs && ls /lib/modules/6.1.192/modules.dep', { timeoutMs: 60_000 });
      expect(modprobe.exitCode, modprobe.stderr).toBe(0);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'reports a module that panics while loading as that module crashing the kernel',
    async () => {
      const m = await boot('vm-panic', ['kt_panic.ko']);
      const load = await m.exec(renderModuleLoad(), { timeoutMs: 300_000 }).catch(() => ({ exitCode: null, stdout: '', stderr: '' }));
      // QEMU exits on the panic (pvpanic, -action panic=exit-failure); the report is complete by then.
      await Promise.race([m.exited, new Promise((r) => setTimeout(r, 60_000))]);
      const err = moduleLoadError({ exitCode: load.exitCode, stdout: load.stdout, console: m.consoleTail(400), machine: m.name });
      expect(err?.code).toBe(MODULE_LOAD_CRASHED);
      expect(err?.module).toBe('kt_panic');
      expect(err?.crash?.type).toBe('panic');
      expect(err?.message).toContain('kt_panic: panic at load, as asked');
    },
    RUN_TIMEOUT_MS,
  );
});
