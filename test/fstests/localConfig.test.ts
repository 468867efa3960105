/** The config files kt writes for check, compared with the samples' real local.config files. */
import { describe, expect, test } from 'vitest';
import { isKtError } from '../../src/errors.js';
import { renderLocalConfig, renderSectionsConfig, shellQuote } from '../../src/fstests/localConfig.js';
import { readSample } from './helpers.js';

describe('renderLocalConfig', () => {
  test('renders the sample local.config byte for byte', () => {
    const text = renderLocalConfig({
      comment: 'written by the harness',
      fstyp: 'xfs',
      testDev: '/dev/disk/by-id/virtio-test',
      testDir: '/mnt/test',
      scratchDev: '/dev/disk/by-id/virtio-scratch',
      scratchMnt: '/mnt/scratch',
      resultBase: '/job/results',
      extra: { CANON_DEVS: 'yes' },
    });
    expect(text).toBe(readSample('pass-three-real-tests', 'local.config'));
  });

  test('quotes values for bash; options and extras follow in order', () => {
    const text = renderLocalConfig({
      fstyp: 'xfs',
      testDev: '/dev/vdb',
      testDir: '/mnt/test dir',
      scratchDev: '/dev/vdc',
      scratchMnt: '/mnt/scratch',
      resultBase: '/run/kt/results',
      mkfsOptions: '-m reflink=1',
      mountOptions: '',
      extra: { TIME_FACTOR: '1', WEIRD: `it's $HOME \`x\`` },
    });
    expect(text).toBe(
      [
        '# written by kt',
        'export FSTYP=xfs',
        'export TEST_DEV=/dev/vdb',
        "export TEST_DIR='/mnt/test dir'",
        'export SCRATCH_DEV=/dev/vdc',
        'export SCRATCH_MNT=/mnt/scratch',
        'export RESULT_BASE=/run/kt/results',
        "export MKFS_OPTIONS='-m reflink=1'",
        "export MOUNT_OPTIONS=''",
        'export TIME_FACTOR=1',
        "export WEIRD='it'\\''s $HOME `x`'",
        '',
      ].join('\n'),
    );
  });

  test('refuses bad names and a variable given twice', () => {
    const base = {
      fstyp: 'xfs',
      testDev: '/dev/vdb',
      testDir: '/mnt/test',
      scratchDev: '/dev/vdc',
      scratchMnt: '/mnt/scratch',
      resultBase: '/r',
    };
    const extras: Array<Record<string, string>> = [{ 'BAD-NAME': 'x' }, { FSTYP: 'ext4' }];
    for (const extra of extras) {
      let err: unknown;
      try {
        renderLocalConfig({ ...base, extra });
      } catch (e) {
        err = e;
      }
      expect(isKtError(err) && err.code).toBe('E_FSTESTS_CONFIG');
    }
  });

  test('shellQuote round-trips through bash semantics for awkward values', () => {
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("'")).toBe("''\\'''");
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('/dev/disk/by-id/virtio-test')).toBe('/dev/disk/by-id/virtio-test');
  });
});

describe('renderSectionsConfig', () => {
  test('renders the sample sections config byte for byte', () => {
    const text = renderSectionsConfig(
      [
        {
          name: 'xfs_reflink',
          vars: {
            TEST_DEV: '/dev/vdb',
            TEST_DIR: '/mnt/test',
            SCRATCH_DEV: '/dev/vdc',
            SCRATCH_MNT: '/mnt/scratch',
            FSTYP: 'xfs',
            RESULT_BASE: '/job/results',
            MKFS_OPTIONS: '-m reflink=1',
          },
        },
        { name: 'xfs_noreflink', vars: { MKFS_OPTIONS: '-m reflink=0' } },
      ],
      'fstests config with sections (used by run B)',
    );
    expect(text).toBe(readSample('two-sections-timestamps-loop', 'local.config'));
  });

  test.each([
    ['a#b', '"#"'],
    ['say "hi"', 'a quote'],
    ['$HOME', 'expanded by eval'],
    ['-o a = b', 'blanks around "="'],
    [' lead', 'leading or trailing blanks'],
    ['two\nlines', 'a line break'],
  ])('refuses the value %j (%s)', (value, what) => {
    let err: unknown;
    try {
      renderSectionsConfig([{ name: 's', vars: { MKFS_OPTIONS: value } }]);
    } catch (e) {
      err = e;
    }
    expect(isKtError(err) && err.code).toBe('E_FSTESTS_CONFIG');
    expect((err as Error).message).toContain(what);
    expect((err as Error).message).toContain('[s]');
  });

  test('refuses bad and duplicate section names', () => {
    expect(() => renderSectionsConfig([{ name: 'a b', vars: {} }])).toThrow(/section name/);
    expect(() =>
      renderSectionsConfig([
        { name: 'a', vars: {} },
        { name: 'a', vars: {} },
      ]),
    ).toThrow(/appears twice/);
  });
});
