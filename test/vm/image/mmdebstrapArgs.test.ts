import { describe, expect, it } from 'vitest';
import { renderMmdebstrapArgs } from '../../../src/vm/image/mmdebstrapArgs.js';
import { imageRecipe } from '../../../src/vm/image/recipe.js';

describe('renderMmdebstrapArgs', () => {
  const args = renderMmdebstrapArgs(imageRecipe({}), { rootfsDir: '/b/rootfs', guestDir: "/b/it's/guest" });

  it('bootstraps in root mode into a directory, suite, target and sources last', () => {
    expect(args.slice(0, 3)).toEqual(['--mode=root', '--format=directory', '--variant=essential']);
    expect(args.slice(-5)).toEqual([
      'bookworm',
      '/b/rootfs',
      'deb http://deb.debian.org/debian bookworm main',
      'deb http://deb.debian.org/debian bookworm-updates main',
      'deb http://deb.debian.org/debian-security bookworm-security main',
    ]);
  });

  it('excludes documentation and recommends', () => {
    expect(args).toContain('--dpkgopt=path-exclude=/usr/share/doc/*');
    expect(args).toContain('--aptopt=APT::Install-Recommends "false"');
  });

  it('runs the hooks from the copied guest files, quoted for sh', () => {
    expect(args).toContain(`--essential-hook=sh '/b/it'\\''s/guest/mmdebstrap/essential-hook.sh' "$1"`);
    expect(args).toContain(
      `--customize-hook=sh '/b/it'\\''s/guest/mmdebstrap/customize-hook.sh' "$1" '/b/it'\\''s/guest'`,
    );
  });
});

describe('renderMmdebstrapArgs in unshare mode', () => {
  const paths = { rootfsDir: '/home/u/.cache/kt/images/.build-h-x/rootfs', guestDir: '/home/u/.cache/kt/images/.build-h-x/guest' };
  const root = renderMmdebstrapArgs(imageRecipe({}), paths, 'root');
  const unshare = renderMmdebstrapArgs(imageRecipe({}), paths, 'unshare');

  it('differs from root mode in --mode only', () => {
    expect(unshare[0]).toBe('--mode=unshare');
    expect(unshare.slice(1)).toEqual(root.slice(1));
  });

  it('is the whole command line kt runs inside its user namespace', () => {
    expect(unshare).toEqual([
      '--mode=unshare',
      '--format=directory',
      '--variant=essential',
      `--include=${imageRecipe({}).packages.join(',')}`,
      '--aptopt=APT::Install-Recommends "false"',
      '--aptopt=Acquire::Languages "none"',
      ...imageRecipe({}).dpkgPathExcludes.map((g) => `--dpkgopt=path-exclude=${g}`),
      `--essential-hook=sh '/home/u/.cache/kt/images/.build-h-x/guest/mmdebstrap/essential-hook.sh' "$1"`,
      `--customize-hook=sh '/home/u/.cache/kt/images/.build-h-x/guest/mmdebstrap/customize-hook.sh' "$1" '/home/u/.cache/kt/images/.build-h-x/guest'`,
      'bookworm',
      '/home/u/.cache/kt/images/.build-h-x/rootfs',
      'deb http://deb.debian.org/debian bookworm main',
      'deb http://deb.debian.org/debian bookworm-updates main',
      'deb http://deb.debian.org/debian-security bookworm-security main',
    ]);
  });
});
