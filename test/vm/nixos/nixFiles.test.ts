/**
 * Checks of nix/ that need no nixpkgs: the files parse, and the shell scripts and sshd settings
 * that guest.nix generates are valid (evaluated against stand-ins, fixtures/evalGuest.nix).
 * Needs nix-instantiate (Debian: nix-bin); skipped where it is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hostKeyFromConsoleLine } from '../../../src/vm/hostKey.js';

const nixDir = fileURLToPath(new URL('../../../nix/', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/evalGuest.nix', import.meta.url));
/**
 * Debian's nix-bin alone does not create the `nixbld` group that nix's default
 * build-users-group names (nix-setup-systemd does), so every nix command run as root warns on
 * stderr. Nothing here builds: no build users are needed.
 */
const nixEnv = { ...process.env, NIX_CONFIG: 'build-users-group =' };
const hasNix = spawnSync('nix-instantiate', ['--version'], { env: nixEnv }).status === 0;

interface Evaluated {
  scripts: Record<string, string>;
  sshdExecStart: string;
  udevRules: string;
  assertions: boolean[];
  emptyDiskImages: number[];
  hostName: string;
}

function evaluate(): Evaluated {
  const out = execFileSync('nix-instantiate', ['--eval', '--strict', '--json', fixture], { encoding: 'utf8', env: nixEnv });
  return JSON.parse(out) as Evaluated;
}

/** Replaces the writeShellScript/writeText stand-ins by the store path they would be. */
function asStorePaths(s: string): string {
  return s.replace(/@@(?:SCRIPT|TEXT) ([^<]*)<<[\s\S]*?>>@@/g, '/nix/store/00000000000000000000000000000000-$1');
}

/** The body of a writeShellScript/writeText stand-in inside a generated string. */
function stub(kind: 'SCRIPT' | 'TEXT', name: string, s: string): string {
  const m = new RegExp(`@@${kind} ${name}<<([\\s\\S]*?)>>@@`).exec(s);
  if (!m) throw new Error(`no ${kind} ${name} in ${s.slice(0, 200)}`);
  return m[1]!;
}

describe('kt-disk-name.sh', () => {
  it('is valid bash', () => {
    expect(spawnSync('bash', ['-n', `${nixDir}/kt-disk-name.sh`]).status).toBe(0);
  });
});

describe.skipIf(!hasNix)('nix/ (nix-instantiate)', () => {
  it('parses every .nix file of the repository', () => {
    const repo = fileURLToPath(new URL('../../../', import.meta.url));
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.nix')) files.push(p);
      }
    };
    walk(repo);
    expect(files).toEqual(expect.arrayContaining([`${nixDir}flake.nix`, `${nixDir}guest.nix`, `${nixDir}examples/rust-module/module.nix`, `${nixDir}examples/rust-module/nixos.nix`]));
    for (const f of files) {
      const r = spawnSync('nix-instantiate', ['--parse', f], { encoding: 'utf8', env: nixEnv });
      expect(r.stderr, f).toBe('');
      expect(r.status, f).toBe(0);
    }
  });

  it('generates service scripts that bash accepts', () => {
    const ev = evaluate();
    expect(Object.keys(ev.scripts).sort()).toEqual(['kt-ready', 'kt-save-vmcore', 'kt-setup', 'kt-sshd', 'kt-sshd-serial']);
    for (const [name, script] of Object.entries(ev.scripts)) {
      if (!script) continue;
      const r = spawnSync('bash', ['-n'], { input: asStorePaths(script), encoding: 'utf8' });
      expect(r.stderr, name).toBe('');
      expect(r.status, name).toBe(0);
    }
    expect(ev.scripts['kt-ready']).toContain("printf '\\nkt-init: ready\\n' >/dev/ttyS0");
    expect(spawnSync('bash', ['-n'], { input: stub('SCRIPT', 'kt-disk-name', ev.udevRules) }).status).toBe(0);
  });

  it('keeps the contract: hostname, disks, sshd settings', () => {
    const ev = evaluate();
    expect(ev.hostName).toBe('kt-guest');
    expect(ev.emptyDiskImages).toEqual([5120, 5120]);
    expect(ev.assertions.every(Boolean)).toBe(true);
    expect(ev.udevRules).toContain('SYMLINK+="disk/by-id/virtio-%c"');
    const sshd = stub('TEXT', 'kt_sshd_config', ev.sshdExecStart);
    for (const line of [
      'AuthorizedKeysFile /run/kt/authorized_keys',
      'HostKey /run/kt/ssh_host_ed25519_key',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'MaxSessions 256',
      'AcceptEnv *',
    ]) {
      expect(sshd.split('\n')).toContain(line);
    }
    expect(ev.scripts['kt-setup']).toMatch(/for f in \/nix\/store\/\S+-xfstests\/lib\/xfstests\/\*; do/);
  });

  it('prints the fresh ssh host key on ttyS0 before kt-ready announces the guest (src/vm/hostKey.ts)', () => {
    const setup = evaluate().scripts['kt-setup']!.split('\n').map((l) => l.trim());
    const keygen = setup.indexOf('ssh-keygen -q -t ed25519 -N "" -C kt-guest -f /run/kt/ssh_host_ed25519_key');
    const print = setup.indexOf(`printf '\\nkt-init: ssh host key %s\\n' "$(cat /run/kt/ssh_host_ed25519_key.pub)" >/dev/ttyS0`);
    expect(keygen).toBeGreaterThan(-1);
    expect(print).toBeGreaterThan(keygen);
    // That line, run by bash on a key ssh-keygen made, prints what kt pins.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-nix-key-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kt-guest', '-f', `${dir}/key`]);
      const pub = fs.readFileSync(`${dir}/key.pub`, 'utf8').trim();
      const line = setup[print]!.replace('/run/kt/ssh_host_ed25519_key.pub', `${dir}/key.pub`).replace('>/dev/ttyS0', '');
      const out = execFileSync('bash', ['-c', line], { encoding: 'utf8' });
      expect(out.split('\n').map(hostKeyFromConsoleLine).filter(Boolean)).toEqual([pub]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
