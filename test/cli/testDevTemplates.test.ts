/**
 * Where TEST_DEV made once is kept (src/cli/testDevTemplates.ts): a file per image build and per
 * mkfs a section runs, none for a section whose mkfs writes more than the TEST disk.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testDevTemplatePath, testDevTemplates } from '../../src/cli/testDevTemplates.js';

// Two builds of one recipe: the same hash, another host key (guest/mmdebstrap/customize-hook.sh).
const build1 = { hash: '3f3685bb46fb1fc7', sshHostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne kt-guest' };
const build2 = { hash: '3f3685bb46fb1fc7', sshHostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwo kt-guest' };
const G = 2 ** 30;
const xfs = { fstyp: 'xfs', mkfsOptions: '-b size=4096' };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('testDevTemplatePath', () => {
  it('names the image recipe and build, under <cache>/test-dev', () => {
    expect(testDevTemplatePath('/c', build1, xfs, 5 * G)).toMatch(/^\/c\/test-dev\/3f3685bb46fb1fc7-[0-9a-f]{8}-[0-9a-f]{16}\.img$/);
    expect(testDevTemplatePath('/c', build1, xfs, 5 * G)).not.toBe(testDevTemplatePath('/c', build2, xfs, 5 * G));
  });

  it('is one file for one mkfs and size, and another for any other', () => {
    const p = testDevTemplatePath('/c', build1, xfs, 5 * G);
    // MKFS_OPTIONS split into the words mkfs gets: blanks do not make another filesystem.
    expect(testDevTemplatePath('/c', build1, { fstyp: 'xfs', mkfsOptions: ' -b  size=4096\n' }, 5 * G)).toBe(p);
    const others = [
      testDevTemplatePath('/c', build1, { fstyp: 'xfs', mkfsOptions: '-b size=1024' }, 5 * G),
      testDevTemplatePath('/c', build1, { fstyp: 'xfs', mkfsOptions: '' }, 5 * G),
      testDevTemplatePath('/c', build1, { fstyp: 'ext4', mkfsOptions: '-b size=4096' }, 5 * G),
      testDevTemplatePath('/c', build1, xfs, 10 * G),
    ];
    expect(new Set([p, ...others]).size).toBe(5);
  });

  it('gives none to a section with an external log or realtime device, or an fstyp kt cannot make', () => {
    expect(testDevTemplatePath('/c', build1, { ...xfs, devices: { logdevBytes: G } }, 5 * G)).toBeUndefined();
    expect(testDevTemplatePath('/c', build1, { ...xfs, devices: { rtdevBytes: G } }, 5 * G)).toBeUndefined();
    expect(testDevTemplatePath('/c', build1, { ...xfs, devices: { scratchPool: 3 } }, 5 * G)).toBeDefined();
    expect(testDevTemplatePath('/c', build1, { fstyp: 'nfs', mkfsOptions: '' }, 5 * G)).toBeUndefined();
  });
});

describe('testDevTemplates', () => {
  it("says where each section's file is and whether it is there, looking again each time", () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-tdt-'));
    dirs.push(cache);
    const sections = [
      { name: 'xfs/4k', ...xfs, mountOptions: '', env: {} },
      { name: 'xfs/logdev', ...xfs, mountOptions: '', env: {}, devices: { logdevBytes: G } },
    ];
    const t = testDevTemplates(cache, build1, sections, 5 * G);
    const first = t.templateFor('xfs/4k')!;
    expect(first).toEqual({ path: testDevTemplatePath(cache, build1, xfs, 5 * G), kept: false });
    fs.mkdirSync(path.dirname(first.path), { recursive: true });
    fs.writeFileSync(first.path, '');
    expect(t.templateFor('xfs/4k')).toEqual({ path: first.path, kept: true });
    expect(t.templateFor('xfs/logdev')).toBeUndefined();
    expect(t.templateFor('no/such')).toBeUndefined();
  });
});
