import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { locateRunScript } from '../../../src/vm/nixos/runScript.js';

let tmp: string;
beforeEach(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'kt-nixos-script-')));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A fake VM derivation output: <out>/bin/<script>. */
function fakeVm(dir: string, scripts: string[], mode = 0o755): string {
  const out = path.join(tmp, dir);
  fs.mkdirSync(path.join(out, 'bin'), { recursive: true });
  for (const s of scripts) fs.writeFileSync(path.join(out, 'bin', s), '#!/bin/sh\n', { mode });
  return out;
}

describe('locateRunScript', () => {
  it('finds bin/run-<name>-vm through the ./result symlink and pins the real directory', () => {
    const out = fakeVm('store-nixos-vm', ['run-kt-guest-vm']);
    fs.symlinkSync(out, path.join(tmp, 'result'));
    expect(locateRunScript(path.join(tmp, 'result'))).toEqual({
      runScript: path.join(out, 'bin', 'run-kt-guest-vm'),
      systemName: 'kt-guest',
    });
  });

  it('accepts the script itself and takes the name from its file name', () => {
    const out = fakeVm('vm', ['run-my.box-vm']);
    expect(locateRunScript(path.join(out, 'bin', 'run-my.box-vm')).systemName).toBe('my.box');
    expect(locateRunScript(path.join(out, 'bin', 'run-my.box-vm'), 'other').systemName).toBe('other');
  });

  it('explains what to build when nothing is there', () => {
    expect(() => locateRunScript(path.join(tmp, 'nope'))).toThrow(
      expect.objectContaining({ code: 'E_NIXOS_VM_NOT_FOUND', hint: expect.stringContaining('nix build ./nix#vm') }),
    );
    const empty = fakeVm('empty', []);
    expect(() => locateRunScript(empty)).toThrow(expect.objectContaining({ code: 'E_NIXOS_VM_NOT_FOUND' }));
  });

  it('refuses a directory with several run scripts, and a script that cannot run', () => {
    expect(() => locateRunScript(fakeVm('two', ['run-a-vm', 'run-b-vm']))).toThrow(
      expect.objectContaining({ code: 'E_NIXOS_VM_AMBIGUOUS' }),
    );
    expect(() => locateRunScript(fakeVm('noexec', ['run-kt-guest-vm'], 0o644))).toThrow(
      expect.objectContaining({ code: 'E_NIXOS_VM_NOT_EXECUTABLE' }),
    );
  });
});
