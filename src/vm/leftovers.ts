/**
 * Temporary files and directories that name the kt process making them (`<pid>@<host>@` after
 * their prefix), so a later kt can tell what a dead one left behind from what a live one is
 * writing right now. A kt ended by a signal before its cleanup ran (the first Ctrl-C before a
 * run starts exits at once, src/cli/signals.ts; SIGKILL) leaves them; the next kt that needs the
 * same directory removes them. The rule is the build lock's (src/vm/image/buildLock.ts): a
 * maker is gone only when it ran on this host and its process no longer exists; a maker on
 * another host sharing the cache, or a pid now reused, leaves the entry alone.
 */
import os from 'node:os';
import { isProcessAlive, isStaleHolder } from './image/buildLock.js';

/** This host's name, kept to what may appear in a file name. Pure. */
export function hostTag(hostname: string): string {
  return hostname.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** `<pid>@<host>@`: appended to a prefix, it names this process as the entry's maker. */
export function makerTag(pid: number = process.pid, hostname: string = os.hostname()): string {
  return `${pid}@${hostTag(hostname)}@`;
}

/** The maker named in `name` right after `prefix`, or undefined when `name` names none. Pure. */
export function makerOf(name: string, prefix: string): { pid: number; host: string } | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const m = /^(\d+)@([A-Za-z0-9._-]*)@/.exec(name.slice(prefix.length));
  return m ? { pid: Number(m[1]), host: m[2]! } : undefined;
}

/** Whether `name` (after `prefix`) was made by a kt on this host that is gone. */
export function leftBehind(name: string, prefix: string, isAlive: (pid: number) => boolean = isProcessAlive, hostname: string = os.hostname()): boolean {
  const maker = makerOf(name, prefix);
  if (!maker) return false;
  return isStaleHolder({ pid: maker.pid, host: maker.host, since: '' }, hostTag(hostname), isAlive);
}
