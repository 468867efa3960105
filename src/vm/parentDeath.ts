/**
 * The last line of defence against a VM outliving kt. kt stops every QEMU and virtiofsd it
 * started on every exit path it sees (src/vm/processRegistry.ts), but a kt killed by SIGKILL or
 * the OOM killer runs no code: its QEMUs, each in its own process group and deaf to its stdin's
 * EOF, would run on with their guests. So kt starts them through util-linux's `setpriv
 * --pdeathsig SIGKILL`, which sets PR_SET_PDEATHSIG (prctl(2)) and then execs the program under
 * the same pid: the kernel kills it when kt's thread that started it exits. The setting survives
 * the exec (it is cleared only for set-user-ID programs, which QEMU and virtiofsd are not).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

let setpriv: string | null | undefined;

/**
 * setpriv on PATH that takes --pdeathsig (util-linux 2.33 or later; older ones, and busybox's
 * applet, refuse the option, and a launch through them would fail every VM), or null. Asked once
 * per process, by running it: `setpriv --pdeathsig SIGKILL -- true`.
 */
export function findSetpriv(env: NodeJS.ProcessEnv = process.env): string | null {
  if (setpriv !== undefined) return setpriv;
  setpriv = null;
  for (const dir of (env.PATH ?? '').split(':').filter(Boolean)) {
    const candidate = path.join(dir, 'setpriv');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
    } catch {
      continue;
    }
    if (takesPdeathsig(candidate)) setpriv = candidate;
    break;
  }
  return setpriv;
}

/** Whether this setpriv runs a program with --pdeathsig. */
export function takesPdeathsig(candidate: string): boolean {
  const r = spawnSync(candidate, ['--pdeathsig', 'SIGKILL', '--', 'true'], { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

/**
 * `file args` started so that the kernel SIGKILLs it when kt dies; unchanged without a setpriv
 * that takes --pdeathsig (such a host keeps the old behaviour, not a failure). The setting is
 * cleared when the effective uid changes (prctl(2)): a command that changes its credentials
 * (nsenter --setuid) must run setpriv after the change, not before.
 */
export function killedWithKt(file: string, args: readonly string[], setprivPath: string | null = findSetpriv()): { file: string; args: string[] } {
  if (!setprivPath) return { file, args: [...args] };
  return { file: setprivPath, args: ['--pdeathsig', 'SIGKILL', '--', file, ...args] };
}
