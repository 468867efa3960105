/**
 * Runs the image build's programs as the root of the build: directly when kt is root, or inside
 * a user namespace (userns.ts) when it is not.
 *
 * The namespace is held open by a `cat` started with `unshare --user` whose stdin kt holds: it
 * exits when kt closes that pipe or dies, so nothing outlives a killed kt. newuidmap(1) and
 * newgidmap(1) map ids 0..N-1 to the user's subordinate ids and id N to the user's own; every
 * program then enters with `nsenter --user --target` (nsenter(1): uid and gid become 0, with all
 * capabilities in the namespace, user_namespaces(7)). With the user's own id mapped, root in the
 * namespace may also write into the user's cache directory, even a mode-0700 ~/.cache, and the
 * files kt writes there stay the user's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { SBIN_DIRS } from './hostTools.js';
import { usernsFailedError, type UsernsPlan } from './userns.js';

export interface ToolCommand {
  file: string;
  args: string[];
}

export interface ToolRunner {
  readonly mode: 'root' | 'unshare';
  /** The command line that runs `file args` as root of the build. */
  command(file: string, args: readonly string[]): ToolCommand;
  /** Environment for those commands: sbin directories on PATH (chroot, useradd, mke2fs). */
  readonly env: Record<string, string | undefined>;
  /** Runs a short command to completion; throws with its stderr on failure. Returns stdout. */
  output(file: string, args: readonly string[]): Promise<string>;
  /** Ends the namespace (a no-op for root). */
  close(): Promise<void>;
}

/** PATH with the sbin directories appended, as root's PATH has them. Pure. */
export function pathWithSbin(pathEnv: string | undefined): string {
  const dirs = (pathEnv ?? '').split(':').filter(Boolean);
  return [...dirs, ...SBIN_DIRS.filter((d) => !dirs.includes(d))].join(':');
}

/**
 * newuidmap/newgidmap arguments for the namespace of `pid`: `0 <start> <count>` for the
 * subordinate range, then `<count> <own id> 1`. Pure.
 */
export function idMapArgs(pid: number, range: { start: number; count: number }, ownId: number): string[] {
  return [String(pid), '0', String(range.start), String(range.count), String(range.count), String(ownId), '1'];
}

/** nsenter's options to enter the namespace of `pid` as its root. Pure. */
export function nsenterArgs(pid: number): string[] {
  return ['--user', `--target=${pid}`, '--setuid=0', '--setgid=0'];
}

/**
 * From /proc/self/status of a process in the namespace (proc(5)): is it uid 0 with capabilities?
 * AppArmor's unprivileged-userns restriction (Ubuntu 23.10+) leaves the uid but strips CapEff.
 */
export function statusShowsRoot(status: string): boolean {
  const uid = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
  const capEff = /^CapEff:\s+([0-9a-f]+)$/m.exec(status);
  if (!uid || !capEff) return false;
  return uid[1] === '0' && uid[2] === '0' && BigInt(`0x${capEff[1]}`) !== 0n;
}

async function capture(file: string, args: readonly string[], env: Record<string, string | undefined>): Promise<string> {
  const r = await execa(file, args, { reject: false, stdin: 'ignore', env, extendEnv: false, stripFinalNewline: false });
  if (r.exitCode !== 0) {
    const status = r.exitCode === undefined ? (r.signal ?? 'killed') : `exit ${r.exitCode}`;
    throw new Error(`${[file, ...args].join(' ')} failed (${status}): ${String(r.stderr).trim()}`);
  }
  return String(r.stdout);
}

export function directRunner(env: Record<string, string | undefined> = process.env): ToolRunner {
  const runEnv = { ...env, PATH: pathWithSbin(env.PATH) };
  return {
    mode: 'root',
    command: (file, args) => ({ file, args: [...args] }),
    env: runEnv,
    output: (file, args) => capture(file, args, runEnv),
    close: async () => {},
  };
}

const HOLDER_READY = 'kt-userns-ready';
const HOLDER_TIMEOUT_MS = 15_000;

/** Starts the holder; resolves once it is inside its new user namespace. */
function startHolder(unshare: string): Promise<{ holder: ChildProcess; pid: number }> {
  return new Promise((resolve, reject) => {
    const holder = spawn(unshare, ['--user', '--', 'sh', '-c', `echo ${HOLDER_READY} && exec cat`], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      holder.kill('SIGKILL');
      reject(new Error(`no answer within ${HOLDER_TIMEOUT_MS / 1000} s`));
    }, HOLDER_TIMEOUT_MS);
    holder.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    holder.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(`${HOLDER_READY}\n`) && holder.pid !== undefined) {
        clearTimeout(timer);
        resolve({ holder, pid: holder.pid });
      }
    });
    holder.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    holder.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${signal ?? `exit ${code}`}): ${err.trim()}`));
    });
  });
}

async function stopHolder(holder: ChildProcess): Promise<void> {
  if (holder.exitCode !== null || holder.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
  holder.stdin?.end();
  const timer = setTimeout(() => holder.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Opens the build's user namespace and checks that root inside it has its capabilities. */
export async function openUsernsRunner(
  plan: UsernsPlan,
  sharedCacheDir: string,
  env: Record<string, string | undefined> = process.env,
): Promise<ToolRunner> {
  const fail = (step: string, err: unknown) => usernsFailedError(plan, step, err instanceof Error ? err.message : String(err), sharedCacheDir);
  let started: { holder: ChildProcess; pid: number };
  try {
    started = await startHolder(plan.tools.unshare);
  } catch (err) {
    throw fail('unshare --user', err);
  }
  const { holder, pid } = started;
  // The pipe's only job is to end the holder: a holder that dies early is seen by nsenter.
  holder.stdout?.resume();
  holder.stdin?.on('error', () => {});
  const runEnv = { ...env, PATH: pathWithSbin(env.PATH) };
  try {
    const uidArgs = idMapArgs(pid, plan.subuid, plan.uid);
    const gidArgs = idMapArgs(pid, plan.subgid, plan.gid);
    for (const [tool, args] of [[plan.tools.newuidmap, uidArgs], [plan.tools.newgidmap, gidArgs]] as const) {
      await capture(tool, args, runEnv).catch((err: unknown) => {
        throw fail(`${tool} ${args.join(' ')}`, err);
      });
    }
    const status = await capture(plan.tools.nsenter, [...nsenterArgs(pid), '--', 'cat', '/proc/self/status'], runEnv).catch(
      (err: unknown) => {
        throw fail('nsenter --user', err);
      },
    );
    if (!statusShowsRoot(status)) {
      throw fail('nsenter --user', new Error('the process inside is not root with capabilities (Uid/CapEff in /proc/self/status)'));
    }
  } catch (err) {
    await stopHolder(holder);
    throw err;
  }
  const command = (file: string, args: readonly string[]): ToolCommand => ({
    file: plan.tools.nsenter,
    args: [...nsenterArgs(pid), '--', file, ...args],
  });
  return {
    mode: 'unshare',
    command,
    env: runEnv,
    output: (file, args) => {
      const c = command(file, args);
      return capture(c.file, c.args, runEnv);
    },
    close: () => stopHolder(holder),
  };
}
