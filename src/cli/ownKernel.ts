/**
 * `kt run` with the developer's own kernel: the config check before anything boots
 * (src/kconfig/forRun.ts), and the run's initramfs with the kernel's staged modules and the
 * --module files appended (src/modules). docs/kernel.md describes both.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RunConfig } from '../config/runConfig.js';
import { UsageError } from '../errors.js';
import { readBzImageRelease } from '../config/kernelFile.js';
import { checkKernelForRun, kernelConfigError, type KernelForRun } from '../kconfig/forRun.js';
import { sectionInfo } from './kconfigCommand.js';
import { sectionSelection } from './kconfigSelection.js';
import { earlyModules, requirementsFor } from '../kconfig/requirements.js';
import { KT_INIT_MODULES } from '../modules/plan.js';
import { composeRunInitramfs, readExtraModules } from '../modules/runInitramfs.js';
import { stagedFromDir, stageTreeModules, type StagedModuleTree } from '../modules/stage.js';

type Write = (text: string) => void;

const checks = new WeakMap<RunConfig, Promise<KernelForRun>>();

/** The check of this run's kernel, made once per RunConfig. */
function kernelCheckOf(config: RunConfig): Promise<KernelForRun> {
  let p = checks.get(config);
  if (!p) {
    p = checkKernelForRun({
      ...(config.kernel ? { kernel: config.kernel } : {}),
      kernelSource: config.kernelSource,
      ...(config.kernelTree ? { kernelTree: config.kernelTree } : {}),
      backend: config.backend.kind,
      rootfs: config.rootfs.kind,
      transport: config.transport,
      suite: {
        name: config.sections.map((s) => s.name).join(', '),
        sections: config.sections.map(sectionInfo),
        selection: sectionSelection(config.sections, process.cwd()),
      },
      ...(config.modulesDir ? { modulesDir: config.modulesDir } : {}),
      extraModules: config.extraModules.length > 0,
      cwd: process.cwd(),
    });
    checks.set(config, p);
  }
  return p;
}

/** Before anything boots: stop with the missing options and the fix, or print what is worth knowing. */
export async function checkOwnKernel(config: RunConfig, write: Write): Promise<void> {
  const r = await kernelCheckOf(config);
  if (!r.checked) {
    if (r.note) write(`kt: note: ${r.note}\n`);
    return;
  }
  const error = kernelConfigError(r, config.kernel!);
  if (error) throw error;
  for (const note of r.notes) write(`kt: kernel config: ${note}\n`);
}

/** `uname -r` of the kernel kt boots, from its bzImage header (boot protocol kernel_version). */
function releaseOfKernel(kernel: string, tree: string | undefined): string {
  const release = readBzImageRelease(kernel);
  if (release) return release;
  const file = tree ? path.join(tree, 'include', 'config', 'kernel.release') : undefined;
  if (file && fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  throw new UsageError('E_KERNEL_RELEASE', `cannot tell the release of ${kernel} (no version string in its header)`, 'build a bzImage with a current kernel tree (boot protocol 2.00 or later)');
}

/**
 * The initramfs for this run: kt's own, or kt's with the kernel's modules and the --module
 * files appended. Throws when a module the run needs was not built.
 */
export async function ownKernelInitramfs(config: RunConfig, image: { initramfs: string; kernelRelease: string }, cacheDir: string, write: Write): Promise<string> {
  if (config.backend.kind !== 'direct') return image.initramfs;
  const r = await kernelCheckOf(config);
  if (!r.modulesFrom && config.extraModules.length === 0) return image.initramfs;
  const tree = r.modulesFrom?.kind === 'tree' ? r.modulesFrom.tree : undefined;
  const release = config.kernel ? releaseOfKernel(config.kernel, tree) : image.kernelRelease;
  const extra = readExtraModules(config.extraModules, release);

  let staged: StagedModuleTree | undefined;
  const from = r.modulesFrom;
  if (from) {
    let said = false;
    staged =
      from.kind === 'tree'
        ? await stageTreeModules(from.tree, release, cacheDir, () => {
            if (!said) write(`kt: modules: make modules_install in ${from.tree} (into kt's cache, once per build)\n`);
            said = true;
          })
        : stagedFromDir(from.dir, release);
  }
  // Without a checked config (the image kernel with --module), what kt needs in any case.
  const items = r.checked ? r.check.items : requirementsFor({ backend: 'direct', rootfs: config.rootfs.kind, transport: config.transport, suite: { name: config.sections.map((s) => s.name).join(', '), sections: [] }, modulesStaged: true, extraModules: false });
  if (staged && r.checked) {
    const index = staged.index;
    const known = (name: string) => index.byName.has(name) || index.builtin.has(name);
    const notBuilt = r.check.items.filter((i) => i.status === 'module' && i.module && !known(i.module));
    const requiredNotBuilt = notBuilt.filter((i) => i.level === 'required');
    if (requiredNotBuilt.length > 0) {
      throw new UsageError(
        'E_MODULE_NOT_BUILT',
        `the config builds ${requiredNotBuilt.map((i) => `CONFIG_${i.symbol}`).join(', ')} as module${requiredNotBuilt.length === 1 ? '' : 's'}, but ${requiredNotBuilt.map((i) => i.module).join(', ')} ${requiredNotBuilt.length === 1 ? 'is' : 'are'} not among the modules of ${staged.origin}`,
        'build the modules (make -j$(nproc), or make modules) and run kt again',
      );
    }
    if (notBuilt.length > 0) write(`kt: modules: not built, although the config has them as modules: ${notBuilt.map((i) => i.module).join(' ')}\n`);
  }
  const composed = composeRunInitramfs({
    baseInitramfs: image.initramfs,
    cacheDir,
    ...(staged ? { staged } : {}),
    early: earlyModules(items),
    wanted: [...KT_INIT_MODULES, ...items.flatMap((i) => (i.module ? [i.module] : []))],
    extraModules: extra,
  });
  if (staged) {
    const { stagedModules, treeModules, early } = composed;
    write(
      `kt: modules: ${stagedModules === treeModules ? (treeModules === 1 ? 'the 1 module' : `all ${treeModules} modules`) : `${stagedModules} of ${treeModules} modules`} of ${release} staged from ${staged.origin}` +
        `${early.length > 0 ? `; loaded before the root is mounted: ${early.map((p) => path.basename(p).replace(/\.ko.*$/, '')).join(' ')}` : ''}\n`,
    );
  }
  if (extra.length > 0) write(`kt: --module: ${extra.map((m) => `${m.name} (${m.file})`).join(', ')} loaded in every VM before its first test\n`);
  return composed.file;
}
