/**
 * `kt shell` end to end: the real binary, real TCG guests with the fixture fstests tree, and a
 * real pseudo-terminal — tmux's — for the interactive shell: keys typed into the pane, the
 * screen read back with capture-pane. Every wait polls with a generous deadline; nothing
 * depends on how fast this machine is. One VM at a time.
 */
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shellJoin } from '../../src/util/shell.js';
import { KT, fixtureTree, ktEnv, readEvents, runKt } from './harness.js';

/** TCG on a loaded 2-core machine: a boot can take minutes. */
const DEADLINE_MS = 300_000;
/** tmux's own server for these tests, never the user's. */
const TMUX = ['-L', `kt-shell-e2e-${process.pid}`];

let tree: string;
let work: string;
beforeAll(async () => {
  tree = await fixtureTree();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-e2e-shell-'));
}, 120_000);
afterAll(async () => {
  await execa('tmux', [...TMUX, 'kill-server'], { reject: false });
  fs.rmSync(work, { recursive: true, force: true });
});

async function tmux(...args: string[]): Promise<string> {
  return (await execa('tmux', [...TMUX, ...args])).stdout;
}

/** The pane's whole history, wrapped lines joined (-J), so a line reads as it was printed. */
function screen(pane: string): Promise<string> {
  return tmux('capture-pane', '-p', '-J', '-S', '-5000', '-t', pane);
}

async function waitForScreen(pane: string, pattern: RegExp, what: string): Promise<RegExpMatchArray> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const text = await screen(pane);
    const m = pattern.exec(text);
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`no ${what} (${pattern}) within ${DEADLINE_MS / 1000} s; the pane shows:\n${text}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * `kt shell ARGS` as the only program of a fresh tmux pane (160x50); when kt exits the pane
 * prints its status and the terminal's settings, then stays.
 */
async function startShellInTmux(name: string, args: string[]): Promise<string> {
  const command = `${shellJoin(['node', KT, 'shell', '--accel', 'tcg', '--fstests', tree, '--results', path.join(work, 'results'), ...args])}; echo "KT-EXIT=$?"; stty -a; exec sleep 3600`;
  await tmux('new-session', '-d', '-s', name, '-x', '160', '-y', '50', '-c', work, '-e', 'NO_COLOR=1', command);
  return name;
}

const PROMPT = /root@kt-shell-[^:\s]+:\/var\/lib\/xfstests# $/m;

/** The VM's QEMU processes (kt names a VM kt-<id>-vmN, also its hostname). */
async function qemuOf(vmName: string): Promise<string[]> {
  const r = await execa('pgrep', ['-a', '-f', `qemu-system.*${vmName}`], { reject: false });
  return r.stdout.split('\n').filter(Boolean);
}

/** The per-VM temp dir kt made (/tmp/kt-XXXXXX), read from the running QEMU's disk paths. */
async function tempDirOf(vmName: string): Promise<string> {
  const [line] = await qemuOf(vmName);
  const m = /file=(\/\S*?)\/vm1\/test\.img/.exec(line ?? '');
  if (!m) throw new Error(`no QEMU of ${vmName} with a test.img: ${line}`);
  return m[1]!;
}

/** `stty -a` shows a setting on (`icanon`) or off (`-icanon`). */
function sttyHas(text: string, setting: string): boolean {
  const stty = text.slice(text.lastIndexOf('KT-EXIT='));
  return new RegExp(`(^|\\s)${setting}(\\s|$)`, 'm').test(stty);
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describe('kt shell on a terminal (tmux)', () => {
  it('gives a root shell in /var/lib/xfstests where Ctrl-C reaches the guest, and leaves nothing behind on exit', async () => {
    const pane = await startShellInTmux('interactive', []);
    await waitForScreen(pane, PROMPT, 'guest prompt');
    const text = await screen(pane);
    const vmName = /kt: booting (kt-shell-\S+-vm1)/.exec(text)![1]!;
    const release = /up in [\d.]+s: kernel (\S+),/.exec(text)![1]!;
    expect(text).toContain('kt: escape: Ctrl-] then q ends the session (the VM is powered off; its disks are deleted — use --keep to keep them)');
    const tempDir = await tempDirOf(vmName);
    expect(fs.existsSync(path.join(tempDir, 'vm1', 'test.img'))).toBe(true);

    await tmux('send-keys', '-t', pane, 'uname -r; ls /var/lib/xfstests/check; mountpoint /mnt/test || true', 'Enter');
    await waitForScreen(pane, /^\/mnt\/test is not a mountpoint$/m, 'mountpoint output');
    const after = await screen(pane);
    expect(after).toMatch(new RegExp(`^${release.replaceAll('.', '\\.')}$`, 'm'));
    expect(after).toMatch(/^\/var\/lib\/xfstests\/check$/m);

    // Ctrl-C goes to the guest's foreground command, not to kt: sleep dies of SIGINT (128+2)
    // long before its 100 s, and the shell is still there to say so.
    await tmux('send-keys', '-t', pane, "sh -c 'echo sleeping; exec sleep 100'", 'Enter');
    await waitForScreen(pane, /^sleeping$/m, 'the sleep to start');
    await tmux('send-keys', '-t', pane, 'C-c');
    await tmux('send-keys', '-t', pane, 'echo "rc=$?"', 'Enter');
    await waitForScreen(pane, /^rc=130$/m, 'the interrupted status');

    await tmux('send-keys', '-t', pane, 'exit', 'Enter');
    const exit = await waitForScreen(pane, /^KT-EXIT=(\d+)$/m, "kt's exit");
    const final = await screen(pane);
    expect(exit[1], final).toBe('0');
    expect(final).toContain(`kt: powering off ${vmName}`);
    expect(sttyHas(final, 'icanon')).toBe(true);
    expect(sttyHas(final, 'echo')).toBe(true);
    expect(sttyHas(final, 'isig')).toBe(true);
    expect(await qemuOf(vmName)).toEqual([]);
    expect(fs.existsSync(tempDir)).toBe(false);
    // A session without kernel reports keeps no console log.
    expect(fs.readdirSync(path.join(work, 'results')).filter((d) => d.startsWith('shell-'))).toEqual([]);
  });

  it('on a guest panic prints the crash title, exits 255 with the terminal restored and no QEMU left', async () => {
    const pane = await startShellInTmux('panic', []);
    await waitForScreen(pane, PROMPT, 'guest prompt');
    const vmName = /kt: booting (kt-shell-\S+-vm1)/.exec(await screen(pane))![1]!;
    const tempDir = await tempDirOf(vmName);
    // While the shell runs, the terminal is raw: no line editing, no signals from keys.
    const tty = await tmux('display-message', '-p', '-t', pane, '#{pane_tty}');
    const during = (await execa('stty', ['-a', '-F', tty])).stdout;
    expect(sttyHas(`KT-EXIT=\n${during}`, '-icanon')).toBe(true);
    expect(sttyHas(`KT-EXIT=\n${during}`, '-isig')).toBe(true);
    // What a full-screen program leaves on when the kernel dies under it: the cursor hidden,
    // application cursor keys and keypad (tmux tracks each per pane).
    await tmux('send-keys', '-t', pane, "printf '\\033[?25l\\033[?1h\\033='; echo c > /proc/sysrq-trigger", 'Enter');
    const exit = await waitForScreen(pane, /^KT-EXIT=(\d+)$/m, "kt's exit");
    const final = await screen(pane);
    expect(exit[1], final).toBe('255');
    expect(final).toContain('Kernel panic - not syncing: sysrq triggered crash');
    expect(final).toContain('kt: the kernel crashed: kernel panic: sysrq triggered crash');
    expect(sttyHas(final, 'icanon')).toBe(true);
    expect(sttyHas(final, 'echo')).toBe(true);
    expect(await tmux('display-message', '-p', '-t', pane, '#{cursor_flag} #{keypad_cursor_flag} #{keypad_flag}')).toBe('1 0 0');
    expect(await qemuOf(vmName)).toEqual([]);
    expect(fs.existsSync(tempDir)).toBe(false);
    const log = /kt: console log in (\S+)/.exec(final)![1]!;
    expect(fs.readFileSync(log, 'utf8')).toContain('sysrq triggered crash');
  });
});

/** Polls until `check` holds, with the same generous deadline. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${DEADLINE_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe('kt shell and signals', () => {
  it('SIGTERM powers the VM off and exits 143 with the terminal restored', async () => {
    const pane = await startShellInTmux('sigterm', []);
    await waitForScreen(pane, PROMPT, 'guest prompt');
    const vmName = /kt: booting (kt-shell-\S+-vm1)/.exec(await screen(pane))![1]!;
    const tempDir = await tempDirOf(vmName);
    const panePid = await tmux('display-message', '-p', '-t', pane, '#{pane_pid}');
    const ktPid = Number((await execa('pgrep', ['-P', panePid, 'node'])).stdout.trim());
    process.kill(ktPid, 'SIGTERM');
    const exit = await waitForScreen(pane, /^KT-EXIT=(\d+)$/m, "kt's exit");
    const final = await screen(pane);
    expect(exit[1], final).toBe('143');
    expect(final).toContain(`kt: powering off ${vmName}`);
    expect(sttyHas(final, 'icanon')).toBe(true);
    expect(await tmux('display-message', '-p', '-t', pane, '#{cursor_flag}')).toBe('1');
    expect(await qemuOf(vmName)).toEqual([]);
    expect(fs.existsSync(tempDir)).toBe(false);
  });

  it('SIGHUP (the terminal window closed) powers the VM off too: no QEMU, no temp dir left', async () => {
    const pane = await startShellInTmux('sighup', []);
    await waitForScreen(pane, PROMPT, 'guest prompt');
    const vmName = /kt: booting (kt-shell-\S+-vm1)/.exec(await screen(pane))![1]!;
    const tempDir = await tempDirOf(vmName);
    await tmux('kill-session', '-t', pane);
    await until(async () => (await qemuOf(vmName)).length === 0 && !fs.existsSync(tempDir), `QEMU of ${vmName} and ${tempDir} gone`);
  });
});

describe('kt shell -- CMD', () => {
  it('boots what a recorded test ran on (its kept disks, read-only) and exits with the status of CMD', async () => {
    const run = await runKt(['--keep', '--test-size', '1G', '--scratch-size', '1G', '--fstests', tree, 'generic/001']);
    expect(run.exitCode, run.stderr).toBe(0);
    const boot = readEvents(run.runDir).find((e) => e.type === 'machine-boot')!;
    const kept = /file=(\/\S*?\/vm1)\/test\.img/.exec((boot['argv'] as string[]).join(' '))![1]!;
    try {
      const before = await sha256(path.join(kept, 'test.img'));
      const r = await execa('node', [KT, 'shell', run.runDir, 'generic/001', '--', 'sh', '-c', './check generic/001 && exit 7'], {
        reject: false,
        env: ktEnv(),
        cwd: work,
        stdin: 'ignore',
      });
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(7);
      expect(r.stdout).toMatch(/^generic\/001 +\d+s$/m);
      expect(r.stdout).toContain('Passed all 1 tests');
      expect(r.stderr).toContain(`on the disks kept in ${kept} (read-only: the guest writes to a throw-away overlay)`);
      expect(r.stderr).toMatch(new RegExp(`generic/001 ran in section \\S+ on vm1 of ${run.runDir}; to run it again: \\./check generic/001`));
      // check wrote to TEST_DIR; the kept image is as the run left it.
      expect(await sha256(path.join(kept, 'test.img'))).toBe(before);
    } finally {
      fs.rmSync(path.dirname(kept), { recursive: true, force: true });
    }
  });

  it("gives device-mapper devices udev's /dev/mapper links, as fstests' dm tests (common/dmflakey, common/rc _short_dev) need", async () => {
    // dmsetup as common/rc _dmsetup_create runs it, then what _short_dev reads: /dev/mapper/<name>
    // must be udev's link to ../dm-N (guest/kt-init starts udevd after the boot).
    const script = 'dmsetup create kt-e2e --table "0 2048 zero" && udevadm wait --timeout 30 /dev/mapper/kt-e2e && readlink /dev/mapper/kt-e2e && blockdev --getsz /dev/mapper/kt-e2e && dmsetup remove kt-e2e && udevadm wait --removed --timeout 30 /dev/mapper/kt-e2e && test ! -e /dev/mapper/kt-e2e && echo DM-OK';
    const r = await execa('node', [KT, 'shell', '--accel', 'tcg', '--fstests', tree, '--results', path.join(work, 'results'), '--', 'sh', '-c', script], {
      reject: false,
      env: ktEnv(),
      cwd: work,
      stdin: 'ignore',
    });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^\.\.\/dm-\d+\r?\n2048\r?\nDM-OK\r?$/m);
  });

  it('--keep keeps the disks of a clean power-off, and --disks boots them again', async () => {
    const opts = { reject: false, env: ktEnv(), cwd: work, stdin: 'ignore' } as const;
    const common = ['shell', '--accel', 'tcg', '--fstests', tree, '--results', path.join(work, 'results'), '--test-size', '1G', '--scratch-size', '1G'];
    const first = await execa('node', [KT, ...common, '--keep', '--', 'sh', '-c', 'mount /dev/disk/by-id/virtio-test /mnt/test && echo written-in-kt-shell > /mnt/test/marker'], opts);
    expect(first.exitCode, first.stderr).toBe(0);
    const vmDir = /kt: kept the VM's disks in (\S+)/.exec(first.stderr)![1]!;
    try {
      const second = await execa('node', [KT, ...common, '--disks', vmDir, '--', 'sh', '-c', 'mount /dev/disk/by-id/virtio-test /mnt/test && cat /mnt/test/marker; exit 3'], opts);
      expect(second.exitCode, second.stderr).toBe(3);
      expect(second.stdout).toBe('written-in-kt-shell');
    } finally {
      fs.rmSync(path.dirname(vmDir), { recursive: true, force: true });
    }
  });
});
