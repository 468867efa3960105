/**
 * How kt's command line reads flags: `--no-NAME` only for on/off flags, no yargs dot-notation,
 * and `kt image` as a command with actions. Bad forms exit 2 naming the flag, never an internal
 * error, and change nothing. Runs the real CLI (dist/): every case spawns node.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { negatedValueFlag } from '../../src/cli/argv.js';
import { droppedAfterDash } from '../../src/cli/main.js';
import { CLI_TIMEOUT_MS, kt as ktIn, expectUsageIn } from './helpers.js';

let tmp: string;
let tree: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-flags-'));
  tree = path.join(tmp, 'fst');
  fs.cpSync(new URL('../fixtures/fstests', import.meta.url).pathname, tree, { recursive: true });
  await execa('make', ['-s', '-C', tree]);
  fs.cpSync(new URL('../reporters/fixtures/real-tcg-run', import.meta.url).pathname, path.join(tmp, 'run1'), { recursive: true });
}, 300_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const kt = (args: string[]) => ktIn(args, { cwd: tmp });
const DRY = ['run', '--dry-run', '--accel', 'tcg', '-g', 'quick', '--fstests', 'fst'];

const expectUsage = (args: string[], stderr: string): Promise<void> => expectUsageIn(tmp, args, stderr);

const negated = (name: string, flag = `--${name}`) =>
  `kt: error E_FLAG_NEGATED: --no-${name}: ${flag} takes a value and has no --no- form (only on/off flags such as --keep have one)\n` +
  `  hint: give ${flag} VALUE, or drop the flag for its default`;

describe('negatedValueFlag (pure)', () => {
  const declared = { boolean: ['help', 'keep', 'dry-run'], alias: { group: ['g'] } };

  it('names the first --no-NAME of a flag that is not on/off', () => {
    expect(negatedValueFlag(['run', '--no-keep', '--no-config', '--no-fstests'], declared)).toBe('config');
    expect(negatedValueFlag(['run', '--no-g'], declared)).toBe('g');
  });

  it('accepts on/off flags in either spelling, and stops at --', () => {
    expect(negatedValueFlag(['run', '--no-keep', '--no-dry-run', '--no-dryRun'], declared)).toBeUndefined();
    expect(negatedValueFlag(['shell', '--', 'ls', '--no-config'], declared)).toBeUndefined();
    // yargs reads `--no-x=v` as the flag no-x (strict mode refuses it), not as a negation.
    expect(negatedValueFlag(['run', '--no-config=a'], declared)).toBeUndefined();
  });
});

describe('--no-NAME of a flag that takes a value: exit 2 naming it', () => {
  it('kt run, for each kind of flag (path, list, positional, baseline)', async () => {
    for (const name of ['config', 'fstests', 'kernel', 'results', 'group', 'exclude-file', 'module', 'share', 'tests', 'baseline', 'append']) {
      await expectUsage([...DRY, `--no-${name}`], negated(name));
    }
    await expectUsage([...DRY, '--no-g'], negated('g', '-g'));
  }, CLI_TIMEOUT_MS * 4);

  it('kt report, kconfig, shell and repro', async () => {
    await expectUsage(['report', 'run1', '--no-out'], negated('out'));
    await expectUsage(['kconfig', 'check', '--no-config'], negated('config'));
    await expectUsage(['shell', '--no-fstests', '--', 'true'], negated('fstests'));
    await expectUsage(['repro', 'run1', 'generic/001', '--no-section'], negated('section'));
  }, CLI_TIMEOUT_MS * 2);

  it('on/off flags keep their --no- form: --no-keep, --no-vmcore, --no-dry-run, last one wins', async () => {
    const r = await kt([...DRY, '--keep', '--no-keep', '--no-vmcore', '--no-dry-run', '--dry-run']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('kt: plan: 4 tests, 0 excluded, on 1 VM(s), section xfs/4k (FSTYP=xfs)');
    // --no-rebuild is read: the error is about the action, not the flag.
    expect((await kt(['image', 'nope', '--no-rebuild', '--no-system'])).err).toMatch(/^kt: error E_IMAGE_ACTION: /);
    const scan = await kt(['crash', 'scan', '--no-json', '/dev/null']);
    expect(scan.code).toBe(0);
  }, CLI_TIMEOUT_MS * 2);

  it('--append still reaches the kernel command line (and --no-append, refused above, no longer adds "false")', async () => {
    const r = await kt([...DRY, '--append', 'kt.flagtest=1']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/-append '[^']*kt\.flagtest=1/);
    expect(r.out).not.toMatch(/-append '[^']*\bfalse\b/);
  }, CLI_TIMEOUT_MS);
});

describe('droppedAfterDash (pure)', () => {
  it('returns the words after the first -- for every command but kt shell and kt compare', () => {
    expect(droppedAfterDash(['run', '--dry-run', '--', 'generic/001'], 'run')).toEqual(['generic/001']);
    expect(droppedAfterDash(['baseline', 'update', 'a', '--', 'b', '--', '--baseline', 'f'], 'baseline')).toEqual(['b', '--', '--baseline', 'f']);
    expect(droppedAfterDash(['shell', '--', 'ls', '-l'], 'shell')).toEqual([]);
    expect(droppedAfterDash(['compare', 'a', '--', 'b'], 'compare')).toEqual([]);
    // A bare trailing -- drops nothing.
    expect(droppedAfterDash(['run', '--dry-run', '--'], 'run')).toEqual([]);
    expect(droppedAfterDash(['run', 'generic/001'], 'run')).toEqual([]);
  });
});

describe('words after -- that the command does not read: exit 2 naming them, nothing done', () => {
  const refused = (command: string, words: string, hint: string) => `kt: error E_ARGS_AFTER_DASH: kt ${command} does not read words after --: ${words}\n  hint: ${hint}`;

  it('kt run and kt baseline update: no plan of the default list, no ./kt-baseline.json', async () => {
    await expectUsage([...DRY, '--', 'generic/001'], refused('run', 'generic/001', 'give tests as plain arguments: kt run generic/001'));
    await expectUsage(
      ['baseline', 'update', 'run1', '--', 'run1', '--baseline', 'b5.json'],
      refused('baseline', 'run1 --baseline b5.json', 'give run directories and options before any --: kt baseline update DIR... --baseline FILE'),
    );
    expect(fs.existsSync(path.join(tmp, 'kt-baseline.json'))).toBe(false);
  }, CLI_TIMEOUT_MS * 2);

  it('kt report, repro, kconfig and image (kt crash scan reads them as files)', async () => {
    await expectUsage(['report', 'run1', '--', '--out', 'x'], refused('report', '--out x', 'give run directories as plain arguments: kt report kt-results/<run-id> [--out DIR]'));
    await expectUsage(['repro', 'run1', 'generic/001', '--', '--count', '3'], refused('repro', '--count 3', 'give the run directory and the test as plain arguments: kt repro kt-results/<run-id> generic/001'));
    await expectUsage(['kconfig', 'fix', '--', 'linux'], refused('kconfig', 'linux', 'give the tree as a plain argument: kt kconfig fix ~/linux'));
    // `--` ends kt crash scan's options: a console log may be named -weird.log.
    fs.writeFileSync(path.join(tmp, '-weird.log'), '[    1.0] Kernel panic - not syncing: sysrq triggered crash\n');
    const scan = await kt(['crash', 'scan', '--no-json', '--', '-weird.log']);
    expect(scan.err).toBe('');
    expect(scan.out).toContain('sysrq triggered crash');
    await expectUsage(['image', 'build', '--', '--rebuild'], refused('image', '--rebuild', 'kt image build [--rebuild] takes no other arguments'));
  }, CLI_TIMEOUT_MS * 3);

  it('a bare trailing -- is no word: kt run plans as without it', async () => {
    const r = await kt([...DRY, '--']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('kt: plan: 4 tests, 0 excluded, on 1 VM(s), section xfs/4k (FSTYP=xfs)');
  }, CLI_TIMEOUT_MS);
});

describe("an empty --config is E_EMPTY_VALUE, not 'config file  is a directory'", () => {
  it('kt run', async () => {
    await expectUsage([...DRY, '--config', ''], 'kt: error E_EMPTY_VALUE: --config was given without a file\n  hint: give a YAML file, e.g. --config kt.yaml, or drop the flag');
  }, CLI_TIMEOUT_MS);
});

describe('no dot-notation: FLAG.KEY is an unknown option', () => {
  it('--fstests.a, -g.x, --append.x, --results.x, --section.x', async () => {
    for (const [flag, key] of [['--fstests.a', 'fstests.a'], ['-g.x', 'g.x'], ['--append.x', 'append.x'], ['--results.x', 'results.x'], ['--section.x', 'section.x']] as const) {
      await expectUsage([...DRY, flag, 'y'], `kt: error E_USAGE: Unknown argument: ${key}\n  hint: kt --help lists the commands and options`);
    }
  }, CLI_TIMEOUT_MS * 3);
});

describe('kt image: a command with actions', () => {
  const hint = '  hint: kt image build [--rebuild] builds or reuses the image; an image is a directory of the cache, deleted like any other (docs/image.md)';

  it('an unknown action is named, with the valid ones, and builds nothing', async () => {
    for (const action of ['delete', 'clean', 'rebuild']) {
      await expectUsage(['image', action], `kt: error E_IMAGE_ACTION: ${action} is not an action of kt image (its actions: build)\n${hint}`);
    }
    await expectUsage(['image'], `kt: error E_IMAGE_ACTION: kt image needs an action (its actions: build)\n${hint}`);
  }, CLI_TIMEOUT_MS * 2);

  it('no command lists every command', async () => {
    const r = await kt([]);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('kt: error E_USAGE: give a command: run, image build, report, kconfig, crash, baseline, compare, repro or shell');
  }, CLI_TIMEOUT_MS);
});

describe('--cpus: at most what QEMU q35 takes', () => {
  it('288 is the most, with the reason for a larger number (flag or kt.yaml)', async () => {
    const ok = await kt([...DRY, '--cpus', '288']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/ -smp 288 /);
    await expectUsage(
      [...DRY, '--cpus', '289'],
      "kt: error E_BAD_NUMBER: --cpus 289 is more vCPUs than QEMU's q35 machine takes (at most 288; QEMU 7.2 refuses more)\n  hint: give vCPUs per VM, e.g. --cpus 2",
    );
    await expectUsage([...DRY, '--cpus', '0'], 'kt: error E_BAD_NUMBER: --cpus 0 is not a whole number from 1 to 288\n  hint: give vCPUs per VM, e.g. --cpus 2');
    fs.writeFileSync(path.join(tmp, 'cpus.yaml'), 'cpus: 1024\n');
    try {
      await expectUsage(
        [...DRY, '--config', 'cpus.yaml'],
        "kt: error E_BAD_NUMBER: cpus.yaml: cpus 1024 is more vCPUs than QEMU's q35 machine takes (at most 288; QEMU 7.2 refuses more)\n  hint: give vCPUs per VM, e.g. --cpus 2",
      );
    } finally {
      fs.rmSync(path.join(tmp, 'cpus.yaml'));
    }
  }, CLI_TIMEOUT_MS * 2);
});

describe('a refused kt run or kt shell leaves no ./kt-results behind', () => {
  it('an unknown group, a missing kernel: exit 2 and no results directory', async () => {
    const cwd = path.join(tmp, 'fresh');
    fs.mkdirSync(cwd);
    try {
      const g = await ktIn(['run', '--fstests', tree, '-g', 'quik'], { cwd });
      expect(g.code).toBe(2);
      expect(g.err.split('\n')[0]).toMatch(/^kt: error E_UNKNOWN_GROUP: /);
      const s = await ktIn(['shell', '--fstests', tree, '--kernel', 'nope', '--', 'true'], { cwd });
      expect(s.code).toBe(2);
      expect(s.err.split('\n')[0]).toBe('kt: error E_KERNEL_MISSING: kernel file nope does not exist');
      expect(fs.readdirSync(cwd)).toEqual([]);
    } finally {
      fs.rmSync(cwd, { recursive: true });
    }
  }, CLI_TIMEOUT_MS);
});
