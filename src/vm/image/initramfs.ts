/**
 * kt's initramfs: the image's own busybox-static, guest/init as /init, and the few modules
 * needed to reach the root disk. Seconds count at every boot, so nothing else goes in.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { directoryAdder, writeCpio, type CpioEntry } from './cpio.js';
import { parseModulesDep, planModuleLoad } from './modulesDep.js';

export interface InitramfsInputs {
  /** guest/init */
  initScript: string;
  /** The busybox-static binary. */
  busybox: Uint8Array;
  /** `uname -r` of the image's kernel; /init loads modules only when it matches. */
  kernelRelease: string;
  /** Modules in load order: path relative to /lib/modules/<release>, and contents. */
  modules: { path: string; data: Uint8Array }[];
  /** Modules /init loads only for a virtiofs root (listed in /etc/kt-virtiofs-modules), in load order. */
  virtiofsModules?: { path: string; data: Uint8Array }[];
}

/** The archive's members, parents first. Pure. */
export function initramfsEntries(inputs: InitramfsInputs): CpioEntry[] {
  const entries: CpioEntry[] = [];
  const addDir = directoryAdder(entries);
  for (const dir of ['bin', 'dev', 'etc', 'newroot', 'proc', 'sys']) addDir(dir);
  // The kernel opens /dev/console for /init's stdio before anything is mounted
  // (init/main.c, console_on_rootfs); devices.txt: 5,1 = /dev/console, 1,3 = /dev/null.
  entries.push({ kind: 'chardev', path: 'dev/console', major: 5, minor: 1, mode: 0o600 });
  entries.push({ kind: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 });
  entries.push({ kind: 'file', path: 'bin/busybox', data: inputs.busybox, mode: 0o755 });
  // The #! of /init; /init installs the other applet links itself (busybox --install -s).
  entries.push({ kind: 'symlink', path: 'bin/sh', target: 'busybox' });
  entries.push({ kind: 'file', path: 'init', data: Buffer.from(inputs.initScript), mode: 0o755 });
  entries.push({
    kind: 'file',
    path: 'etc/kt-initramfs.conf',
    data: Buffer.from(`KT_KERNEL_RELEASE=${inputs.kernelRelease}\n`),
  });
  entries.push({
    kind: 'file',
    path: 'etc/kt-modules',
    data: Buffer.from(inputs.modules.map((m) => `${m.path}\n`).join('')),
  });
  const virtiofsModules = inputs.virtiofsModules ?? [];
  if (virtiofsModules.length > 0) {
    entries.push({
      kind: 'file',
      path: 'etc/kt-virtiofs-modules',
      data: Buffer.from(virtiofsModules.map((m) => `${m.path}\n`).join('')),
    });
  }
  const moduleRoot = `lib/modules/${inputs.kernelRelease}`;
  for (const mod of [...inputs.modules, ...virtiofsModules]) {
    const target = `${moduleRoot}/${mod.path}`;
    addDir(path.posix.dirname(target));
    entries.push({ kind: 'file', path: target, data: mod.data });
  }
  return entries;
}

export interface BuiltInitramfs {
  /** gzip-compressed newc archive (CONFIG_RD_GZIP=y in the Debian kernel). */
  gz: Buffer;
  /** Module paths in the order /init loads them. */
  modules: string[];
}

/** Reads busybox and the modules from a bootstrapped root tree and packs the initramfs. */
export async function buildInitramfs(
  rootfsDir: string,
  kernelRelease: string,
  initScript: string,
  wantedModules: readonly string[],
  virtiofsWanted: readonly string[] = [],
): Promise<BuiltInitramfs> {
  const modulesDir = path.join(rootfsDir, 'lib', 'modules', kernelRelease);
  const [depText, builtinText, busybox] = await Promise.all([
    fs.readFile(path.join(modulesDir, 'modules.dep'), 'utf8'),
    fs.readFile(path.join(modulesDir, 'modules.builtin'), 'utf8'),
    // busybox-static installs /bin/busybox (bookworm, merged /usr: bin → usr/bin).
    fs.readFile(path.join(rootfsDir, 'usr', 'bin', 'busybox')),
  ]);
  const deps = parseModulesDep(depText);
  const plan = planModuleLoad(deps, builtinText, wantedModules);
  // What the virtiofs modules need beyond what /init loads anyway (virtio, virtio_ring).
  const virtiofsLoad = planModuleLoad(deps, builtinText, virtiofsWanted).load.filter((p) => !plan.load.includes(p));
  const read = (p: string) => fs.readFile(path.join(modulesDir, p)).then((data) => ({ path: p, data }));
  const modules = await Promise.all(plan.load.map(read));
  const virtiofsModules = await Promise.all(virtiofsLoad.map(read));
  const cpio = writeCpio(initramfsEntries({ initScript, busybox, kernelRelease, modules, virtiofsModules }));
  return { gz: zlib.gzipSync(cpio, { level: 9 }), modules: plan.load };
}
