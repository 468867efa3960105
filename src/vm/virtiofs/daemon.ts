/**
 * Which virtiofsd this host has (docs/virtiofs.md). Two daemons answer to the name, with
 * different command lines:
 *
 * - QEMU's own C virtiofsd, shipped with QEMU up to 7.2 (Debian 12: /usr/lib/qemu/virtiofsd in
 *   qemu-system-common, outside PATH): `--socket-path=`, `-o source=`, `-o sandbox=`,
 *   `-o cache=`.
 * - The Rust virtiofsd (gitlab.com/virtio-fs/virtiofsd; Debian 13's `virtiofsd` package puts it
 *   in /usr/libexec): `--shared-dir`, `--socket-path`, `--sandbox`, `--cache`, `--readonly`.
 *
 * The flavour is read from the daemon's own `--help` (test/vm/virtiofs/fixtures holds both, as
 * printed by the real binaries), never guessed from its path.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';

export type VirtiofsdFlavour = 'qemu' | 'rust';

export interface VirtiofsDaemon {
  /** Absolute path of the binary. */
  path: string;
  flavour: VirtiofsdFlavour;
  /** Its version as it prints it (`7.2.22`, `1.13.2`), for messages and the record. */
  version: string;
}

/**
 * Where distributions put virtiofsd when it is not on PATH: Fedora and Debian 13 (the Rust
 * daemon, /usr/libexec), QEMU ≤ 7.2 on Debian and Ubuntu (/usr/lib/qemu), Arch (/usr/lib).
 */
export const VIRTIOFSD_LOCATIONS: readonly string[] = ['/usr/libexec/virtiofsd', '/usr/lib/qemu/virtiofsd', '/usr/lib/virtiofsd'];

/** Tells the two daemons apart by their `--help` and `--version` output. Pure. */
export function classifyVirtiofsd(help: string, version: string): { flavour: VirtiofsdFlavour; version: string } | undefined {
  // Rust: "Usage: virtiofsd --shared-dir <SHARED_DIR> --socket-path <SOCKET_PATH> [OPTIONS]";
  // `--version` prints "virtiofsd 1.13.2".
  if (help.includes('--shared-dir')) {
    const v = /virtiofsd\s+v?(\d+\.\d+(?:\.\d+)?)/.exec(version);
    return { flavour: 'rust', version: v?.[1] ?? 'unknown' };
  }
  // QEMU's: "-o source=PATH  shared directory tree"; `--version` prints
  // "virtiofsd version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)".
  if (/-o source=PATH/.test(help) && help.includes('--socket-path')) {
    const v = /virtiofsd version (\d+\.\d+(?:\.\d+)?)/.exec(version);
    return { flavour: 'qemu', version: v?.[1] ?? 'unknown' };
  }
  // QEMU's virtiofsd drops its supplementary groups before it parses any option, so as an
  // ordinary user it prints only this, even for --help (its output on Debian 12,
  // test/vm/virtiofs/fixtures): kt runs it in a user namespace, where it works.
  if (/^setgroups\(\) failed with error=1:Operation not permitted$/m.test(help)) return { flavour: 'qemu', version: 'unknown' };
  return undefined;
}

/** A place kt looked, and why nothing usable was there. */
export interface DaemonCandidate {
  path: string;
  /** `$KT_VIRTIOFSD`, `PATH`, or the fixed location. */
  from: string;
}

/** The places to look, in order: $KT_VIRTIOFSD alone when set, else PATH, else the fixed locations. Pure. */
export function virtiofsdCandidates(env: NodeJS.ProcessEnv): DaemonCandidate[] {
  const forced = env.KT_VIRTIOFSD;
  if (forced !== undefined && forced !== '') return [{ path: forced, from: '$KT_VIRTIOFSD' }];
  const out: DaemonCandidate[] = [];
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir && path.isAbsolute(dir)) out.push({ path: path.join(dir, 'virtiofsd'), from: 'PATH' });
  }
  for (const p of VIRTIOFSD_LOCATIONS) if (!out.some((c) => c.path === p)) out.push({ path: p, from: p });
  return out;
}

export type DaemonLookup =
  | { found: VirtiofsDaemon; tried: string[] }
  /** `tried`: one line per place looked at that had something (a missing file is not listed). */
  | { found: undefined; tried: string[]; forced: boolean };

async function probe(file: string): Promise<{ help: string; version: string } | string> {
  const run = async (arg: string) => {
    const r = await execa(file, [arg], { reject: false, all: true, timeout: 5_000, stdin: 'ignore' });
    if (r.failed && r.exitCode === undefined) throw new Error(r.shortMessage);
    return typeof r.all === 'string' ? r.all : '';
  };
  try {
    return { help: await run('--help'), version: await run('--version') };
  } catch (err) {
    return (err as Error).message.split('\n')[0] ?? String(err);
  }
}

/** Looks for a virtiofsd and asks it what it is. Reads the host only; starts nothing that stays. */
export async function findVirtiofsd(env: NodeJS.ProcessEnv = process.env): Promise<DaemonLookup> {
  const candidates = virtiofsdCandidates(env);
  const forced = candidates[0]?.from === '$KT_VIRTIOFSD';
  const tried: string[] = [];
  for (const c of candidates) {
    let st: fs.Stats;
    try {
      st = fs.statSync(c.path);
    } catch {
      if (forced) tried.push(`${c.path} (${c.from}): no such file`);
      continue;
    }
    if (!st.isFile()) {
      tried.push(`${c.path} (${c.from}): not a file`);
      continue;
    }
    try {
      fs.accessSync(c.path, fs.constants.X_OK);
    } catch {
      tried.push(`${c.path} (${c.from}): not executable`);
      continue;
    }
    const out = await probe(c.path);
    if (typeof out === 'string') {
      tried.push(`${c.path} (${c.from}): does not run: ${out}`);
      continue;
    }
    const kind = classifyVirtiofsd(out.help, out.version);
    if (!kind) {
      tried.push(`${c.path} (${c.from}): its --help is neither QEMU's nor the Rust virtiofsd's`);
      continue;
    }
    return { found: { path: path.resolve(c.path), ...kind }, tried };
  }
  return { found: undefined, tried, forced };
}
