/**
 * The `kt kconfig fix …` that a check suggests names the sections that were checked — from -c,
 * --suite or kt.yaml alike, as kt run's own-kernel check does (src/cli/kconfigSelection.ts) — so
 * the fix, typed anywhere, checks the same sections. Real shipped suites (suites/), a suite file
 * of the user's beside a kt.yaml; imports src/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contextFor, type KconfigArgs } from '../../src/cli/kconfigCommand.js';
import { sectionSelection } from '../../src/cli/kconfigSelection.js';
import { resolveKernelNeeds } from '../../src/config/runConfig.js';
import { fixCommandFor } from '../../src/kconfig/render.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-kconfig-selection-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const check = (more: Partial<KconfigArgs> = {}): KconfigArgs => ({ action: 'check', sections: [], json: false, requiredOnly: false, all: false, ...more });
const configSource = { kind: 'file' as const, path: '/tmp/x.config' };
// No user config file (~/.config/kt/config.yaml) is read: XDG_CONFIG_HOME is the test's own.
const env = (): NodeJS.ProcessEnv => ({ ...process.env, XDG_CONFIG_HOME: dir });

describe('kt kconfig check: the fix it suggests', () => {
  it("names kt.yaml's sections (a suite file by its path), as kt run's hint does", () => {
    fs.mkdirSync(path.join(dir, 'suites'));
    fs.writeFileSync(path.join(dir, 'suites/mine.yaml'), 'fstyp: ext4\nsections:\n  small:\n    mkfsOptions: "-b 1024"\n');
    fs.writeFileSync(path.join(dir, 'kt.yaml'), 'sections: [suites/mine.yaml/small, xfs/1k]\nrootfs: virtiofs\n');
    const saved = process.env.XDG_CONFIG_HOME;
    process.env.XDG_CONFIG_HOME = dir;
    try {
      const ctx = contextFor(check(), undefined, dir);
      expect(ctx.suite.selection).toEqual(['-c', `${dir}/suites/mine.yaml/small,xfs/1k`]);
      expect(fixCommandFor(configSource, ctx)).toBe(`kt kconfig fix TREE -c ${dir}/suites/mine.yaml/small,xfs/1k --rootfs virtiofs (in the kernel tree this config was built from)`);
      // kt run's check builds it from the same resolved sections.
      expect(sectionSelection(resolveKernelNeeds({}, env(), dir).sections, dir)).toEqual(ctx.suite.selection);
      // -c wins over kt.yaml, as in kt run.
      expect(contextFor(check({ sections: ['ext4/1k'] }), undefined, dir).suite.selection).toEqual(['-c', 'ext4/1k']);
      // --suite NAME: its default section, by name.
      const suite = contextFor(check({ suite: 'ext4' }), undefined, dir).suite;
      expect(suite.selection).toEqual(['-c', suite.sections.map((s) => s.name).join(',')]);
      expect(suite.selection?.[1]).toMatch(/^ext4\//);
    } finally {
      if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = saved;
    }
  });

  it("names nothing for kt's default (the xfs suite's default section), from a kt.yaml or none", () => {
    expect(sectionSelection(resolveKernelNeeds({}, env(), dir).sections, dir)).toEqual([]);
    fs.writeFileSync(path.join(dir, 'kt.yaml'), 'suite: xfs\n');
    expect(sectionSelection(resolveKernelNeeds({}, env(), dir).sections, dir)).toEqual([]);
    // A suite file of the user's named xfs is not kt's xfs suite.
    fs.writeFileSync(path.join(dir, 'xfs.yaml'), 'fstyp: xfs\nsections:\n  4k:\n    mkfsOptions: "-b size=4096"\n');
    fs.writeFileSync(path.join(dir, 'kt.yaml'), 'sections: [xfs.yaml/4k]\n');
    expect(sectionSelection(resolveKernelNeeds({}, env(), dir).sections, dir)).toEqual(['-c', `${dir}/xfs.yaml/4k`]);
  });
});
