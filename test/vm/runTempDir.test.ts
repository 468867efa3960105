import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makerTag } from '../../src/vm/leftovers.js';
import { adoptKeptDisks, leftoverRunTempDirs, makeRunTempDir, OWNER_FILE, ownerText, pidNamespace, removeLeftoverRunTempDirs } from '../../src/vm/runTempDir.js';

let tmp: string | undefined;
afterEach(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** A directory standing in for /tmp, with a run temp dir per owner ('' = no owner file). */
function fakeTmp(dirs: Record<string, string | undefined>): string {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-test-tmpdir-'));
  for (const [name, owner] of Object.entries(dirs)) {
    fs.mkdirSync(path.join(tmp, name, 'vm1'), { recursive: true, mode: 0o700 });
    fs.chmodSync(path.join(tmp, name), 0o700);
    fs.writeFileSync(path.join(tmp, name, 'vm1', 'test.img'), 'disk');
    if (owner !== undefined) fs.writeFileSync(path.join(tmp, name, OWNER_FILE), ownerText(owner, pidNamespace()));
  }
  return tmp;
}

describe('leftoverRunTempDirs', () => {
  it('names only kt-XXXXXX directories whose owner on this host is gone', () => {
    const gone = spawnSync('true').pid!;
    const ns = 'pid:[4026531836]';
    const entries = [
      { name: 'kt-Ab12Cd', owner: ownerText(makerTag(gone, 'here'), ns) },
      { name: 'kt-Ef34Gh', owner: ownerText(makerTag(process.pid, 'here'), ns) },
      { name: 'kt-Ij56Kl', owner: ownerText(makerTag(gone, 'elsewhere'), ns) },
      // A container with this host's name and /tmp: its pids mean nothing here.
      { name: 'kt-Uv12Wx', owner: ownerText(makerTag(gone, 'here'), 'pid:[4026532999]') },
      { name: 'kt-Yz34Ab', owner: makerTag(gone, 'here') },
      { name: 'kt-Mn78Op' },
      { name: 'kt-e2e-results-Ab12Cd', owner: ownerText(makerTag(gone, 'here'), ns) },
      { name: 'kt-Qr90St', owner: 'not a maker' },
    ];
    expect(leftoverRunTempDirs(entries, { hostname: 'here', pidNs: ns })).toEqual(['kt-Ab12Cd']);
  });
});

describe('removeLeftoverRunTempDirs, then makeRunTempDir (as prepareRun, then a run)', () => {
  it("marks the new directory as this process's and removes one a dead kt left, nothing else", () => {
    const gone = spawnSync('true').pid!;
    const host = os.hostname();
    const dir = fakeTmp({
      'kt-Dead01': makerTag(gone, host),
      'kt-Live01': makerTag(process.pid, host),
      'kt-Kept01': undefined,
      'kt-probe-Dead02': makerTag(gone, host),
    });
    removeLeftoverRunTempDirs(dir);
    const made = makeRunTempDir({ keep: false, tmp: dir });
    expect(path.dirname(made)).toBe(dir);
    expect(path.basename(made)).toMatch(/^kt-[A-Za-z0-9]{6}$/);
    expect(fs.readFileSync(path.join(made, OWNER_FILE), 'utf8')).toBe(ownerText(makerTag(), pidNamespace()));
    expect(pidNamespace()).toMatch(/^pid:\[\d+\]$/);
    expect(fs.readdirSync(dir).sort()).toEqual([path.basename(made), 'kt-Kept01', 'kt-Live01', 'kt-probe-Dead02'].sort());
  });

  it('neither blocks on nor follows what another may have put in a shared temp dir', () => {
    const gone = spawnSync('true').pid!;
    const host = os.hostname();
    const dir = fakeTmp({});
    // Private directories of this user, as kt makes them: only what is inside them is wrong.
    const privateDir = (name: string) => {
      fs.mkdirSync(path.join(dir, name));
      fs.chmodSync(path.join(dir, name), 0o700);
    };
    // A FIFO as the owner file: a plain read would wait for a writer for ever.
    privateDir('kt-Fifo01');
    expect(spawnSync('mkfifo', [path.join(dir, 'kt-Fifo01', OWNER_FILE)]).status).toBe(0);
    // A link to another directory with a dead owner: followed, it would be removed.
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-test-elsewhere-'));
    try {
      fs.writeFileSync(path.join(elsewhere, OWNER_FILE), ownerText(makerTag(gone, host), pidNamespace()));
      fs.symlinkSync(elsewhere, path.join(dir, 'kt-Link01'));
      // A link as the owner file.
      privateDir('kt-Link02');
      fs.symlinkSync(path.join(elsewhere, OWNER_FILE), path.join(dir, 'kt-Link02', OWNER_FILE));
      removeLeftoverRunTempDirs(dir);
      const made = makeRunTempDir({ keep: false, tmp: dir });
      expect(fs.readdirSync(dir).sort()).toEqual([path.basename(made), 'kt-Fifo01', 'kt-Link01', 'kt-Link02'].sort());
      expect(fs.existsSync(path.join(elsewhere, OWNER_FILE))).toBe(true);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('removes nothing another user could have made or written into', () => {
    const gone = spawnSync('true').pid!;
    const dir = fakeTmp({ 'kt-Open01': makerTag(gone, os.hostname()) });
    // A dead owner, but a directory others may write into: not one kt made.
    fs.chmodSync(path.join(dir, 'kt-Open01'), 0o777);
    removeLeftoverRunTempDirs(dir);
    makeRunTempDir({ keep: false, tmp: dir });
    expect(fs.existsSync(path.join(dir, 'kt-Open01', 'vm1', 'test.img'))).toBe(true);
  });

  it("makes the disks of a dead kt that a kt shell --disks boots a kept directory, and leaves --keep ones and a live kt's as they are", () => {
    const gone = spawnSync('true').pid!;
    const dir = fakeTmp({ 'kt-Shell1': makerTag(gone, os.hostname()), 'kt-Kept01': undefined, 'kt-Live01': makerTag(process.pid, os.hostname()) });
    // Through a link, as a user may name it.
    fs.symlinkSync(path.join(dir, 'kt-Shell1'), path.join(dir, 'link'));
    adoptKeptDisks(path.join(dir, 'link', 'vm1'));
    adoptKeptDisks(path.join(dir, 'kt-Kept01', 'vm1'));
    // A running kt's: it removes its own directory at its end, whatever a shell did.
    adoptKeptDisks(path.join(dir, 'kt-Live01', 'vm1'));
    removeLeftoverRunTempDirs(dir);
    makeRunTempDir({ keep: false, tmp: dir });
    expect(fs.existsSync(path.join(dir, 'kt-Shell1', 'vm1', 'test.img'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'kt-Shell1', OWNER_FILE))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'kt-Kept01', 'vm1', 'test.img'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'kt-Live01', OWNER_FILE))).toBe(true);
  });

  it('where it cannot make its directory, fails with E_TMP_WRITE naming the place', () => {
    const dir = fakeTmp({});
    const notADir = path.join(dir, 'file');
    fs.writeFileSync(notADir, '');
    expect(() => makeRunTempDir({ keep: false, tmp: notADir })).toThrow(expect.objectContaining({ code: 'E_TMP_WRITE', message: expect.stringContaining(notADir), hint: expect.stringContaining('TMPDIR') }));
  });

  // A small tmpfs of its own: needs root, as CI runs it.
  it.skipIf(process.getuid?.() !== 0)('on a temp dir filled by a dead kt, removes that first and succeeds; full for good, fails and leaves nothing', (ctx) => {
    const gone = spawnSync('true').pid!;
    const dir = fakeTmp({});
    // Root without CAP_SYS_ADMIN (some containers) cannot mount: nothing to test there.
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]).status !== 0) ctx.skip();
    try {
      const dead = path.join(dir, 'kt-Full01');
      fs.mkdirSync(dead, { mode: 0o700 });
      fs.writeFileSync(path.join(dead, OWNER_FILE), ownerText(makerTag(gone, os.hostname()), pidNamespace()));
      const fill = (file: string) => {
        const fd = fs.openSync(file, 'w');
        try {
          for (;;) fs.writeSync(fd, Buffer.alloc(64 * 1024));
        } catch (err) {
          expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
        } finally {
          fs.closeSync(fd);
        }
      };
      fill(path.join(dead, 'test.img'));
      removeLeftoverRunTempDirs(dir);
      const made = makeRunTempDir({ keep: false, tmp: dir });
      expect(fs.readdirSync(dir)).toEqual([path.basename(made)]);

      fs.rmSync(made, { recursive: true });
      fill(path.join(dir, 'someone-elses'));
      expect(() => makeRunTempDir({ keep: false, tmp: dir })).toThrow(expect.objectContaining({ code: 'E_TMP_WRITE' }));
      expect(fs.readdirSync(dir)).toEqual(['someone-elses']);
    } finally {
      spawnSync('umount', [dir]);
    }
  });

  it('leaves a --keep directory unmarked, so no later kt removes it', () => {
    const dir = fakeTmp({});
    const made = makeRunTempDir({ keep: true, tmp: dir });
    expect(fs.existsSync(path.join(made, OWNER_FILE))).toBe(false);
  });
});
