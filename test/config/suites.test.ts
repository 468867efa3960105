/**
 * Suites and sections: the shipped suites load, sections are selected by name, and every error a
 * suite file can hold names the file and line, the key and the fix, exactly.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinSuites, loadSuite, selectSections } from '../../src/config/suites.js';
import { errorOf } from '../fstests/helpers.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-suites-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function suiteFile(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('the shipped suites', () => {
  it('hold the sections developers run, each with a default', () => {
    expect(builtinSuites()).toEqual(['btrfs', 'ext4', 'xfs']);
    const names = (s: string) => loadSuite(s, dir).sections.map((x) => x.name);
    expect(names('xfs')).toEqual(['xfs/4k', 'xfs/1k', 'xfs/reflink_rmapbt', 'xfs/logdev', 'xfs/realtime']);
    expect(names('ext4')).toEqual(['ext4/4k', 'ext4/1k', 'ext4/bigalloc', 'ext4/nojournal', 'ext4/dioread_nolock']);
    expect(names('btrfs')).toEqual(['btrfs/default', 'btrfs/pool']);
    expect(loadSuite('xfs', dir).defaultSection.name).toBe('xfs/4k');
  });

  it('give the devices each section needs', () => {
    const xfs = loadSuite('xfs', dir).sections;
    expect(xfs.find((s) => s.name === 'xfs/logdev')?.devices).toEqual({ logdevBytes: 512 * 2 ** 20 });
    expect(xfs.find((s) => s.name === 'xfs/realtime')?.devices).toEqual({ rtdevBytes: 2 * 2 ** 30 });
    expect(loadSuite('btrfs', dir).sections.find((s) => s.name === 'btrfs/pool')?.devices).toEqual({ scratchPool: 4 });
    expect(loadSuite('ext4', dir).sections.find((s) => s.name === 'ext4/dioread_nolock')?.mountOptions).toBe('-o dioread_nolock');
  });
});

describe('selectSections', () => {
  it('takes SUITE/SECTION lists, SUITE/all and SUITE (its default), in order, without repeats', () => {
    const names = (...specs: string[]) => selectSections(specs, dir).map((s) => s.name);
    expect(names('xfs/4k,xfs/1k')).toEqual(['xfs/4k', 'xfs/1k']);
    expect(names('xfs/1k', 'xfs')).toEqual(['xfs/1k', 'xfs/4k']);
    expect(names('btrfs/all', 'btrfs/pool')).toEqual(['btrfs/default', 'btrfs/pool']);
  });

  it('reads a user suite file with or without sections', () => {
    const flat = suiteFile('mine.yaml', 'fstyp: ext4\nmkfsOptions: "-b 1024"\n');
    expect(selectSections([flat], dir).map((s) => [s.name, s.mkfsOptions])).toEqual([['mine', '-b 1024']]);
    const sectioned = suiteFile('two.yaml', 'fstyp: xfs\nmkfsOptions: "-m crc=1"\nsections:\n  a: {}\n  b:\n    mkfsOptions: "-b size=1024"\n');
    expect(selectSections([`${sectioned}/all`], dir).map((s) => [s.name, s.mkfsOptions])).toEqual([
      ['two/a', '-m crc=1'],
      ['two/b', '-b size=1024'],
    ]);
  });

  it('names an unknown section and lists the real ones', () => {
    const err = errorOf(() => selectSections(['xfs/8k'], dir));
    expect(err).toMatchObject({
      code: 'E_UNKNOWN_SECTION',
      message: '-c xfs/8k: suite xfs has no section "8k"',
      hint: 'sections of xfs: xfs/4k, xfs/1k, xfs/reflink_rmapbt, xfs/logdev, xfs/realtime, or xfs/all',
    });
    expect(errorOf(() => selectSections(['nope/4k'], dir))).toMatchObject({ code: 'E_UNKNOWN_SUITE' });
    expect(errorOf(() => selectSections(['xfs/4k,'], dir))).toMatchObject({ code: 'E_EMPTY_VALUE', message: '-c was given without a section' });
  });
});

describe('suite file errors name the file and line', () => {
  const cases: [string, string, string][] = [
    ['a typo in a key', 'fstyp: xfs\nsections:\n  fast:\n    mkfsOption: "-b size=1024"\n', 'typo.yaml:4: sections.fast: Unrecognized key: "mkfsOption"'],
    ['an unknown fstyp', 'fstyp: zfs\n', 'typo.yaml:1: fstyp: Invalid option: expected one of "xfs"|"ext4"|"ext2"|"ext3"|"btrfs"'],
    ['a default naming no section', 'fstyp: xfs\ndefault: big\nsections:\n  small: {}\n', 'typo.yaml:2: default: default: names no section of this suite'],
    ['a bad section name', 'fstyp: xfs\nsections:\n  "a b": {}\n', 'typo.yaml:3: sections.a b: section names use letters, digits, "_" and "-"'],
    ['an exclude entry with both file and test', 'fstyp: xfs\nexclude:\n  - file: x\n    test: generic/001\n', 'typo.yaml:3: exclude.0: give exactly one of file: or test:'],
  ];
  for (const [what, text, message] of cases) {
    it(what, () => {
      const file = suiteFile('typo.yaml', text);
      const err = errorOf(() => loadSuite(file, dir));
      expect(err).toMatchObject({ code: 'E_SUITE_INVALID', message: message.replace('typo.yaml', file) });
      expect(err.hint).toBe('see the "suite file" section of kt\'s README for the allowed keys');
    });
  }

  it('logdev on a filesystem that has none, and a bad size', () => {
    const file = suiteFile('dev.yaml', 'fstyp: ext4\nsections:\n  j:\n    devices:\n      logdev: 1G\n');
    expect(errorOf(() => loadSuite(file, dir))).toMatchObject({ code: 'E_SUITE_INVALID', message: `${file}: sections.j: devices.logdev and devices.rtdev are for xfs, not ext4` });
    const size = suiteFile('size.yaml', 'fstyp: xfs\nsections:\n  r:\n    devices:\n      rtdev: lots\n');
    expect(errorOf(() => loadSuite(size, dir))).toMatchObject({ code: 'E_BAD_SIZE', message: `${size}: sections.r: devices.rtdev "lots" is not a size` });
  });

  it('a YAML syntax error', () => {
    const file = suiteFile('broken.yaml', 'fstyp: xfs\nsections: [\n');
    expect(errorOf(() => loadSuite(file, dir))).toMatchObject({ code: 'E_SUITE_UNREADABLE', message: expect.stringMatching(new RegExp(`^${file}:\\d+: not valid YAML: `)) });
  });
});
