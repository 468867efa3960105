import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { liveProcessGroups } from '../../../src/vm/processRegistry.js';
import type { VirtiofsShareSpec } from '../../../src/vm/virtiofs/argv.js';
import { findVirtiofsd } from '../../../src/vm/virtiofs/daemon.js';
import { isListening, startVirtiofsDaemons } from '../../../src/vm/virtiofs/launch.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-vfsd-launch-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('isListening', () => {
  // /proc/net/unix lines of a Linux 6.1 host: a listening socket (flags 00010000, state 01) and a connected one.
  const table = [
    'Num       RefCount Protocol Flags    Type St Inode Path',
    '0000000000000000: 00000002 00000000 00010000 0001 01 31337 /tmp/kt-a/vm1/virtiofs-kt-root.sock',
    '0000000000000000: 00000003 00000000 00000000 0001 03 31338 /tmp/kt-a/vm1/ssh.sock',
    '0000000000000000: 00000002 00000000 00010000 0001 01 31339 /tmp/kt a/vm1/virtiofs-data.sock',
  ].join('\n');
  it('finds a listening socket by path, also with spaces, and not a connected one', () => {
    expect(isListening(table, '/tmp/kt-a/vm1/virtiofs-kt-root.sock')).toBe(true);
    expect(isListening(table, '/tmp/kt a/vm1/virtiofs-data.sock')).toBe(true);
    expect(isListening(table, '/tmp/kt-a/vm1/ssh.sock')).toBe(false);
    expect(isListening(table, '/tmp/kt-a/vm1/other.sock')).toBe(false);
  });
});

const lookup = await findVirtiofsd(process.env);
const canRun = lookup.found !== undefined && process.geteuid?.() === 0;

async function pgrep(pattern: string): Promise<string> {
  const r = await execa('pgrep', ['-af', pattern], { reject: false });
  return String(r.stdout).trim();
}

describe.skipIf(!canRun)('startVirtiofsDaemons (the host\'s real virtiofsd, as root)', () => {
  const share = (tag: string, source: string): VirtiofsShareSpec => ({ tag, source, socket: path.join(tmp, `virtiofs-${tag}.sock`), readOnly: true, role: 'share', log: path.join(tmp, `virtiofsd-${tag}.log`) });

  it('starts one daemon per share in its own process group, waits until each listens, and stops them all', async () => {
    fs.mkdirSync(path.join(tmp, 'a'));
    fs.mkdirSync(path.join(tmp, 'b'));
    const shares = [share('a', path.join(tmp, 'a')), share('b', path.join(tmp, 'b'))];
    const d = await startVirtiofsDaemons(lookup.found!, shares, { cwd: tmp, timeoutMs: 30_000 });
    expect(d.pids).toHaveLength(2);
    const table = fs.readFileSync('/proc/net/unix', 'utf8');
    for (const s of shares) expect(isListening(table, s.socket)).toBe(true);
    for (const pid of d.pids) expect(liveProcessGroups()).toContain(pid);
    expect(await pgrep(tmp)).not.toBe('');
    await d.stop();
    await d.stop();
    expect(await pgrep(tmp)).toBe('');
    for (const pid of d.pids) expect(liveProcessGroups()).not.toContain(pid);
  }, 60_000);

  it('reports a daemon that exits before it listens with its own words, and leaves no process', async () => {
    const missing = share('gone', path.join(tmp, 'no-such-dir'));
    const err = await startVirtiofsDaemons(lookup.found!, [share('ok', tmp), missing], { cwd: tmp, timeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_VIRTIOFSD_FAILED' });
    expect((err as Error).message).toContain(`virtiofsd for gone (${path.join(tmp, 'no-such-dir')}) exited with status`);
    expect((err as Error).message).toContain('no-such-dir');
    expect(await pgrep(tmp)).toBe('');
    expect(liveProcessGroups()).toEqual([]);
  }, 60_000);
});
