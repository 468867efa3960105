// kt run --modules DIR / --module FILE.ko: checked before anything boots.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModuleFlags } from '../../src/config/moduleFlags.js';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-modflags-'));
  // The first bytes of an ELF object (elf(5)); the rest is checked on the host before a boot (modinfo.ts).
  fs.writeFileSync(path.join(tmp, 'a.ko'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]));
  fs.mkdirSync(path.join(tmp, 'b'));
  fs.writeFileSync(path.join(tmp, 'b', 'a.ko'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]));
  fs.writeFileSync(path.join(tmp, 'notes.txt'), 'hello');
  fs.writeFileSync(path.join(tmp, 'text.ko'), 'not an ELF file');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('resolveModuleFlags', () => {
  it('keeps the modules in the order given, as absolute paths', () => {
    expect(resolveModuleFlags({ module: ['a.ko'], modules: 'b' }, tmp, 'direct')).toEqual({ modulesDir: `${tmp}/b`, extraModules: [`${tmp}/a.ko`] });
    expect(resolveModuleFlags({}, tmp, 'direct')).toEqual({ extraModules: [] });
  });

  it('refuses what is not a module, with the value as given', () => {
    const err = (args: Parameters<typeof resolveModuleFlags>[0], backend: 'direct' | 'nixos' = 'direct') => {
      try {
        resolveModuleFlags(args, tmp, backend);
      } catch (e) {
        return e as { code: string; message: string; exitCode: number };
      }
      throw new Error('no error');
    };
    expect(err({ module: ['nope.ko'] })).toMatchObject({ code: 'E_MODULE_MISSING', message: '--module nope.ko does not exist', exitCode: 2 });
    expect(err({ module: ['notes.txt'] })).toMatchObject({ code: 'E_MODULE_NOT_A_MODULE', message: '--module notes.txt is not a kernel module (no .ko name)' });
    expect(err({ module: ['text.ko'] })).toMatchObject({ code: 'E_MODULE_NOT_A_MODULE', message: '--module text.ko is not a kernel module (not an ELF file)' });
    expect(err({ module: ['a.ko', 'b/a.ko'] })).toMatchObject({ code: 'E_MODULE_TWICE', message: '--module b/a.ko and --module a.ko are the same module (a)' });
    expect(err({ modules: 'notes.txt' })).toMatchObject({ code: 'E_MODULES_DIR', message: '--modules notes.txt is not a directory' });
    expect(err({ module: ['a.ko'] }, 'nixos')).toMatchObject({ code: 'E_MODULES_NIXOS', message: "--module works with kt's own image (--backend direct) only" });
  });
});
