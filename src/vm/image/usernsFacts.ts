/**
 * Gathers the host facts decideBuildMode() (userns.ts) judges: who we are, the kernel's user
 * namespace switches, the subordinate id files and the programs a rootless build runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import { findOnPath } from './hostTools.js';
import { USERNS_TOOLS, type FileFact, type UsernsFacts, type UsernsTool } from './userns.js';

function readSysctl(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined; // this kernel has no such switch
  }
}

function readFact(file: string): FileFact {
  try {
    return { kind: 'ok', text: fs.readFileSync(file, 'utf8') };
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? { kind: 'missing' } : { kind: 'unreadable' };
  }
}

export function readUsernsFacts(pathEnv = process.env.PATH): UsernsFacts {
  const info = os.userInfo();
  const tools: Partial<Record<UsernsTool, string>> = {};
  for (const tool of USERNS_TOOLS) {
    const at = findOnPath(tool, pathEnv);
    if (at) tools[tool] = at;
  }
  return {
    euid: process.geteuid?.() ?? info.uid,
    uid: info.uid,
    gid: info.gid,
    user: info.username,
    unprivilegedUsernsClone: readSysctl('/proc/sys/kernel/unprivileged_userns_clone'),
    maxUserNamespaces: readSysctl('/proc/sys/user/max_user_namespaces'),
    apparmorRestrictUnprivilegedUserns: readSysctl('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    subuid: readFact('/etc/subuid'),
    subgid: readFact('/etc/subgid'),
    tools,
  };
}
