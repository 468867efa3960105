/**
 * Exclude layers and kernel-version guards, table-tested: which rule removes which test, in
 * which layer, for which kernel.
 */
import { describe, expect, it } from 'vitest';
import { parseKernelCondition, parseKernelVersion, rulesFromExcludeFile, versionMatches, type ExcludeRule } from '../../src/config/excludes.js';
import { applyExcludes, describeExclusions } from '../../src/runner/plan.js';
import { errorOf } from '../fstests/helpers.js';

describe('kernel conditions', () => {
  const cases: [string, string, boolean][] = [
    ['<6.6', '6.1.0-57-cloud-amd64', true],
    ['<6.6', '6.6.3', false],
    ['>=6.1 <6.8', '6.7.12', true],
    ['>=6.1 <6.8', '6.8.0-rc2', false],
    ['=6.1', '6.1.158', true],
    ['6.1', '6.10.1', false],
    ['>6.1', '6.1.9', false],
    ['>6.1', '6.2.0', true],
    ['>=6.1.50', '6.1.49', false],
    ['<=5.4', '5.4.230-cloud', true],
  ];
  for (const [cond, release, expected] of cases) {
    it(`${cond} on ${release} is ${expected}`, () => {
      expect(versionMatches(parseKernelVersion(release)!, parseKernelCondition(cond, 'x'))).toBe(expected);
    });
  }

  it('refuses a condition it cannot read, naming where it is', () => {
    expect(errorOf(() => parseKernelCondition('before 6.6', 'suites/xfs.yaml: exclude[2]'))).toMatchObject({
      code: 'E_EXCLUDE_KERNEL',
      message: 'suites/xfs.yaml: exclude[2]: kernel condition "before 6.6" is not a list of comparisons',
      hint: 'write it like "<6.6", ">=6.1 <6.8" or "=6.1"',
    });
  });
});

describe('exclude files in fstests -E format', () => {
  it('keeps the comment as the reason and the line number as the source', () => {
    const rules = rulesFromExcludeFile('# header\ngeneric/475   # flaky: https://lore.kernel.org/x\n\n  xfs/007\n', 'my.exclude', 'cli');
    expect(rules).toEqual([
      { layer: 'cli', source: 'my.exclude:2', line: 'generic/475', reason: 'flaky: https://lore.kernel.org/x' },
      { layer: 'cli', source: 'my.exclude:4', line: 'xfs/007' },
    ]);
  });
});

describe('applyExcludes', () => {
  const rule = (layer: ExcludeRule['layer'], line: string, extra: Partial<ExcludeRule> = {}): ExcludeRule => ({ layer, source: `${layer}.exclude:1`, line, ...extra });
  const tests = ['generic/001', 'generic/002', 'generic/475', 'xfs/007', 'xfs/0071'];

  it('removes each test by the first layer that names it, in the order config, suite, section, -E', () => {
    const rules = [rule('cli', 'generic/001'), rule('section', 'generic/001'), rule('suite', 'xfs/007'), rule('config', 'generic/475')];
    const { kept, excluded } = applyExcludes(tests, rules, [6, 1, 0]);
    expect(kept).toEqual(['generic/002', 'xfs/0071']);
    expect(excluded.map((e) => [e.test, e.rule.layer])).toEqual([
      ['generic/001', 'section'],
      ['generic/475', 'config'],
      ['xfs/007', 'suite'],
    ]);
    expect(describeExclusions([{ section: 'xfs/4k', tests: kept, excluded }])).toEqual([
      '1 by the config file (config.exclude)',
      '1 by the suite (suite.exclude)',
      '1 by the section (section.exclude)',
    ]);
  });

  it('applies a kernel-guarded rule only to the kernels it names, and to an unknown kernel', () => {
    const rules = [rule('suite', 'generic/475', { kernel: parseKernelCondition('<6.6', 'x'), kernelText: '<6.6' })];
    expect(applyExcludes(tests, rules, [6, 1, 0]).excluded.map((e) => e.test)).toEqual(['generic/475']);
    expect(applyExcludes(tests, rules, [6, 8, 0]).excluded).toEqual([]);
    expect(applyExcludes(tests, rules, undefined).excluded.map((e) => e.test)).toEqual(['generic/475']);
  });

  it('matches lines the way check -E does: the id and a word boundary', () => {
    const { excluded } = applyExcludes(tests, [rule('cli', 'xfs/007 some trailing text')], undefined);
    expect(excluded.map((e) => e.test)).toEqual(['xfs/007']);
  });
});
