import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHostKeyLine } from '../../src/vm/hostKey.js';
import { generateSshKeyPair } from '../../src/vm/sshKeyPair.js';

describe('generateSshKeyPair', () => {
  it('only hands out well-formed ed25519 keys (ssh2 alone gets one in 256 wrong)', () => {
    for (let i = 0; i < 3000; i++) expect(parseHostKeyLine(generateSshKeyPair().public)).toBeDefined();
  });

  it('makes keys OpenSSH reads, with the comment given', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-keypair-'));
    try {
      const keys = generateSshKeyPair('kt-guest');
      expect(keys.public).toMatch(/^ssh-ed25519 \S+ kt-guest$/);
      fs.writeFileSync(path.join(dir, 'k.pub'), `${keys.public}\n`);
      fs.writeFileSync(path.join(dir, 'k'), keys.private, { mode: 0o600 });
      expect(execFileSync('ssh-keygen', ['-l', '-f', path.join(dir, 'k.pub')], { encoding: 'utf8' })).toMatch(/^256 SHA256:\S+ kt-guest \(ED25519\)\n$/);
      // The private key yields the same public key.
      expect(execFileSync('ssh-keygen', ['-y', '-f', path.join(dir, 'k')], { encoding: 'utf8' }).split(' ').slice(0, 2)).toEqual(keys.public.split(' ').slice(0, 2));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
