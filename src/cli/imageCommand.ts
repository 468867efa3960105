import { ExitCode } from '../errors.js';
import { resolveCacheDir, resolveSharedCacheDir } from '../vm/image/cacheDir.js';
import { prepareImage } from './runCommand.js';

/**
 * `kt image build`: build the Debian guest image into the user's cache (as root, or rootless in
 * a user namespace), or report the cached one. `--system` builds into the shared cache
 * (/var/cache/kt) that every user's kt reads when it cannot build its own (docs/image.md).
 */
export async function imageBuildCommand(opts: { rebuild: boolean; system?: boolean }): Promise<number> {
  const started = Date.now();
  const cacheDir = opts.system ? resolveSharedCacheDir(process.env) : resolveCacheDir(process.env);
  const image = await prepareImage(cacheDir, opts.rebuild);
  process.stdout.write(
    `kt: image ${image.hash} (kernel ${image.kernelRelease}) ready in ${image.dir} after ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  return ExitCode.ok;
}
