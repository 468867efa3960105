// .modinfo of an ELF object built here by the host's gcc, the way modpost's .mod.c and
// MODULE_INFO() put it there (strings in a section named .modinfo).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { elfSection, parseModInfo, releaseOfVermagic } from '../../src/modules/modinfo.js';

let dir: string;
let object: Buffer;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-modinfo-'));
  const c = path.join(dir, 'm.c');
  fs.writeFileSync(
    c,
    [
      '#define INFO(tag, s) static const char tag[] __attribute__((section(".modinfo"), used, aligned(1))) = s',
      'INFO(a, "license=GPL");',
      'INFO(b, "depends=xfs,libcrc32c");',
      'INFO(c, "name=kt_hello");',
      'INFO(d, "vermagic=6.1.192 SMP mod_unload ");',
      'int kt_code(void) { return 42; }',
    ].join('\n'),
  );
  execFileSync('gcc', ['-c', '-o', path.join(dir, 'm.ko'), c]);
  object = fs.readFileSync(path.join(dir, 'm.ko'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('parseModInfo', () => {
  it('reads name, vermagic and dependencies', () => {
    const info = parseModInfo(object)!;
    expect(info.name).toBe('kt_hello');
    expect(info.vermagic).toBe('6.1.192 SMP mod_unload ');
    expect(info.depends).toEqual(['xfs', 'libcrc32c']);
    expect(info.fields.get('license')).toEqual(['GPL']);
    expect(releaseOfVermagic(info.vermagic!)).toBe('6.1.192');
  });

  it('finds sections by name and refuses what is not an ELF64 object', () => {
    expect(elfSection(object, '.text')?.length).toBeGreaterThan(0);
    expect(elfSection(object, '.no-such-section')).toBeUndefined();
    expect(parseModInfo(Buffer.from('not an elf file at all, not even close to one.........................'))).toBeUndefined();
  });
});
