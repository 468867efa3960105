/**
 * What `kt shell` runs in the guest. The renderers are pure; the command of `kt shell -- CMD`
 * is also run by a real bash (with the guest paths swapped for a temp dir) to show every word
 * arrives as given.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderConfigOnly, renderGuestCommand, renderInteractiveShell, renderPowerOff } from '../../src/cli/shellGuest.js';

describe('kt shell guest commands', () => {
  it('starts an interactive bash in the fstests tree with the section config as HOST_OPTIONS', () => {
    expect(renderInteractiveShell('xfs/4k')).toBe('{ [ ! -r /run/kt/env.sh ] || . /run/kt/env.sh; } && cd /var/lib/xfstests && export HOST_OPTIONS=/run/kt/xfs_4k.config && exec bash -i');
  });

  it('passes the words of CMD as given, however odd', async () => {
    const argv = ['printf', '%s|', 'a b', "it's", '$HOME', '*', ''];
    const cmd = renderGuestCommand('ext4/1k', argv);
    expect(cmd.startsWith('{ [ ! -r /run/kt/env.sh ] || . /run/kt/env.sh; } && cd /var/lib/xfstests && export HOST_OPTIONS=/run/kt/ext4_1k.config && ')).toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-shell-guest-'));
    try {
      // dash: root's login shell in kt's image; bash: a NixOS guest's.
      for (const shell of [['dash', '-c'], ['bash', '-c']]) {
        const inDir = (c: string) => c.replace('cd /var/lib/xfstests', `cd ${dir}`);
        const r = await execa(shell[0]!, [...shell.slice(1), inDir(cmd)]);
        expect(r.stdout, shell.join(' ')).toBe("a b|it's|$HOME|*||");
        const where = await execa(shell[0]!, [...shell.slice(1), inDir(renderGuestCommand('ext4/1k', ['sh', '-c', 'echo "$HOST_OPTIONS"; pwd']))]);
        expect(where.stdout).toBe(`/run/kt/ext4_1k.config\n${dir}`);
        // bash runs the words, as it did when it was root's shell: `time` is its keyword.
        const timed = await execa(shell[0]!, [...shell.slice(1), inDir(renderGuestCommand('ext4/1k', ['time', 'true']))]);
        expect(timed.exitCode).toBe(0);
        expect(timed.stderr).toMatch(/^real\s/m);
        const status = await execa(shell[0]!, [...shell.slice(1), inDir(renderGuestCommand('ext4/1k', ['sh', '-c', 'exit 7']))], { reject: false });
        expect(status.exitCode).toBe(7);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the check config of kept disks without making a filesystem', async () => {
    const script = renderConfigOnly('xfs/4k', "export FSTYP=xfs\nexport MKFS_OPTIONS='-b size=4096'\n");
    expect(script).not.toMatch(/mkfs/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-shell-guest-'));
    try {
      const r = await execa('dash', ['-c', script.replaceAll('/run/kt', dir)]);
      expect(r.stdout).toBe('KT-SECTION-OK');
      expect(fs.readFileSync(path.join(dir, 'xfs_4k.config'), 'utf8')).toBe("export FSTYP=xfs\nexport MKFS_OPTIONS='-b size=4096'\n");
      expect(fs.statSync(path.join(dir, 'results/xfs_4k')).isDirectory()).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("on kept disks too, says done only once guest/kt-init's udevd start is over", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-shell-guest-'));
    try {
      fs.writeFileSync(path.join(dir, 'udev'), 'starting\n');
      const script = renderConfigOnly('xfs/4k', 'export FSTYP=xfs\n')
        .replaceAll('/run/kt', dir)
        .replace('sleep 0.1', `echo waited >> ${dir}/log; echo running > ${dir}/udev`);
      const r = await execa('bash', ['-c', script]);
      expect(r.stdout).toBe('KT-SECTION-OK');
      expect(fs.readFileSync(path.join(dir, 'log'), 'utf8')).toBe('waited\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('powers off after unmounting TEST_DIR and SCRATCH_MNT and syncing, in a session of its own', () => {
    const script = renderPowerOff();
    const lines = script.split('\n').slice(-5);
    // The same script first, quoted, for setsid: a timed-out ssh command's group is killed.
    expect(script).toBe(`if command -v setsid >/dev/null && setsid -w true 2>/dev/null; then exec setsid -w sh -c '${lines.join('\n')}' </dev/null >/dev/console 2>&1; fi\n${lines.join('\n')}`);
    expect(lines).toEqual([
      'cd /',
      'for m in /mnt/scratch /mnt/test; do mountpoint -q "$m" && umount "$m"; done',
      'sync',
      'if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then exec systemctl poweroff; fi',
      'busybox poweroff -f || poweroff -f || echo o > /proc/sysrq-trigger',
    ]);
  });
});
