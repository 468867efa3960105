import { ExitCode } from '../errors.js';
import { resolveCacheDir } from '../vm/image/cacheDir.js';
import { prepareImage } from './runCommand.js';

/** `kt image build`: build the Debian guest image, or report the cached one. */
export async function imageBuildCommand(opts: { rebuild: boolean }): Promise<number> {
  const started = Date.now();
  const image = await prepareImage(resolveCacheDir(process.env), opts.rebuild);
  process.stdout.write(
    `kt: image ${image.hash} (kernel ${image.kernelRelease}) ready in ${image.dir} after ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  return ExitCode.ok;
}
