/**
 * kt kconfig's exit codes and messages as a user sees them, from the real CLI (dist/, built by
 * `npm test`), on real configs (fixtures/README.md). None of these needs a kernel tree.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const KT = new URL('../../bin/kt.js', import.meta.url).pathname;
const fixtures = new URL('./fixtures/', import.meta.url).pathname;
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-kconfig-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function kt(args: string[], cwd = tmp) {
  const r = await execa('node', [KT, 'kconfig', ...args], { cwd, reject: false, env: { ...process.env, NO_COLOR: '1', XDG_CONFIG_HOME: tmp } });
  return { code: r.exitCode, out: r.stdout, err: r.stderr };
}

// Each case starts node a few times: generous timeouts for a loaded host.
describe('kt kconfig check', { timeout: 180_000 }, () => {
  it('exits 1 naming each missing required option, 0 when nothing required is missing', async () => {
    const tiny = await kt(['check', '--config', `${fixtures}tinyconfig-6.1.192.config`]);
    expect(tiny.code).toBe(1);
    expect(tiny.out).toContain('\nkt kconfig: 28 required options are missing: CONFIG_64BIT CONFIG_BLK_DEV_INITRD');
    // --modules: its one module (scsi_debug) counts.
    const fixed = await kt(['check', '--config', `${fixtures}tinyconfig-kt-fix-6.1.192.config`, '--modules', tmp]);
    expect(fixed.code, fixed.err).toBe(0);
    // execa strips the final newline.
    expect(fixed.out.split('\n').at(-1)).toBe('kt kconfig: all 28 required options are set');
  });

  it('counts modules with --modules, and says they are modules', async () => {
    const cloud = `${fixtures}debian-6.1.192-cloud-amd64.config`;
    const unstaged = await kt(['check', '--config', cloud]);
    expect(unstaged.code, unstaged.err).toBe(1);
    const staged = await kt(['check', '--config', cloud, '--modules', tmp]);
    expect(staged.code).toBe(0);
    expect(staged.out).toContain("Satisfied by modules (");
    expect(staged.out).toContain('kt kconfig: all 28 required options are set (');
  });

  it('checks the sections -c names, and its fix command names them too', async () => {
    const r = await kt(['check', '--config', `${fixtures}tinyconfig-kt-fix-6.1.192.config`, '--modules', tmp, '-c', 'xfs/4k,ext4/1k', '--transport', 'tcp']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('kt kconfig: for backend direct, rootfs image, transport tcp, suite xfs/4k,ext4/1k (FSTYP=xfs, ext4)');
    expect(r.out).toContain('kt kconfig: 1 required option is missing: CONFIG_VIRTIO_NET');
    expect(r.out).toContain("kt kconfig: fix: kt kconfig fix TREE -c xfs/4k,ext4/1k --transport tcp (in the kernel tree this config was built from), then rebuild");
    const both = await kt(['check', '--config', `${fixtures}tinyconfig-kt-fix-6.1.192.config`, '-c', 'xfs/realtime', '--suite', 'xfs']);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/^kt: error E_SECTIONS_AND_SUITE: -c xfs\/realtime and --suite xfs were both given/);
  });

  it("reads kt.yaml as kt run does: its sections:, suite:, rootfs: and backend:, its paths relative to the file", async () => {
    const fixed = `${fixtures}tinyconfig-kt-fix-6.1.192.config`;
    const dir = path.join(tmp, 'linux');
    fs.mkdirSync(path.join(dir, 'suites'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'suites/mine.yaml'), 'fstyp: ext4\nsections:\n  small:\n    mkfsOptions: "-b 1024"\n');
    fs.writeFileSync(path.join(dir, 'kt.yaml'), 'sections: [suites/mine.yaml/small]\nrootfs: virtiofs\n');
    // The user's config file (XDG_CONFIG_HOME is tmp): suite: is relative to it, not to where kt runs.
    fs.mkdirSync(path.join(tmp, 'kt/suites'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'kt/suites/other.yaml'), 'fstyp: btrfs\n');
    fs.writeFileSync(path.join(tmp, 'kt/config.yaml'), 'suite: suites/other.yaml\nbackend: nixos\n');
    const elsewhere = path.join(tmp, 'elsewhere');
    fs.mkdirSync(elsewhere);
    try {
      const r = await kt(['check', '--config', fixed, '--modules', tmp], dir);
      expect(r.out).toContain('kt kconfig: for backend direct, rootfs virtiofs, transport virtio-serial, suite mine/small (FSTYP=ext4)');
      expect(r.out).toContain('kt kconfig: 2 required options are missing: CONFIG_FUSE_FS CONFIG_VIRTIO_FS');
      // The fix names kt.yaml's section too (its suite file by path), as kt run's hint does.
      expect(r.out).toContain(`kt kconfig: fix: kt kconfig fix TREE -c ${dir}/suites/mine.yaml/small --rootfs virtiofs (in the kernel tree this config was built from), then rebuild`);
      expect(r.code).toBe(1);
      const user = await kt(['check', '--config', fixed, '--json'], elsewhere);
      const doc = JSON.parse(user.out) as { context: { backend: string; suite: { name: string; sections: { fstyp: string }[] } } };
      expect(doc.context.backend).toBe('nixos');
      expect(doc.context.suite.sections.map((s) => s.fstyp)).toEqual(['btrfs']);
      // Flags win over the file, as in kt run.
      const flags = await kt(['check', '--config', fixed, '--modules', tmp, '--rootfs', 'image', '-c', 'xfs/4k'], dir);
      expect(flags.out).toContain('kt kconfig: for backend direct, rootfs image, transport virtio-serial, suite xfs/4k (FSTYP=xfs)');
    } finally {
      for (const d of [dir, elsewhere, path.join(tmp, 'kt')]) fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it('prints JSON', async () => {
    const r = await kt(['check', '--config', `${fixtures}debian-6.1.192-cloud-amd64.config`, '--backend', 'nixos', '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.out) as { ok: boolean; context: { backend: string }; required: { missing: string[] } };
    expect(doc.context.backend).toBe('nixos');
    expect(doc.required.missing).toEqual(expect.arrayContaining(['CONFIG_9P_FS', 'CONFIG_NET_9P', 'CONFIG_NET_9P_VIRTIO', 'CONFIG_XFS_FS']));
  });

  it('exits 2 with the path and the fix when there is no config', async () => {
    const r = await kt(['check']);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `kt: error E_KCONFIG_NO_CONFIG: no kernel config found: ${tmp}/.config does not exist\n` +
        '  hint: run in a configured kernel tree (after make defconfig or similar), or give TREE, --config FILE or --kernel bzImage',
    );
    const missing = await kt(['check', '--config', 'nope.config']);
    expect(missing.code).toBe(2);
    expect(missing.err).toBe(
      `kt: error E_KCONFIG_NO_CONFIG: config file ${tmp}/nope.config does not exist\n` +
        '  hint: run in a configured kernel tree (after make defconfig or similar), or give TREE, --config FILE or --kernel bzImage',
    );
  });

  it('exits 2 on bad flags', async () => {
    const cfg = `${fixtures}tinyconfig-6.1.192.config`;
    expect((await kt(['check', '--config', cfg, '--backend', 'qemu'])).err).toBe(
      "kt: error E_BAD_BACKEND: --backend qemu is not one of direct, nixos\n  hint: use --backend direct (kt's Debian image) or --backend nixos --nixos-vm ./result",
    );
    expect((await kt(['check', '--config', cfg, '--rootfs', 'nfs'])).code).toBe(2);
    expect((await kt(['check', '--config', cfg, '--kernel', cfg])).err).toBe(
      'kt: error E_KCONFIG_USAGE: give one of TREE, --config FILE or --kernel FILE\n  hint: e.g. kt kconfig check ~/linux, or kt kconfig check --kernel arch/x86/boot/bzImage',
    );
    expect((await kt(['check', '--config', cfg, '--config', cfg])).err).toMatch(/^kt: error E_FLAG_REPEATED: --config was given 2 times/);
    expect((await kt(['bogus'])).code).toBe(2);
    expect((await kt(['fix', '--config', cfg])).err).toBe(
      'kt: error E_KCONFIG_USAGE: kt kconfig fix works on a kernel tree, not on --config or --kernel\n  hint: run it in the tree (or give its path): kt kconfig fix ~/linux',
    );
  });
});

describe('kt kconfig fix and fragment', { timeout: 180_000 }, () => {
  it('fix outside a kernel tree exits 2 and writes nothing', async () => {
    fs.copyFileSync(`${fixtures}tinyconfig-6.1.192.config`, path.join(tmp, '.config'));
    try {
      const r = await kt(['fix']);
      expect(r.code).toBe(2);
      expect(r.err).toBe(`kt: error E_KCONFIG_NOT_A_TREE: ${tmp} is not a kernel tree (no scripts/kconfig/merge_config.sh in it or in its source link)\n  hint: give the kernel source tree, or the O= build directory of one`);
      expect(fs.existsSync(path.join(tmp, '.kt'))).toBe(false);
      expect(fs.existsSync(path.join(tmp, '.config.kt-old'))).toBe(false);
    } finally {
      fs.rmSync(path.join(tmp, '.config'));
    }
  });

  it('fix with a file named .kt, a directory .kt/kt.config or a directory .config: exit 2 naming it, nothing written', async () => {
    // A tree as far as fix looks before it writes: .config and scripts/kconfig/merge_config.sh.
    const tree = path.join(tmp, 'tree');
    fs.mkdirSync(path.join(tree, 'scripts/kconfig'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'scripts/kconfig/merge_config.sh'), '');
    const config = fs.readFileSync(`${fixtures}tinyconfig-6.1.192.config`, 'utf8');
    fs.writeFileSync(path.join(tree, '.config'), config);
    try {
      fs.writeFileSync(path.join(tree, '.kt'), 'mine\n');
      const file = await kt(['fix', tree]);
      expect(file.err).toBe(`kt: error E_KCONFIG_KT_DIR: ${tree}/.kt is a file, not a directory\n  hint: move it away; kt kconfig fix keeps its fragment and its list of changes in .kt/`);
      expect(file.code).toBe(2);
      expect(fs.readFileSync(path.join(tree, '.kt'), 'utf8')).toBe('mine\n');
      fs.rmSync(path.join(tree, '.kt'));
      fs.mkdirSync(path.join(tree, '.kt/kt.config'), { recursive: true });
      const dir = await kt(['fix', tree]);
      expect(dir.err).toBe(`kt: error E_KCONFIG_FRAGMENT_EXISTS: ${tree}/.kt/kt.config exists and is not a file kt wrote (a directory)\n  hint: move it away; kt keeps its fragment there (kt.config)`);
      expect(dir.code).toBe(2);
      expect(fs.readFileSync(path.join(tree, '.config'), 'utf8')).toBe(config);
      expect(fs.readdirSync(tree).sort()).toEqual(['.config', '.kt', 'scripts']);
      fs.rmSync(path.join(tree, '.config'));
      fs.mkdirSync(path.join(tree, '.config'));
      const cfg = await kt(['fix', tree]);
      expect(cfg.err).toBe(`kt: error E_KCONFIG_NOT_A_FILE: ${tree}/.config is a directory, not a kernel config\n  hint: move it away and configure the tree (make defconfig), then run kt kconfig fix again`);
      expect(cfg.code).toBe(2);
    } finally {
      fs.rmSync(tree, { recursive: true, force: true });
    }
  });

  it('fragment prints what fix would merge', async () => {
    const r = await kt(['fragment', '--config', `${fixtures}tinyconfig-6.1.192.config`, '--required-only']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('# kt kconfig fragment: written by `kt kconfig fix` (docs/kernel.md); changes are lost on the next fix');
    expect(lines).toContain('CONFIG_VIRTIO_MENU=y');
    expect(lines).toContain('CONFIG_XFS_FS=y');
    expect(lines).not.toContain('CONFIG_PVPANIC_PCI=y');
    const all = await kt(['fragment', '--all']);
    expect(all.out.split('\n')).toContain('CONFIG_PVPANIC_PCI=y');
  });
});
