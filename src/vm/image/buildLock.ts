/**
 * One build per image hash at a time, across processes: a lock file created with O_EXCL that
 * names its holder. Waiters poll; a lock whose holder died on this host is taken over.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the holder took the lock. */
  since: string;
}

export interface BuildLock {
  /** Removes the lock file; idempotent. */
  release(): Promise<void>;
}

export interface LockOptions {
  signal?: AbortSignal;
  /** Poll interval while another process holds the lock. */
  pollMs?: number;
  /** Called once when we start waiting for another holder. */
  onWait?: (holder: LockHolder) => void;
  /** Liveness check, replaceable in tests. */
  isAlive?: (pid: number) => boolean;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { pid, host, since } = value as Record<string, unknown>;
    if (typeof pid === 'number' && typeof host === 'string' && typeof since === 'string') return { pid, host, since };
  } catch {
    // written half-way right now, or garbage
  }
  return undefined;
}

/** A holder is stale only if it is on this host and its process is gone. */
export function isStaleHolder(holder: LockHolder, hostname: string, isAlive: (pid: number) => boolean): boolean {
  return holder.host === hostname && !isAlive(holder.pid);
}

async function isOlderThan(file: string, ms: number): Promise<boolean> {
  const st = await fs.stat(file).catch(() => undefined);
  return st !== undefined && Date.now() - st.mtimeMs > ms;
}

export async function acquireBuildLock(lockPath: string, opts: LockOptions = {}): Promise<BuildLock> {
  const pollMs = opts.pollMs ?? 1000;
  const isAlive = opts.isAlive ?? isProcessAlive;
  const hostname = os.hostname();
  const mine: LockHolder = { pid: process.pid, host: hostname, since: new Date().toISOString() };
  const myText = JSON.stringify(mine);
  let announced = false;

  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const handle = await fs.open(lockPath, 'wx');
      try {
        await handle.writeFile(myText);
      } finally {
        await handle.close();
      }
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          await fs.rm(lockPath, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }

    const text = await fs.readFile(lockPath, 'utf8').catch(() => undefined);
    if (text === undefined) continue; // released between our open and read
    const holder = parseHolder(text);
    // An unreadable lock older than a minute was left by a process killed between open and write.
    const garbage = holder === undefined && (await isOlderThan(lockPath, 60_000));
    if (garbage || (holder && isStaleHolder(holder, hostname, isAlive))) {
      // Move the stale file aside atomically: of several waiters only one rename succeeds.
      const aside = `${lockPath}.stale-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
      const moved = await fs.rename(lockPath, aside).then(
        () => true,
        () => false,
      );
      if (moved) {
        const movedText = await fs.readFile(aside, 'utf8').catch(() => '');
        if (movedText !== text) {
          // Someone replaced the stale lock with a live one in between: put it back.
          await fs.link(aside, lockPath).catch(() => undefined);
        }
        await fs.rm(aside, { force: true });
      }
      continue;
    }
    if (holder && !announced) {
      announced = true;
      opts.onWait?.(holder);
    }
    try {
      await sleep(pollMs, undefined, { signal: opts.signal });
    } catch (err) {
      // Rethrow the caller's abort reason rather than timers' generic AbortError.
      opts.signal?.throwIfAborted();
      throw err;
    }
  }
}
