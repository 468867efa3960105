/**
 * A kt killed with SIGKILL runs no exit handler; the parent-death signal still takes its VMs
 * down (src/vm/parentDeath.ts). A real child kt process (the build `npm test` makes first, dist/)
 * starts a process through the real launchQemu and is then SIGKILLed.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { findSetpriv, killedWithKt, takesPdeathsig } from '../../src/vm/parentDeath.js';

const LAUNCH = fileURLToPath(new URL('../../dist/vm/launch.js', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `pid` is gone or `ms` passed (an outcome, not a timing assertion). */
async function gone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

let leftover: number | undefined;
afterEach(() => {
  if (leftover !== undefined && alive(leftover)) process.kill(leftover, 'SIGKILL');
  leftover = undefined;
});

describe('killedWithKt', () => {
  it('runs the program through setpriv --pdeathsig SIGKILL, or unchanged without setpriv', () => {
    expect(killedWithKt('qemu-system-x86_64', ['-S'], '/usr/bin/setpriv')).toEqual({
      file: '/usr/bin/setpriv',
      args: ['--pdeathsig', 'SIGKILL', '--', 'qemu-system-x86_64', '-S'],
    });
    expect(killedWithKt('qemu-system-x86_64', ['-S'], null)).toEqual({ file: 'qemu-system-x86_64', args: ['-S'] });
  });

  it('finds this host\'s setpriv (util-linux, which .ci/run relies on)', () => {
    expect(findSetpriv()).toMatch(/\/setpriv$/);
  });

  it('takes a setpriv only when it runs a program with --pdeathsig (not util-linux < 2.33, not busybox\'s)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-setpriv-'));
    try {
      // What an old setpriv says: "setpriv: unrecognized option '--pdeathsig'", exit 1.
      const old = path.join(dir, 'setpriv');
      fs.writeFileSync(old, '#!/bin/sh\necho "setpriv: unrecognized option \'--pdeathsig\'" >&2\nexit 1\n', { mode: 0o755 });
      expect(takesPdeathsig(old)).toBe(false);
      expect(takesPdeathsig(findSetpriv() ?? '/nonexistent')).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a process kt launched dies with a SIGKILLed kt', async () => {
    const script = `
      const { launchQemu } = await import(${JSON.stringify(LAUNCH)});
      const q = launchQemu(['sleep', '600'], { cwd: '/' });
      console.log(q.pid);
      setInterval(() => {}, 1000);
    `;
    const child = execa('node', ['--input-type=module', '-e', script], { reject: false, stdout: 'pipe' });
    const pid = await new Promise<number>((resolve, reject) => {
      child.stdout?.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
      void child.then((r) => reject(new Error(`child ended first: ${String(r.stderr)}`)));
    });
    leftover = pid;
    expect(alive(pid)).toBe(true);
    // The launched program is the real one, not a wrapper left running beside it.
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0]).toBe('sleep');
    child.kill('SIGKILL');
    await child;
    expect(await gone(pid, 30_000)).toBe(true);
  });
});
