import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makerTag } from '../../src/vm/leftovers.js';
import { leftoverRunTempDirs, makeRunTempDir, OWNER_FILE } from '../../src/vm/runTempDir.js';

let tmp: string | undefined;
afterEach(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** A directory standing in for /tmp, with a run temp dir per owner ('' = no owner file). */
function fakeTmp(dirs: Record<string, string | undefined>): string {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-test-tmpdir-'));
  for (const [name, owner] of Object.entries(dirs)) {
    fs.mkdirSync(path.join(tmp, name, 'vm1'), { recursive: true });
    fs.writeFileSync(path.join(tmp, name, 'vm1', 'test.img'), 'disk');
    if (owner !== undefined) fs.writeFileSync(path.join(tmp, name, OWNER_FILE), `${owner}\n`);
  }
  return tmp;
}

describe('leftoverRunTempDirs', () => {
  it('names only kt-XXXXXX directories whose owner on this host is gone', () => {
    const gone = spawnSync('true').pid!;
    const entries = [
      { name: 'kt-Ab12Cd', owner: makerTag(gone, 'here') },
      { name: 'kt-Ef34Gh', owner: makerTag(process.pid, 'here') },
      { name: 'kt-Ij56Kl', owner: makerTag(gone, 'elsewhere') },
      { name: 'kt-Mn78Op' },
      { name: 'kt-e2e-results-Ab12Cd', owner: makerTag(gone, 'here') },
      { name: 'kt-Qr90St', owner: 'not a maker' },
    ];
    expect(leftoverRunTempDirs(entries, undefined, 'here')).toEqual(['kt-Ab12Cd']);
  });
});

describe('makeRunTempDir', () => {
  it("marks the new directory as this process's and removes one a dead kt left, nothing else", () => {
    const gone = spawnSync('true').pid!;
    const host = os.hostname();
    const dir = fakeTmp({
      'kt-Dead01': makerTag(gone, host),
      'kt-Live01': makerTag(process.pid, host),
      'kt-Kept01': undefined,
      'kt-probe-Dead02': makerTag(gone, host),
    });
    const made = makeRunTempDir({ keep: false, tmp: dir });
    expect(path.dirname(made)).toBe(dir);
    expect(path.basename(made)).toMatch(/^kt-[A-Za-z0-9]{6}$/);
    expect(fs.readFileSync(path.join(made, OWNER_FILE), 'utf8')).toBe(`${makerTag()}\n`);
    expect(fs.readdirSync(dir).sort()).toEqual([path.basename(made), 'kt-Kept01', 'kt-Live01', 'kt-probe-Dead02'].sort());
  });

  it('leaves a --keep directory unmarked, so no later kt removes it', () => {
    const dir = fakeTmp({});
    const made = makeRunTempDir({ keep: true, tmp: dir });
    expect(fs.existsSync(path.join(made, OWNER_FILE))).toBe(false);
  });
});
