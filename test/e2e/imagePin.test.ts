/**
 * An image rebuilt while a run goes on (src/vm/image/pinImage.ts): every VM of the run, the
 * replacement of a crashed one included, boots the build the run started with. The rebuild is
 * done as buildImage.ts installBuild does it — the old directory renamed aside, the new one
 * renamed into place, the old deleted — in a private cache, with a new build whose manifest
 * names another ssh host key: a VM that booted from the image's path would fail E_BOOT_HOST_KEY.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveCacheDir } from '../../src/vm/image/cacheDir.js';
import { ensureImage, type GuestImage } from '../../src/vm/image/ensureImage.js';
import { generateSshKeyPair } from '../../src/vm/sshKeyPair.js';
import { e2eTempDir, finished, fixtureTree, KT, ktEnv, ktTempDirs, outcomes, qemuOf, readEvents, runIdOf, waitForEvent } from './harness.js';

let tree: string;
let image: GuestImage;
beforeAll(async () => {
  tree = await fixtureTree();
  image = await ensureImage({ cacheDir: resolveCacheDir(process.env) });
}, 1_200_000);

/** A copy of the built image at `dir`: hard links where the file system allows, else symlinks. */
function placeBuild(dir: string, sshHostKey: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['vmlinuz', 'vmlinux', 'initramfs.cpio.gz', 'root.img']) {
    const from = path.join(image.dir, f);
    if (!fs.existsSync(from)) continue;
    try {
      fs.linkSync(from, path.join(dir, f));
    } catch {
      fs.symlinkSync(from, path.join(dir, f));
    }
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(image.dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifest, sshHostKey }));
}

describe('kt image build --rebuild during a run', () => {
  it('leaves the run on the build it started with: the replacement of a crashed VM boots it too', async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-e2e-pin-'));
    const final = path.join(cache, 'images', image.hash);
    placeBuild(final, image.sshHostKey);
    try {
      const results = e2eTempDir('results');
      // selftest/005 panics the guest (sysrq-c): xfs/001 runs on a replacement VM booted after the rebuild.
      const child = execa('node', [KT, 'run', '--accel', 'tcg', '-j', '1', '--results', results, '--fstests', tree, 'selftest/001', 'selftest/005', 'xfs/001'], {
        reject: false,
        env: { ...ktEnv(), KT_CACHE_DIR: cache },
        cwd: os.tmpdir(),
        stdin: 'ignore',
      });
      await waitForEvent(results, (e) => e.type === 'machine-up', 600_000);
      const pins = fs.readdirSync(path.join(cache, 'images')).filter((n) => n.startsWith('.pin-'));
      expect(pins).toHaveLength(1);
      expect(pins[0]).toMatch(/^\.pin-\d+@[^@]+@\w{6}$/);
      // The rebuild: a build with another host key, renamed into place.
      const work = path.join(cache, 'images', `.build-${image.hash}-e2e`);
      placeBuild(work, generateSshKeyPair('kt-guest').public);
      fs.renameSync(final, `${work}.old`);
      fs.renameSync(work, final);
      fs.rmSync(`${work}.old`, { recursive: true });

      const run = finished(await child, results);
      expect(run.stderr).not.toMatch(/internal error|E_BOOT_HOST_KEY/);
      expect(run.exitCode, run.stderr).toBe(1);
      expect(outcomes(run.runDir)).toEqual({ 'selftest/001': 'passed', 'selftest/005': 'crashed', 'xfs/001': 'passed' });
      const events = readEvents(run.runDir);
      expect(events.filter((e) => e.type === 'machine-up').map((e) => e.machine)).toEqual(['vm1', 'vm2']);
      // The record and the user see the image's own directory, not the pin that is gone now.
      expect(events.find((e) => e.type === 'run-start')).toMatchObject({ kernel: path.join(final, 'vmlinuz') });
      expect(run.stderr).toContain(`kt: kernel ${path.join(final, 'vmlinuz')} (image kernel ${image.kernelRelease})`);
      expect(fs.readdirSync(path.join(cache, 'images')).filter((n) => n.startsWith('.pin-'))).toEqual([]);
      expect(await qemuOf(runIdOf(run.runDir))).toEqual([]);
      expect(ktTempDirs()).toEqual([]);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  }, 1_200_000);
});
