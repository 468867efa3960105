import { describe, expect, it } from 'vitest';
import { hashImageInputs } from '../../../src/vm/image/imageHash.js';
import { imageRecipe, RECIPE_VERSION } from '../../../src/vm/image/recipe.js';

const files = { init: '#!/bin/sh\n', 'kt-init': '#!/bin/bash\n' };

describe('hashImageInputs', () => {
  const base = hashImageInputs(imageRecipe(files));

  it('is 16 hex digits and stable for equal inputs', () => {
    expect(base).toMatch(/^[0-9a-f]{16}$/);
    expect(hashImageInputs(imageRecipe({ 'kt-init': '#!/bin/bash\n', init: '#!/bin/sh\n' }))).toBe(base);
  });

  it('changes when a package is added', () => {
    const recipe = imageRecipe(files);
    recipe.packages.push('vim-tiny');
    expect(hashImageInputs(recipe)).not.toBe(base);
  });

  it('changes when a guest script changes', () => {
    expect(hashImageInputs(imageRecipe({ ...files, 'kt-init': '#!/bin/bash\necho\n' }))).not.toBe(base);
  });

  it('changes with the mirror, the suite and the recipe version', () => {
    expect(hashImageInputs(imageRecipe(files, { mirror: 'http://ftp.de.debian.org/debian' }))).not.toBe(base);
    expect(hashImageInputs(imageRecipe(files, { suite: 'trixie' }))).not.toBe(base);
    expect(hashImageInputs({ ...imageRecipe(files), recipeVersion: RECIPE_VERSION + 1 })).not.toBe(base);
  });

  it('ignores a trailing slash on the mirror', () => {
    expect(hashImageInputs(imageRecipe(files, { mirror: 'http://deb.debian.org/debian/' }))).toBe(base);
  });
});

describe('imageRecipe', () => {
  it('takes security updates, where the current kernel is', () => {
    expect(imageRecipe(files).sources).toEqual([
      'deb http://deb.debian.org/debian bookworm main',
      'deb http://deb.debian.org/debian bookworm-updates main',
      'deb http://deb.debian.org/debian-security bookworm-security main',
    ]);
  });

  it('installs the fstests runtime, sshd, tini and the kernel, never initramfs-tools', () => {
    const { packages } = imageRecipe(files);
    for (const p of ['xfsprogs', 'fio', 'openssh-server', 'tini', 'busybox-static', 'linux-image-cloud-amd64']) {
      expect(packages).toContain(p);
    }
    expect(packages).not.toContain('initramfs-tools');
  });
});
