// The guest scripts are the other half of the host's contract (src/vm/qemuArgs.ts,
// src/vm/qemuMachine.ts): these checks keep the strings both sides match on from drifting.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOOT_STAMPS_PREFIX, parseBootStamps, parseReleaseLine, PREPARED_LINE, RELEASE_PREFIX } from '../../../src/vm/bootPhases.js';
import { GUEST_DIR, GUEST_FILE_NAMES, loadGuestFiles } from '../../../src/vm/image/guestFiles.js';

describe('guest scripts', () => {
  it('all exist and parse as shell scripts', async () => {
    const files = await loadGuestFiles();
    expect(Object.keys(files).sort()).toEqual([...GUEST_FILE_NAMES].sort());
    // kt-init and kt-sshd run in the image's static busybox ash (their #! line), the host's
    // busybox-static (scripts/install-host-deps) parses them the same way.
    for (const script of ['kt-init', 'kt-sshd'] as const) {
      expect(files[script].split('\n')[0]).toBe('#!/usr/bin/busybox sh');
      execFileSync('busybox', ['sh', '-n', path.join(GUEST_DIR, script)]);
    }
    for (const sh of ['init', 'mmdebstrap/essential-hook.sh', 'mmdebstrap/customize-hook.sh', 'mmdebstrap/finish-tree.sh']) {
      execFileSync('sh', ['-n', path.join(GUEST_DIR, sh)]);
    }
  });

  it('print the exact lines the host waits for', async () => {
    const files = await loadGuestFiles();
    expect(files.init).toContain('echo KT-PROBE-OK');
    expect(files.init).toContain('kt.probe=1)');
    expect(files['kt-init']).toContain(`echo 'kt-init: ready' >/dev/console`);
    // The boot breakdown and the kernel release come from these two lines (src/vm/bootPhases.ts).
    expect(files['kt-init']).toContain(`log "${BOOT_STAMPS_PREFIX.slice('kt-init: '.length)}$stamps"`);
    expect(files['kt-init']).toContain(`log "${RELEASE_PREFIX.slice('kt-init: '.length)}$release"`);
    // The host skips its set-up command on this line (src/runner/guestSetup.ts).
    expect(files['kt-init']).toContain(`[ -n "$prepared" ] && log ${PREPARED_LINE.slice('kt-init: '.length)}\n`);
  });

  it('write boot stamps the host parses, guest/init\'s first', async () => {
    // Run the stamp lines of both scripts in a real busybox ash with a fake /proc/uptime.
    const files = await loadGuestFiles();
    const initLine = /^echo "(init=.*)" >\/newroot\/run\/kt\/boot-stamps$/m.exec(files.init)?.[1];
    expect(initLine).toBeDefined();
    const stampFn = /^stamp\(\) \{\n(?:.*\n)*?\}$/m.exec(files['kt-init'])?.[0];
    expect(stampFn).toBeDefined();
    const script = [
      `kt_t_init=1.50 kt_t_modules=1.90 kt_t_root=2.05 kt_t_sshd=2.20 kt_t_early=2.40`,
      `stamps="${initLine!}"`,
      stampFn!.replaceAll('/proc/uptime', '"$UPTIME"'),
      'stamp kt-init',
      'stamp ready',
      'echo "kt-init: boot-stamps $stamps"',
    ].join('\n');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-stamps-'));
    try {
      fs.writeFileSync(path.join(dir, 'uptime'), '2.75 1.00\n');
      const out = execFileSync('busybox', ['sh', '-c', script], { env: { UPTIME: path.join(dir, 'uptime') }, encoding: 'utf8' });
      expect(parseBootStamps(out.trim())).toEqual([
        { name: 'init', uptime: 1.5 },
        { name: 'initramfs-modules', uptime: 1.9 },
        { name: 'root-mount', uptime: 2.05 },
        { name: 'sshd-start', uptime: 2.2 },
        { name: 'early-setup', uptime: 2.4 },
        { name: 'kt-init', uptime: 2.75 },
        { name: 'ready', uptime: 2.75 },
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(parseReleaseLine('kt-init: release 6.1.0-57-cloud-amd64')).toBe('6.1.0-57-cloud-amd64');
  });

  it('read the cmdline parameters the host writes', async () => {
    const files = await loadGuestFiles();
    for (const param of ['kt.hostname=*)', 'kt.hung_task_timeout=*)', 'kt.panic_on_oops=1)', 'kt.modules=*)']) {
      expect(files['kt-init']).toContain(param);
    }
    expect(files.init).toContain('= kt-root');
    expect(files['kt-sshd']).toContain('kt.sshkey=*)');
    expect(files['kt-sshd']).toContain('= kt.ssh');
  });

  it('start the command channel from the initramfs, with kt-init as the fallback', async () => {
    const files = await loadGuestFiles();
    // The image installs kt-sshd where guest/init runs it, chrooted into the root.
    expect(files['mmdebstrap/customize-hook.sh']).toContain('install -m 0755 "$files/kt-sshd" "$root/sbin/kt-sshd"');
    expect(files.init).toContain('chroot /newroot /sbin/kt-sshd');
    // kt-sshd says it found the port through the file kt-init reads; kt-init runs it without one.
    expect(files['kt-sshd']).toContain('echo "$port" >/run/kt/ssh-port');
    expect(files['kt-init']).toContain('[ -r /run/kt/ssh-port ] || /sbin/kt-sshd');
    // sshd starts inside the root system: /dev, /proc and /sys are moved there first.
    const init = files.init;
    expect(init.indexOf('mount --move /dev /newroot/dev')).toBeLessThan(init.indexOf('chroot /newroot /sbin/kt-sshd'));
  });
});
