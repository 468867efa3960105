/**
 * Which kernel modules the initramfs must insmod, and in which order. busybox insmod knows no
 * dependencies, so we resolve them from depmod's modules.dep (format: depmod(8),
 * "kernel/a.ko: kernel/b.ko kernel/c.ko", paths relative to /lib/modules/<release>).
 */

/** Module path → its direct dependencies (paths), as depmod wrote them. */
export type ModulesDep = ReadonlyMap<string, readonly string[]>;

export function parseModulesDep(text: string): ModulesDep {
  const deps = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const rest = line.slice(colon + 1).trim();
    deps.set(line.slice(0, colon).trim(), rest === '' ? [] : rest.split(/\s+/));
  }
  return deps;
}

/** "kernel/drivers/md/dm-mod.ko.xz" → "dm_mod": the kernel treats - and _ alike in names. */
export function moduleNameOf(modulePath: string): string {
  const base = modulePath.slice(modulePath.lastIndexOf('/') + 1);
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replaceAll('-', '_');
}

export interface ModuleLoadPlan {
  /** Paths to insmod, every dependency before the modules that need it. */
  load: string[];
  /** Requested names that are built into the kernel (modules.builtin): nothing to load. */
  builtin: string[];
}

/**
 * Orders the wanted modules and all their dependencies for insmod (depth-first, dependencies
 * first, each module once). Throws when a wanted module is neither a module nor built in:
 * the image recipe names something this kernel does not have.
 */
export function planModuleLoad(deps: ModulesDep, builtinText: string, wanted: readonly string[]): ModuleLoadPlan {
  const byName = new Map<string, string>();
  for (const modulePath of deps.keys()) byName.set(moduleNameOf(modulePath), modulePath);
  const builtinNames = new Set(
    builtinText
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => moduleNameOf(l.trim())),
  );

  const load: string[] = [];
  const builtin: string[] = [];
  const visited = new Set<string>();
  const visit = (modulePath: string, chain: readonly string[]) => {
    if (visited.has(modulePath)) return;
    if (chain.includes(modulePath)) throw new Error(`modules.dep: dependency cycle ${[...chain, modulePath].join(' → ')}`);
    for (const dep of deps.get(modulePath) ?? []) visit(dep, [...chain, modulePath]);
    visited.add(modulePath);
    load.push(modulePath);
  };

  for (const raw of wanted) {
    const name = raw.replaceAll('-', '_');
    const modulePath = byName.get(name);
    if (modulePath !== undefined) visit(modulePath, []);
    else if (builtinNames.has(name)) builtin.push(name);
    else throw new Error(`kernel module ${raw} is neither in modules.dep nor in modules.builtin`);
  }
  return { load, builtin };
}
