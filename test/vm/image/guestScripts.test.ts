// The guest scripts are the other half of the host's contract (src/vm/qemuArgs.ts,
// src/vm/qemuMachine.ts): these checks keep the strings both sides match on from drifting.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUEST_DIR, GUEST_FILE_NAMES, loadGuestFiles } from '../../../src/vm/image/guestFiles.js';

describe('guest scripts', () => {
  it('all exist and parse as shell scripts', async () => {
    const files = await loadGuestFiles();
    expect(Object.keys(files).sort()).toEqual([...GUEST_FILE_NAMES].sort());
    execFileSync('bash', ['-n', path.join(GUEST_DIR, 'kt-init')]);
    for (const sh of ['init', 'mmdebstrap/essential-hook.sh', 'mmdebstrap/customize-hook.sh', 'mmdebstrap/finish-tree.sh']) {
      execFileSync('sh', ['-n', path.join(GUEST_DIR, sh)]);
    }
  });

  it('print the exact lines the host waits for', async () => {
    const files = await loadGuestFiles();
    expect(files.init).toContain('echo KT-PROBE-OK');
    expect(files.init).toContain('kt.probe=1)');
    expect(files['kt-init']).toContain(`echo 'kt-init: ready' >/dev/console`);
  });

  it('read the cmdline parameters the host writes', async () => {
    const files = await loadGuestFiles();
    for (const param of ['kt.hostname=*)', 'kt.sshkey=*)', 'kt.hung_task_timeout=*)', 'kt.panic_on_oops=1)']) {
      expect(files['kt-init']).toContain(param);
    }
    expect(files.init).toContain('= kt-root');
    expect(files['kt-init']).toContain('= kt.ssh');
  });
});
