/**
 * Starts one virtiofsd per share of a VM, before QEMU (QEMU connects to the daemon's socket as it
 * starts, and fails when nothing listens there). Each daemon runs in its own process group,
 * registered with src/vm/processRegistry.ts like QEMU, so every exit path of kt kills it; its
 * stderr goes to a log in the VM's private directory and is quoted when it fails.
 */
import { execa, type ResultPromise } from 'execa';
import fs from 'node:fs';
import { HostError, isKtError } from '../../errors.js';
import { resolveSharedCacheDir } from '../image/cacheDir.js';
import { openUsernsRunner, type ToolRunner } from '../image/toolRunner.js';
import type { UsernsPlan } from '../image/userns.js';
import { killedWithKt } from '../parentDeath.js';
import { registerProcessGroup, unregisterProcessGroup } from '../processRegistry.js';
import { renderVirtiofsdArgs, usernsInnerArgs, type VirtiofsShareSpec } from './argv.js';
import type { VirtiofsDaemon } from './daemon.js';

export interface RunningDaemons {
  readonly pids: number[];
  /** SIGTERM, then SIGKILL after graceMs, for every daemon's group; idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** Poll interval while waiting for a daemon's socket. */
const POLL_MS = 20;
/** The listening flag of /proc/net/unix (__SO_ACCEPTCON, include/linux/net.h). */
const SO_ACCEPTCON = 0x10000;

/**
 * True once `socket` is a listening unix socket: /proc/net/unix lists it with __SO_ACCEPTCON
 * (proc(5), /proc/net/unix). A test connect() would take the daemon's one connection, which
 * belongs to QEMU; a socket file alone may exist a moment before listen().
 */
export function isListening(procNetUnix: string, socket: string): boolean {
  for (const line of procNetUnix.split('\n')) {
    const f = line.trim().split(/\s+/);
    // Num RefCount Protocol Flags Type St Inode Path
    if (f.length >= 8 && f.slice(7).join(' ') === socket && (parseInt(f[3] ?? '0', 16) & SO_ACCEPTCON) !== 0) return true;
  }
  return false;
}

function listening(socket: string): boolean {
  try {
    return isListening(fs.readFileSync('/proc/net/unix', 'utf8'), socket);
  } catch {
    // No /proc: the socket file is the best sign there is.
    try {
      return fs.statSync(socket).isSocket();
    } catch {
      return false;
    }
  }
}

function logTail(file: string): string {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    return text ? text.split('\n').slice(-8).join('\n') : '(it printed nothing)';
  } catch {
    return '(no log)';
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: gone already.
  }
}

/**
 * Starts the daemons of `shares` in order and waits until each listens. On failure, none is left
 * running. With `userns` (kt is not root) the daemons run as root of a user namespace of the
 * user's subordinate ids, opened for this VM and closed with its daemons.
 */
export async function startVirtiofsDaemons(
  daemon: VirtiofsDaemon,
  shares: readonly VirtiofsShareSpec[],
  opts: { cwd: string; timeoutMs: number; signal?: AbortSignal; userns?: UsernsPlan },
): Promise<RunningDaemons> {
  const children: { pid: number; child: ResultPromise; exited: boolean }[] = [];
  let stopped: Promise<void> | undefined;
  let runner: ToolRunner | undefined;
  const stop = (graceMs = 2_000): Promise<void> => {
    stopped ??= Promise.all(
      children.map(async (c) => {
        killGroup(c.pid, 'SIGTERM');
        const timer = setTimeout(() => killGroup(c.pid, 'SIGKILL'), graceMs);
        await c.child.catch(() => undefined);
        clearTimeout(timer);
        // Helpers the daemon forked (its sandbox child) share its group.
        killGroup(c.pid, 'SIGKILL');
        unregisterProcessGroup(c.pid);
      }),
    ).then(() => runner?.close());
    return stopped;
  };
  const running: RunningDaemons = {
    get pids() {
      return children.map((c) => c.pid);
    },
    stop,
  };
  try {
    if (opts.userns) {
      runner = await openUsernsRunner(opts.userns, resolveSharedCacheDir(process.env)).catch((err: unknown) => {
        throw isKtError(err) ? new HostError('E_VIRTIOFS_USERNS', `virtiofsd without root: ${err.message}`, err.hint) : err;
      });
    }
    for (const share of shares) {
      const daemonArgv = renderVirtiofsdArgs(daemon, share);
      // Like QEMU, gone with kt even when kt is SIGKILLed (src/vm/parentDeath.ts). Without root,
      // setpriv runs inside the namespace, after nsenter --setuid: a change of uid clears the
      // parent-death signal (prctl(2)). Nothing in that chain forks, so kt stays the parent.
      const daemonCmd = runner && opts.userns ? { file: opts.userns.tools.unshare, args: usernsInnerArgs(daemonArgv) } : { file: daemonArgv[0]!, args: daemonArgv.slice(1) };
      const killed = killedWithKt(daemonCmd.file, daemonCmd.args);
      const { file, args } = runner && opts.userns ? runner.command(killed.file, killed.args) : killed;
      // As the user would run it, for messages.
      const direct = runner && opts.userns ? runner.command(daemonCmd.file, daemonCmd.args) : daemonCmd;
      const child = execa(file, args, {
        cwd: opts.cwd,
        // Own process group, like QEMU (src/vm/launch.ts): kt decides when it stops.
        detached: true,
        stdin: 'ignore',
        stdout: { file: share.log, append: true },
        stderr: { file: share.log, append: true },
        reject: false,
        cleanup: true,
        ...(runner ? { env: runner.env, extendEnv: false } : {}),
      });
      if (child.pid === undefined) throw new HostError('E_VIRTIOFSD_START', `could not start ${direct.file}`, 'check that the file is an executable virtiofsd, or set KT_VIRTIOFSD');
      const entry = { pid: child.pid, child, exited: false };
      registerProcessGroup(child.pid);
      children.push(entry);
      void child.then(() => (entry.exited = true));
      const deadline = Date.now() + opts.timeoutMs;
      while (!listening(share.socket)) {
        if (entry.exited) {
          const r = await child;
          throw new HostError(
            'E_VIRTIOFSD_FAILED',
            `virtiofsd for ${share.tag} (${share.source}) exited with status ${r.exitCode ?? r.signal} before it listened on ${share.socket}:\n${logTail(share.log)}`,
            `its command line: ${[direct.file, ...direct.args].join(' ')}; run kt as root, or with --rootfs image`,
          );
        }
        if (opts.signal?.aborted) throw new HostError('E_BOOT_ABORTED', `start of virtiofsd for ${share.tag} was interrupted`);
        if (Date.now() > deadline) {
          throw new HostError(
            'E_VIRTIOFSD_TIMEOUT',
            `virtiofsd for ${share.tag} (${share.source}) did not listen on ${share.socket} within ${Math.round(opts.timeoutMs / 1000)} s:\n${logTail(share.log)}`,
            'the host may be overloaded; try again, or run with --rootfs image',
          );
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      // The socket belongs to root of the namespace; QEMU runs as the user, who is id `count`
      // there (src/vm/image/toolRunner.ts idMapArgs). The VM's directory is 0700: nobody else reaches it.
      if (runner && opts.userns) await runner.output('chown', [`${opts.userns.subuid.count}:${opts.userns.subgid.count}`, share.socket]);
    }
  } catch (err) {
    await stop(500);
    throw err;
  }
  return running;
}
