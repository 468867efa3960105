/**
 * The host programs an image build runs. Looked up before anything starts, so a missing tool is
 * one clear error naming the package, not a failure ten minutes into a build.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HostError } from '../../errors.js';

/** Program → the Debian/Ubuntu package that ships it. */
export const IMAGE_BUILD_TOOLS = {
  mmdebstrap: 'mmdebstrap',
  mke2fs: 'e2fsprogs',
} as const;

export type ImageBuildTool = keyof typeof IMAGE_BUILD_TOOLS;

/** mke2fs lives in /sbin, which is not on a normal user's PATH. */
export const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function findOnPath(name: string, pathEnv: string | undefined, extraDirs: readonly string[] = SBIN_DIRS): string | undefined {
  const dirs = [...(pathEnv ?? '').split(path.delimiter).filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  return undefined;
}

/** Absolute paths of every build tool, or HostError E_IMAGE_TOOL_MISSING naming the packages. */
export function findImageBuildTools(
  pathEnv = process.env.PATH,
  extraDirs: readonly string[] = SBIN_DIRS,
): Record<ImageBuildTool, string> {
  const found: Partial<Record<ImageBuildTool, string>> = {};
  const missing: ImageBuildTool[] = [];
  for (const tool of Object.keys(IMAGE_BUILD_TOOLS) as ImageBuildTool[]) {
    const at = findOnPath(tool, pathEnv, extraDirs);
    if (at) found[tool] = at;
    else missing.push(tool);
  }
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((t) => IMAGE_BUILD_TOOLS[t]))];
    throw new HostError(
      'E_IMAGE_TOOL_MISSING',
      `building the guest image needs ${missing.join(' and ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed`,
      `install it: apt-get install ${packages.join(' ')}`,
    );
  }
  return found as Record<ImageBuildTool, string>;
}
