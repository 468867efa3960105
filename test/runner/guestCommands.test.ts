import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ARTIFACT_TAIL_BYTES, guestSectionSlug, parseFetchedArtifacts, renderCheckCommand, renderFetchArtifacts, renderGuestSetup, renderSectionSetup } from '../../src/runner/guestCommands.js';
import { localConfigFor } from '../../src/runner/guestSetup.js';

/**
 * The shells kt's commands run in: dash, root's login shell in kt's image
 * (guest/mmdebstrap/customize-hook.sh), and bash, a NixOS guest's.
 */
const SHELLS = [
  ['dash', '-c'],
  ['bash', '-c'],
] as const;
const inShell = (shell: (typeof SHELLS)[number], script: string, env?: Record<string, string>) =>
  execa(shell[0], [...shell.slice(1), script], { reject: false, ...(env ? { env } : {}) });

describe('renderCheckCommand', () => {
  it('runs check in --exact-order with the section config and the tests after all options', () => {
    expect(renderCheckCommand('xfs/4k', ['generic/001', 'xfs/001'])).toBe(
      '{ [ ! -r /run/kt/env.sh ] || . /run/kt/env.sh; } && cd /var/lib/xfstests && HOST_OPTIONS=/run/kt/xfs_4k.config exec ./check --exact-order generic/001 xfs/001',
    );
  });

  it("takes what guest/kt-init wrote to /run/kt/env.sh into check's environment, and runs without the file", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-check-'));
    try {
      fs.mkdirSync(path.join(dir, 'xfstests'));
      // A check stand-in that prints what it was given.
      fs.writeFileSync(path.join(dir, 'xfstests', 'check'), '#!/bin/sh\necho "DM_DISABLE_UDEV=${DM_DISABLE_UDEV-unset} HOST_OPTIONS=$HOST_OPTIONS $*"\n', { mode: 0o755 });
      const command = renderCheckCommand('xfs', ['generic/001']).replaceAll('/run/kt', dir).replace('/var/lib/xfstests', path.join(dir, 'xfstests'));
      for (const shell of SHELLS) {
        const without = await inShell(shell, command);
        expect(without.exitCode, without.stderr).toBe(0);
        expect(without.stdout).toBe(`DM_DISABLE_UDEV=unset HOST_OPTIONS=${dir}/xfs.config --exact-order generic/001`);
        fs.writeFileSync(path.join(dir, 'env.sh'), 'export DM_DISABLE_UDEV=1\n');
        const withEnv = await inShell(shell, command);
        expect(withEnv.stdout, shell.join(' ')).toBe(`DM_DISABLE_UDEV=1 HOST_OPTIONS=${dir}/xfs.config --exact-order generic/001`);
        fs.rmSync(path.join(dir, 'env.sh'));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('quotes a test name that a shell would interpret', () => {
    expect(renderCheckCommand('xfs', ['generic/001; reboot'])).toContain("--exact-order 'generic/001; reboot'");
  });
});

describe('renderSectionSetup', () => {
  it('names guest paths after a slug of the section', () => {
    expect(guestSectionSlug('xfs/4k')).toBe('xfs_4k');
    expect(guestSectionSlug('ext4/dioread nolock')).toBe('ext4_dioread_nolock');
  });

  /**
   * Runs the script in a real bash with mkfs and the device replaced by stand-ins, so the test
   * sees what the guest would do with hostile config values: they must arrive as data.
   */
  async function runSetup(env: Record<string, string>, mkfsOptions: string, shell: (typeof SHELLS)[number]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-setup-'));
    try {
      const section = { name: 'xfs', fstyp: 'xfs', mkfsOptions, mountOptions: '', env };
      const script = renderSectionSetup({ section: 'xfs', localConfig: localConfigFor(section), fstyp: 'xfs', mkfsOptions })
        .replaceAll('/run/kt', dir)
        .replace('umount /mnt/test', 'echo never-mounted-here; exit 9')
        // mkfs.xfs stand-in: prints its arguments, one per line.
        .replace('mkfs.xfs -f -q', `printf '%s\\n' -f -q`)
        .replace(/ >\/dev\/null$/m, ` > ${dir}/mkfs-args`);
      const r = await inShell(shell, script);
      const config = fs.readFileSync(path.join(dir, 'xfs.config'), 'utf8');
      const args = fs.readFileSync(path.join(dir, 'mkfs-args'), 'utf8').trimEnd().split('\n');
      const sourced = await execa('bash', ['-c', `. ${dir}/xfs.config; printf '%s' "$EVIL"`], { reject: false });
      return { r, config, args, evil: sourced.stdout, pwned: fs.existsSync(path.join(dir, 'pwned')) , dir };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it("makes TEST_DEV, then waits while guest/kt-init's udevd start is under way before it says done", async () => {
    for (const shell of SHELLS) for (const [state, waits] of [['starting', 1], ['running', 0], ['none', 0], [undefined, 0]] as const) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-setup-'));
      try {
        if (state !== undefined) fs.writeFileSync(path.join(dir, 'udev'), `${state}\n`);
        const section = { name: 'xfs', fstyp: 'xfs', mkfsOptions: '', mountOptions: '', env: {} };
        const script = renderSectionSetup({ section: 'xfs', localConfig: localConfigFor(section), fstyp: 'xfs', mkfsOptions: '' })
          .replaceAll('/run/kt', dir)
          // One turn of the wait: kt-init's start ends meanwhile.
          .replace('sleep 0.1', `echo waited >> ${dir}/log; echo running > ${dir}/udev`)
          .replace('mkfs.xfs -f -q', `echo mkfs >> ${dir}/log #`);
        const r = await inShell(shell, script);
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stderr).toBe('');
        expect(fs.readFileSync(path.join(dir, 'log'), 'utf8'), String(state)).toBe(`mkfs\n${'waited\n'.repeat(waits)}`);
        expect(r.stdout).toContain('KT-SECTION-OK');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('with TEST_DEV made already (mkfs: false) writes the config and waits for udevd, and neither unmounts nor makes TEST_DEV', async () => {
    for (const shell of SHELLS) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-setup-'));
      try {
        fs.writeFileSync(path.join(dir, 'udev'), 'starting\n');
        const section = { name: 'xfs', fstyp: 'xfs', mkfsOptions: '-b size=1024', mountOptions: '', env: { A: 'b' } };
        const script = renderSectionSetup({ section: 'xfs', localConfig: localConfigFor(section), fstyp: 'xfs', mkfsOptions: section.mkfsOptions, mkfs: false })
          .replaceAll('/run/kt', dir)
          .replace('sleep 0.1', `echo waited >> ${dir}/log; echo running > ${dir}/udev`);
        expect(script).not.toMatch(/mkfs|umount|\/proc\/self\/mounts/);
        // No program but the udev wait's sleep: every start costs 0.1-0.3 s of a TCG guest. check
        // makes RESULT_BASE itself.
        expect(script.replace(/\bsleep 0\.1\b/, '')).not.toMatch(/\b(mkdir|mount|cat|stat|sleep|touch)\b/);
        const r = await inShell(shell, script);
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stdout).toContain('KT-SECTION-OK');
        expect(fs.readFileSync(path.join(dir, 'log'), 'utf8')).toBe('waited\n');
        expect(fs.readFileSync(path.join(dir, 'xfs.config'), 'utf8')).toBe(localConfigFor(section).replaceAll('/run/kt', dir));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('writes a suite value that contains the old heredoc terminator and shell code as plain data', async () => {
    const evil = 'x\nKT_LOCAL_CONFIG_EOF\ntouch PWNED\n$(touch PWNED2)`touch PWNED3`';
    for (const shell of SHELLS) {
      const out = await runSetup({ EVIL: evil.replaceAll('PWNED', '/tmp/should-not-exist-pwned') }, '', shell);
      expect(out.r.exitCode, out.r.stderr).toBe(0);
      expect(out.r.stdout).toContain('KT-SECTION-OK');
      expect(out.evil).toBe(evil.replaceAll('PWNED', '/tmp/should-not-exist-pwned'));
      expect(fs.existsSync('/tmp/should-not-exist-pwned')).toBe(false);
    }
  });

  it('splits MKFS_OPTIONS into words like fstests does, without running anything in them', async () => {
    for (const shell of SHELLS) {
      const out = await runSetup({}, '-m reflink=1 -b size=1024 $(touch /tmp/kt-mkfs-pwned) *', shell);
      expect(out.r.exitCode, out.r.stderr).toBe(0);
      expect(out.args).toEqual(['-f', '-q', '-m', 'reflink=1', '-b', 'size=1024', '$(touch', '/tmp/kt-mkfs-pwned)', '*', '/dev/disk/by-id/virtio-test']);
      expect(fs.existsSync('/tmp/kt-mkfs-pwned')).toBe(false);
      // No options: mkfs gets none, not an empty word.
      expect((await runSetup({}, '', shell)).args).toEqual(['-f', '-q', '/dev/disk/by-id/virtio-test']);
    }
  });
});

describe('renderGuestSetup', () => {
  /** The set-up on a stand-in tree whose ltp/fsstress prints `said` and exits 1; the host's /proc, /mnt and /run untouched. */
  async function preflight(shell: (typeof SHELLS)[number], said: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-guest-setup-'));
    try {
      fs.mkdirSync(path.join(dir, 'tree', 'ltp'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'tree', 'ltp', 'fsstress'), `#!/bin/sh\nprintf '%s\\n' ${JSON.stringify(said)}\nexit 1\n`, { mode: 0o755 });
      const script = renderGuestSetup()
        .replace('echo 7 > /proc/sys/kernel/printk', ':')
        .replaceAll('/var/lib/xfstests', path.join(dir, 'tree'))
        .replaceAll('/mnt/', `${dir}/mnt/`)
        .replaceAll('/run/kt', path.join(dir, 'run'))
        .replaceAll('/dev/disk/by-id/virtio-fstests', path.join(dir, 'no-such-disk'));
      return await inShell(shell, script);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it('says why the tree cannot run, its words as they are (backslashes too), and exits 43', async () => {
    for (const shell of SHELLS) {
      const r = await preflight(shell, 'exec: No such file or directory: \\c ld.so\\n');
      expect(r.exitCode, shell.join(' ')).toBe(43);
      expect(r.stdout, shell.join(' ')).toBe('KT-PREFLIGHT: ltp/fsstress cannot run in the guest (its ELF interpreter or a library it needs is missing, or it was built for another machine): exec: No such file or directory: \\c ld.so\\n');
    }
  });

  it('passes a tree whose fsstress starts', async () => {
    for (const shell of SHELLS) {
      const r = await preflight(shell, 'Usage: fsstress [-c] ...');
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe('KT-SETUP-OK');
    }
  });
});

describe('renderFetchArtifacts', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = (what: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kt-fetch-${what}-`));
    made.push(dir);
    return dir;
  };
  /** A results dir as check leaves it: <dir>/generic/001.<ext>. */
  const resultDir = (files: Record<string, Buffer>) => {
    const dir = tempDir('results');
    fs.mkdirSync(path.join(dir, 'generic'));
    for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'generic', name), data);
    return dir;
  };
  const fetch = async (shell: (typeof SHELLS)[number], dir: string) => {
    const r = await execa(shell[0], [...shell.slice(1), renderFetchArtifacts('generic/001', dir)], { encoding: 'buffer', reject: false, stripFinalNewline: false });
    expect(r.exitCode).toBe(0);
    return parseFetchedArtifacts(Buffer.from(r.stdout));
  };
  /** The script in dash with a `stat` that, once it has printed the sizes, runs `after` in the results dir. */
  const fetchWithStatThen = (dir: string, after: string) => {
    const bin = tempDir('bin');
    fs.writeFileSync(path.join(bin, 'stat'), `#!/bin/sh\n/usr/bin/stat "$@" && cd ${JSON.stringify(dir)}/generic && ${after}\n`, { mode: 0o755 });
    return execa('dash', ['-c', renderFetchArtifacts('generic/001', dir)], {
      encoding: 'buffer', reject: false, stripFinalNewline: false, env: { PATH: `${bin}:${process.env.PATH}` },
    });
  };
  // Any bytes: NULs, invalid UTF-8, lines that look like the protocol's own.
  const odd = Buffer.from('line\n@@KT-FILE dmesg 3\n@@KT-BODY\n\x00\xff no newline at the end', 'latin1');
  /** A file over the cap, so the copy takes its per-file path. */
  const big = () => {
    const b = Buffer.alloc(ARTIFACT_TAIL_BYTES + 1000);
    for (let i = 0; i < b.length; i++) b[i] = (i * 7) % 251;
    return b;
  };

  for (const shell of SHELLS) {
    it(`copies every existing file byte for byte, in ${shell[0]}`, async () => {
      const dir = resultDir({ '001.full': odd, '001.notrun': Buffer.from('Always skip me\n'), '001.out.bad': Buffer.alloc(0), '002.dmesg': Buffer.from('another test') });
      const files = await fetch(shell, dir);
      // .full last: a process the test left behind may still append to it (ARTIFACT_EXTENSIONS).
      expect([...files.keys()]).toEqual(['out.bad', 'notrun', 'full']);
      expect(files.get('full')).toEqual({ size: odd.length, tail: odd });
      expect(files.get('notrun')!.tail.toString()).toBe('Always skip me\n');
      expect(files.get('out.bad')).toEqual({ size: 0, tail: Buffer.alloc(0) });
    });

    it(`keeps the last ${ARTIFACT_TAIL_BYTES} bytes of a file over the cap, and each file after it from where its own body starts, in ${shell[0]}`, async () => {
      const dmesg = big();
      const dir = resultDir({ '001.dmesg': dmesg, '001.out.bad': Buffer.from('bad\n'), '001.full': odd });
      const files = await fetch(shell, dir);
      expect(files.get('dmesg')).toEqual({ size: dmesg.length, tail: dmesg.subarray(1000) });
      expect(files.get('out.bad')!.tail.toString()).toBe('bad\n');
      expect(files.get('full')).toEqual({ size: odd.length, tail: odd });
    });
  }

  it('copies .full last, so what a leftover process appends to it after the sizes were taken trails the copy', async () => {
    const dir = resultDir({ '001.full': Buffer.from('full so far\n'), '001.dmesg': Buffer.from('dmesg\n'), '001.out.bad': Buffer.from('bad\n') });
    const r = await fetchWithStatThen(dir, 'echo appended >> 001.full');
    expect(r.exitCode).toBe(0);
    const files = parseFetchedArtifacts(Buffer.from(r.stdout));
    expect(Object.fromEntries([...files].map(([ext, f]) => [ext, f.tail.toString()]))).toEqual({ dmesg: 'dmesg\n', 'out.bad': 'bad\n', full: 'full so far\n' });
  });

  it('copies a file over the cap from the offset its size gave, so what is appended to it later still only trails', async () => {
    const full = big();
    const dir = resultDir({ '001.dmesg': Buffer.from('dmesg\n'), '001.full': full });
    const r = await fetchWithStatThen(dir, 'echo appended >> 001.full');
    expect(r.exitCode).toBe(0);
    const files = parseFetchedArtifacts(Buffer.from(r.stdout));
    expect(files.get('dmesg')!.tail.toString()).toBe('dmesg\n');
    expect(files.get('full')!.size).toBe(full.length);
    expect(files.get('full')!.tail.equals(full.subarray(1000))).toBe(true);
  });

  for (const [copy, files] of [
    ['one cat', () => ({ '001.full': Buffer.from('full\n'), '001.dmesg': Buffer.from('dmesg\n') })],
    ['per-file copy, the file gone under the cap', () => ({ '001.full': big(), '001.dmesg': Buffer.from('dmesg\n') })],
    ['per-file copy, the file gone over it', () => ({ '001.full': Buffer.from('full\n'), '001.dmesg': big() })],
  ] as const) {
    it(`fails when a file is gone between the sizes and the copy (${copy}), so the caller keeps nothing misaligned`, async () => {
      expect((await fetchWithStatThen(resultDir(files()), 'rm 001.dmesg')).exitCode).not.toBe(0);
    });
  }

  it('copies a symlinked result file at the size of its target', async () => {
    const dir = resultDir({ target: Buffer.from('the target, longer than its link name\n') });
    fs.symlinkSync('target', path.join(dir, 'generic', '001.full'));
    const files = await fetch(SHELLS[0], dir);
    expect(files.get('full')!.tail.toString()).toBe('the target, longer than its link name\n');
  });

  it('prints nothing when the test left no files or the results dir does not exist', async () => {
    const dir = resultDir({ '002.full': Buffer.from('x') });
    expect((await fetch(SHELLS[0], dir)).size).toBe(0);
    expect((await fetch(SHELLS[0], path.join(dir, 'absent'))).size).toBe(0);
  });
});

describe('parseFetchedArtifacts', () => {
  it('keeps only whole bodies when the output is cut short (the VM lost mid-copy)', () => {
    const out = Buffer.from('@@KT-FILE full 4\n@@KT-FILE dmesg 10\n@@KT-BODY\nabcdpartial');
    const files = parseFetchedArtifacts(out);
    expect([...files.keys()]).toEqual(['full']);
    expect(files.get('full')!.tail.toString()).toBe('abcd');
  });

  it('reads nothing from output without the body line', () => {
    expect(parseFetchedArtifacts(Buffer.from('@@KT-FILE full 4\n')).size).toBe(0);
    expect(parseFetchedArtifacts(Buffer.from('')).size).toBe(0);
  });
});
