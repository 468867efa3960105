/**
 * The benchmark's `virtiofsBoot` row (docs/virtiofs.md, "Boot time"): kt's boot from the root
 * and fstests images against the same boot over virtiofs (--rootfs virtiofs), same kernel, same
 * accelerator, alternating image and virtiofs boots so both see the same load. Each is the real
 * QemuMachine: qemu start (and, for virtiofs, the daemons' start) → `uname -r` answered over ssh.
 */
import path from 'node:path';
import { generateSshKeyPair } from '../vm/sshKeyPair.js';
import { findOnPath } from '../vm/image/hostTools.js';
import { directRunner } from '../vm/image/toolRunner.js';
import { QemuMachine } from '../vm/qemuMachine.js';
import { resolveVmSpec, type Accel, type VirtiofsOptions } from '../vm/spec.js';
import { findVirtiofsd } from '../vm/virtiofs/daemon.js';
import { ensureRootTree } from '../vm/virtiofs/rootTree.js';
import { median } from '../util/median.js';
import { bootKernelFor, IMAGE_VMLINUX, type BootKernel } from '../vm/pvh/pvhKernel.js';

interface BenchImage {
  dir: string;
  kernel: string;
  initramfs: string;
  rootImage: string;
  hash: string;
}

async function bootOnce(image: BenchImage, boot: BootKernel, fstestsImage: string, work: string, index: number, accel: Accel, virtiofs: VirtiofsOptions | undefined): Promise<number> {
  // One ssh2 pair in 256 is malformed and would fail the boot (src/vm/sshKeyPair.ts).
  const keys = generateSshKeyPair();
  const spec = resolveVmSpec({
    runId: 'bench-vfs', index, accel, cpus: 2, memoryMiB: 2048,
    kernel: boot.path, pvhEntry: boot.entry === 'pvh', initramfs: image.initramfs, rootImage: image.rootImage, fstestsImage,
    testSizeBytes: 5 * 2 ** 30, scratchSizeBytes: 5 * 2 ** 30, extraCmdline: [], baseDir: work,
    sshKeyBlob: keys.public.split(' ')[1]!, transport: 'virtio-serial', hungTaskTimeoutSec: 0, vmcore: false,
    ...(virtiofs ? { virtiofs } : {}),
  });
  const m = new QemuMachine({ spec, name: `vm${index}`, consoleLogPath: path.join(work, `console-vfs-${index}.log`), privateKey: keys.private, bootTimeoutMs: 300_000, keep: false });
  try {
    return (await m.boot(new AbortController().signal)).bootMs;
  } finally {
    await m.dispose();
  }
}

/** `boots` pairs of (image boot, virtiofs boot); a reason instead when this host cannot boot over virtiofs. */
export async function virtiofsBootRow(opts: { image: BenchImage; fstestsImage: string; fstestsDir: string; cacheDir: string; work: string; accel: Accel; boots: number }): Promise<Record<string, unknown>> {
  const lookup = await findVirtiofsd(process.env);
  const debugfs = findOnPath('debugfs', process.env.PATH);
  if (!lookup.found || process.geteuid?.() !== 0 || !debugfs) return { skipped: 'needs root, a virtiofsd and debugfs (docs/virtiofs.md)' };
  const rootTree = await ensureRootTree({ cacheDir: opts.cacheDir, hash: opts.image.hash, rootImage: opts.image.rootImage, debugfs, runner: directRunner() });
  const virtiofs: VirtiofsOptions = { daemon: lookup.found, rootTree, fstestsDir: opts.fstestsDir, shares: [] };
  // The image kernel, booted as a run boots it (by its PVH entry when the image keeps its vmlinux).
  const boot = bootKernelFor(opts.image.kernel, path.join(opts.image.dir, IMAGE_VMLINUX));
  const imageMs: number[] = [];
  const virtiofsMs: number[] = [];
  for (let i = 0; i < opts.boots; i++) {
    imageMs.push(await bootOnce(opts.image, boot, opts.fstestsImage, opts.work, 200 + 2 * i, opts.accel, undefined));
    virtiofsMs.push(await bootOnce(opts.image, boot, opts.fstestsImage, opts.work, 201 + 2 * i, opts.accel, virtiofs));
  }
  return {
    imageMs,
    virtiofsMs,
    ratio: +(median(virtiofsMs) / median(imageMs)).toFixed(3),
    daemon: `${lookup.found.flavour} ${lookup.found.version}`,
    note: 'virtiofs boot / image boot, medians, alternating on the same load',
  };
}
