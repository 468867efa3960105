/**
 * Builds one image directory from a recipe: mmdebstrap → kernel + initramfs + root.img →
 * manifest.json. Everything happens in a temporary directory next to the final one, renamed
 * into place at the end: a killed build never leaves something that looks like an image.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { HostError } from '../../errors.js';
import type { ImagePaths } from './cacheDir.js';
import { IMAGE_FILES, SYSTEM_CACHE_DIR } from './cacheDir.js';
import { findImageBuildTools } from './hostTools.js';
import { buildInitramfs } from './initramfs.js';
import { extractVmlinux } from './pvhExtract.js';
import { IMAGE_VMLINUX } from '../pvh/pvhKernel.js';
import { parseDpkgStatus, type ImageManifest } from './manifest.js';
import { renderMmdebstrapArgs } from './mmdebstrapArgs.js';
import type { ImageRecipe } from './recipe.js';
import { stopOrphanedTool, TOOL_PGID_FILE } from './orphanTool.js';
import { removeBuildDir } from './removeBuildDir.js';
import { renderMke2fsArgs, rootImageSizeBytes, treeBlocksFindArgs, treeBytesFromFind } from './rootImage.js';
import { directRunner, openUsernsRunner, type ToolCommand, type ToolRunner } from './toolRunner.js';
import { decideBuildMode, usernsUnavailableError, type BuildMode } from './userns.js';
import { readUsernsFacts } from './usernsFacts.js';
import { syncFile } from '../../util/syncFile.js';

export interface BuildImageOptions {
  /** Progress lines: mmdebstrap's output and kt's own steps. */
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
  /** The shared cache named in the hints of user-namespace errors (default SYSTEM_CACHE_DIR). */
  sharedCacheDir?: string;
  /** chooseBuildMode()'s answer, when the caller asked before creating anything. */
  mode?: BuildMode;
  /** Building into the shared cache: the artifacts become readable by every user, whatever the umask. */
  shared?: boolean;
}

/** Lines of tool output quoted in E_IMAGE_BUILD_FAILED. */
const TAIL_LINES = 20;

const BUILD_PREFIX = '.build-';

/** How long a cancelled build tool may clean up (mmdebstrap unmounts its chroot) before SIGKILL. */
const CLEANUP_GRACE_MS = 30_000;

/**
 * Runs a build tool in its own process group, streaming its output lines; throws
 * E_IMAGE_BUILD_FAILED with the tail. On abort the whole group gets SIGTERM: mmdebstrap's main
 * process alone only waits for its forked worker (apt, dpkg in the chroot) to finish.
 */
async function runStreaming(
  what: string,
  cmd: ToolCommand,
  env: Record<string, string | undefined>,
  workDir: string,
  opts: BuildImageOptions,
): Promise<void> {
  opts.signal?.throwIfAborted();
  const tail: string[] = [];
  const sub = execa(cmd.file, cmd.args, {
    all: true,
    buffer: false,
    reject: false,
    stdin: 'ignore',
    detached: true,
    env,
    extendEnv: false,
  });
  // A later build stops this group if we die without cleaning up (orphanTool.ts).
  if (sub.pid !== undefined) await fs.writeFile(path.join(workDir, TOOL_PGID_FILE), String(sub.pid));
  const killGroup = (signal: NodeJS.Signals) => {
    if (sub.pid === undefined) return;
    try {
      process.kill(-sub.pid, signal);
    } catch {
      // the group is gone already
    }
  };
  let forceKill: NodeJS.Timeout | undefined;
  const onAbort = () => {
    killGroup('SIGTERM');
    forceKill = setTimeout(() => killGroup('SIGKILL'), CLEANUP_GRACE_MS);
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const line of sub.iterable({ from: 'all' })) {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      opts.onProgress?.(line);
    }
    const result = await sub;
    opts.signal?.throwIfAborted();
    if (result.exitCode !== 0) {
      const status = result.exitCode === undefined ? (result.signal ?? 'killed') : `exit ${result.exitCode}`;
      throw new HostError(
        'E_IMAGE_BUILD_FAILED',
        `${what} failed (${status}); last lines:\n${tail.join('\n')}`,
        'check that the Debian mirror is reachable (apt sources in the message), then retry with --rebuild',
      );
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    clearTimeout(forceKill);
  }
}

/** The only kernel release under lib/modules of the tree. */
async function findKernelRelease(rootfs: string): Promise<string> {
  const releases = await fs.readdir(path.join(rootfs, 'lib', 'modules'));
  if (releases.length !== 1 || releases[0] === undefined) {
    throw new HostError(
      'E_IMAGE_BUILD_FAILED',
      `expected one kernel in the image, found ${releases.length}: ${releases.join(', ') || 'none'}`,
    );
  }
  return releases[0];
}

/** Deletes leftovers of earlier builds of this hash (the caller holds the build lock). */
async function removeStaleBuilds(imagesDir: string, hash: string, runner: ToolRunner, onProgress?: (line: string) => void) {
  const names = await fs.readdir(imagesDir).catch(() => []);
  for (const name of names) {
    if (!name.startsWith(`${BUILD_PREFIX}${hash}-`)) continue;
    onProgress?.(`kt: removing an interrupted build: ${name}`);
    if (await stopOrphanedTool(path.join(imagesDir, name))) {
      onProgress?.(`kt: stopped the build tool it left running`);
    }
    await removeBuildDir(path.join(imagesDir, name), runner);
  }
}

/**
 * Copies vmlinuz out of the tree (the host boots it directly) and packs the initramfs. kt reads
 * the tree as itself: what it reads here is world-readable (0644 files in 0755 directories);
 * deleting needs the root of the build.
 */
async function extractBoot(rootfs: string, work: string, recipe: ImageRecipe, runner: ToolRunner) {
  const kernelRelease = await findKernelRelease(rootfs);
  const bootDir = path.join(rootfs, 'boot');
  await fs.copyFile(path.join(bootDir, `vmlinuz-${kernelRelease}`), path.join(work, IMAGE_FILES.kernel));
  // Only config-* stays in /boot (tests may read /boot/config-$(uname -r)).
  const drop = (await fs.readdir(bootDir)).filter((name) => /^(vmlinuz|System\.map|initrd\.img)-/.test(name));
  if (drop.length > 0) await runner.output('rm', ['-f', '--', ...drop.map((name) => path.join(bootDir, name))]);
  const initScript = recipe.guestFiles['init'];
  if (initScript === undefined) throw new Error('recipe has no guest file "init"');
  const initramfs = await buildInitramfs(rootfs, kernelRelease, initScript, recipe.initramfsModules, recipe.virtiofsModules);
  await fs.writeFile(path.join(work, IMAGE_FILES.initramfs), initramfs.gz);
  return { kernelRelease, initramfsModules: initramfs.modules };
}


/** root: kt is root. unshare: in a user namespace (userns.ts), or E_IMAGE_NEEDS_USERNS. */
export function chooseBuildMode(sharedCacheDir: string = SYSTEM_CACHE_DIR): BuildMode {
  const facts = readUsernsFacts();
  const decision = decideBuildMode(facts);
  if (!decision.ok) throw usernsUnavailableError(facts, decision, sharedCacheDir);
  return decision.mode;
}

/** Renames the finished build into place; an existing image (--rebuild) is moved aside first. */
async function installBuild(work: string, finalDir: string): Promise<void> {
  // rename(2) cannot replace a non-empty directory.
  const old = `${work}.old`;
  const hadOld = await fs.rename(finalDir, old).then(
    () => true,
    () => false,
  );
  await fs.rename(work, finalDir);
  if (hadOld) await fs.rm(old, { recursive: true, force: true });
}

export async function buildImage(
  recipe: ImageRecipe,
  hash: string,
  paths: ImagePaths,
  opts: BuildImageOptions = {},
): Promise<ImageManifest> {
  const say = (line: string) => opts.onProgress?.(`kt: ${line}`);
  const tools = findImageBuildTools();
  const sharedCacheDir = opts.sharedCacheDir ?? SYSTEM_CACHE_DIR;
  const mode = opts.mode ?? chooseBuildMode(sharedCacheDir);
  const started = Date.now();
  await fs.mkdir(paths.imagesDir, { recursive: true });
  if (mode.kind === 'unshare') {
    const { plan } = mode;
    say(`building as ${plan.user} in a user namespace (ids 0-${plan.subuid.count - 1} → ${plan.subuid.start}-${plan.subuid.start + plan.subuid.count - 1})`);
  }
  const runner = mode.kind === 'root' ? directRunner() : await openUsernsRunner(mode.plan, sharedCacheDir);
  try {
    return await buildWith(runner, tools, recipe, hash, paths, opts, started);
  } finally {
    await runner.close();
  }
}

async function buildWith(
  runner: ToolRunner,
  tools: ReturnType<typeof findImageBuildTools>,
  recipe: ImageRecipe,
  hash: string,
  paths: ImagePaths,
  opts: BuildImageOptions,
  started: number,
): Promise<ImageManifest> {
  const say = (line: string) => opts.onProgress?.(`kt: ${line}`);
  await removeStaleBuilds(paths.imagesDir, hash, runner, opts.onProgress);
  const work = await fs.mkdtemp(path.join(paths.imagesDir, `${BUILD_PREFIX}${hash}-`));
  try {
    // mkdtemp gives 0700; apt's download sandbox user (_apt) must be able to enter the tree,
    // and in a rootless build so must the subordinate ids mmdebstrap's hooks run as.
    await fs.chmod(work, 0o755);
    const guestDir = path.join(work, 'guest');
    const rootfs = path.join(work, 'rootfs');
    for (const [name, content] of Object.entries(recipe.guestFiles)) {
      const file = path.join(guestDir, name);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, content);
      // Explicit modes: the hooks read these as root of the build, whatever kt's umask is.
      await fs.chmod(file, 0o755);
      for (let dir = path.dirname(file); dir.startsWith(guestDir); dir = path.dirname(dir)) await fs.chmod(dir, 0o755);
    }

    say(`bootstrapping Debian ${recipe.suite} (${recipe.packages.length} packages) with mmdebstrap --mode=${runner.mode}`);
    const mmdebstrapArgs = renderMmdebstrapArgs(recipe, { rootfsDir: rootfs, guestDir }, runner.mode);
    await runStreaming('mmdebstrap', runner.command(tools.mmdebstrap, mmdebstrapArgs), runner.env, work, opts);

    // The same tree from either mode: what differs between them is evened out here.
    await runner.output('sh', [path.join(guestDir, 'mmdebstrap', 'finish-tree.sh'), rootfs]);

    say('copying vmlinuz, packing the initramfs');
    const boot = await extractBoot(rootfs, work, recipe, runner);
    // The uncompressed kernel for the PVH entry (docs/speed.md): optional, the image boots without it.
    const pvh = await extractVmlinux(path.join(work, IMAGE_FILES.kernel), path.join(work, IMAGE_VMLINUX));
    if ('note' in pvh) say(`no uncompressed kernel for the PVH entry: ${pvh.note}`);
    const sshHostKey = (await fs.readFile(path.join(rootfs, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8')).trim();
    const installed = parseDpkgStatus(await fs.readFile(path.join(rootfs, 'var/lib/dpkg/status'), 'utf8'));

    const tree = treeBytesFromFind(await runner.output('find', treeBlocksFindArgs(rootfs)));
    const size = rootImageSizeBytes(tree);
    const rootImage = path.join(work, IMAGE_FILES.rootImage);
    say(`writing root.img (ext4, ${Math.round(size / 2 ** 20)} MiB sparse, tree ${Math.round(tree / 2 ** 20)} MiB)`);
    // kt creates the file, so it stays kt's user's; mke2fs only writes into it.
    await fs.writeFile(rootImage, '');
    await runStreaming('mke2fs', runner.command(tools.mke2fs, renderMke2fsArgs(rootfs, rootImage, size)), runner.env, work, opts);
    await removeBuildDir(rootfs, runner);
    await removeBuildDir(guestDir);
    await fs.rm(path.join(work, TOOL_PGID_FILE), { force: true });

    const artifacts = [IMAGE_FILES.kernel, IMAGE_FILES.initramfs, IMAGE_FILES.rootImage].map((f) => path.join(work, f));
    const optional = 'size' in pvh ? [path.join(work, IMAGE_VMLINUX)] : [];
    await Promise.all([...artifacts, ...optional].map(syncFile));
    const [kernelSt, initramfsSt, rootSt] = await Promise.all(artifacts.map((f) => fs.stat(f)));
    if (!kernelSt || !initramfsSt || !rootSt) throw new Error('unreachable: three artifacts, three stats');
    const manifest: ImageManifest = {
      hash,
      recipeVersion: recipe.recipeVersion,
      kernelRelease: boot.kernelRelease,
      suite: recipe.suite,
      sources: recipe.sources,
      packages: recipe.packages,
      installed,
      initramfsModules: boot.initramfsModules,
      rootFilesystem: 'ext4',
      sshHostKey,
      buildMode: runner.mode,
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((Date.now() - started) / 100) / 10,
      sizes: {
        kernel: kernelSt.size,
        ...('size' in pvh ? { vmlinux: pvh.size } : {}),
        initramfs: initramfsSt.size,
        rootImage: rootSt.size,
        rootImageAllocated: rootSt.blocks * 512,
        rootTree: tree,
      },
    };
    // Written last: a directory with a manifest is a complete image.
    const manifestFile = path.join(work, IMAGE_FILES.manifest);
    await fs.writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    await syncFile(manifestFile);
    // A shared cache (--system) serves every user, whatever root's umask; a user's own cache
    // keeps the modes their umask gives (root.img holds the guest's ssh host key, docs/image.md).
    if (opts.shared) for (const f of [...artifacts, ...optional, manifestFile]) await fs.chmod(f, 0o644);
    await installBuild(work, paths.dir);
    say(`image ${hash} (kernel ${boot.kernelRelease}) ready in ${manifest.buildSeconds} s: ${paths.dir}`);
    return manifest;
  } catch (err) {
    await removeBuildDir(work, runner).catch((cleanupErr: unknown) => {
      opts.onProgress?.(`kt: could not remove ${work}: ${String(cleanupErr)}`);
    });
    throw err;
  }
}
