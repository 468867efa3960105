import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { directRunner, idMapArgs, nsenterArgs, pathWithSbin, statusShowsRoot } from '../../../src/vm/image/toolRunner.js';

describe('idMapArgs', () => {
  it('maps the subordinate range from 0 and the user\'s own id right after it', () => {
    expect(idMapArgs(4242, { start: 165536, count: 65536 }, 1002)).toEqual(['4242', '0', '165536', '65536', '65536', '1002', '1']);
  });
});

describe('nsenterArgs', () => {
  it('enters only the user namespace, as uid and gid 0', () => {
    expect(nsenterArgs(4242)).toEqual(['--user', '--target=4242', '--setuid=0', '--setgid=0']);
  });
});

describe('pathWithSbin', () => {
  it('appends the sbin directories a normal user\'s PATH lacks, once', () => {
    expect(pathWithSbin('/usr/local/bin:/usr/bin:/bin:/sbin')).toBe('/usr/local/bin:/usr/bin:/bin:/sbin:/usr/local/sbin:/usr/sbin');
    expect(pathWithSbin(undefined)).toBe('/usr/local/sbin:/usr/sbin:/sbin');
  });
});

// /proc/self/status lines of `cat` entered with nsenter into a build namespace on Debian 12
// (kernel 6.x), trimmed to the fields that matter.
const ROOT_STATUS = 'Name:\tcat\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n';

describe('statusShowsRoot', () => {
  it('accepts uid 0 with capabilities', () => {
    expect(statusShowsRoot(ROOT_STATUS)).toBe(true);
  });

  it('rejects uid 0 without capabilities (AppArmor\'s userns restriction) and a non-root uid', () => {
    expect(statusShowsRoot(ROOT_STATUS.replace(/CapEff:.*/, 'CapEff:\t0000000000000000'))).toBe(false);
    expect(statusShowsRoot(ROOT_STATUS.replace('Uid:\t0\t0', 'Uid:\t1002\t1002'))).toBe(false);
  });

  it('accepts this process\'s own status only when it runs as root', () => {
    const own = fs.readFileSync('/proc/self/status', 'utf8');
    expect(statusShowsRoot(own)).toBe(process.getuid?.() === 0);
  });
});

describe('directRunner', () => {
  it('runs the command itself and returns its output', async () => {
    const r = directRunner({ PATH: '/usr/bin:/bin' });
    expect(r.command('mke2fs', ['-q'])).toEqual({ file: 'mke2fs', args: ['-q'] });
    expect(await r.output('printf', ['%s\\n', 'a b'])).toBe('a b\n');
    await expect(r.output('false', [])).rejects.toThrow('false failed (exit 1)');
  });
});
