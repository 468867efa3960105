/**
 * TEST_DEV made once, in kt's cache (src/runner/guestSetup.ts TestDevTemplates; docs/speed.md,
 * "TEST_DEV made once"): `<cacheDir>/test-dev/<image hash>-<image build>-<mkfs key>.img`, a sparse
 * copy of a TEST disk taken right after a guest's mkfs made its filesystem and before anything
 * mounted it. The mkfs key is the SHA-256 of the mkfs program and words the section runs
 * (src/runner/guestCommands.ts testDevMkfsWords) and the disk's size, so a section of other
 * options, another filesystem or another --test-size gets its own file. The image build names the
 * mkfs program's version (the recipe hash alone does not: src/vm/image/buildTag.ts). The kernel is
 * not in the key: mkfs is a userspace program writing to a block device, and every kernel kt
 * boots shows it the same virtio disk.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { testDevMkfsWords } from '../runner/guestCommands.js';
import type { GuestSectionConfig, TestDevTemplates } from '../runner/guestSetup.js';
import { imageBuildTag, type ImageBuild } from '../vm/image/buildTag.js';

/**
 * The template file of a section's TEST_DEV, or undefined when it gets none: an fstyp kt cannot
 * make, or an external log or realtime device, which its mkfs writes too and the copy of the TEST
 * disk alone would not hold. Pure.
 */
export function testDevTemplatePath(cacheDir: string, image: ImageBuild, section: Pick<GuestSectionConfig, 'fstyp' | 'mkfsOptions' | 'devices'>, sizeBytes: number): string | undefined {
  if (section.devices?.logdevBytes || section.devices?.rtdevBytes) return undefined;
  const words = testDevMkfsWords(section.fstyp, section.mkfsOptions);
  if (!words) return undefined;
  const key = crypto.createHash('sha256').update(JSON.stringify({ mkfs: words, sizeBytes })).digest('hex').slice(0, 16);
  return path.join(cacheDir, 'test-dev', `${image.hash}-${imageBuildTag(image.sshHostKey)}-${key}.img`);
}

/** The run's templates: each section's file, and whether it is there (looked at each time: another kt may have kept it meanwhile). */
export function testDevTemplates(cacheDir: string, image: ImageBuild, sections: readonly GuestSectionConfig[], sizeBytes: number): TestDevTemplates {
  const paths = new Map(sections.map((s) => [s.name, testDevTemplatePath(cacheDir, image, s, sizeBytes)]));
  return {
    templateFor(section) {
      const p = paths.get(section);
      return p === undefined ? undefined : { path: p, kept: fs.existsSync(p) };
    },
  };
}
