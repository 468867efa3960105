import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkKernelConfig } from '../../src/kconfig/check.js';
import { diffKernelConfigs, parseKernelConfig } from '../../src/kconfig/configText.js';
import { FRAGMENT_HEADER, fragmentLines, parseFragmentRequests, refusedSymbols, renderFragment, requirementsToFix } from '../../src/kconfig/fragment.js';
import { XFS_IMAGE_CONTEXT } from './contexts.js';

const read = (name: string) => fs.readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const tiny = parseKernelConfig(read('tinyconfig-6.1.192.config'));
const fixed = parseKernelConfig(read('tinyconfig-kt-fix-6.1.192.config'));

const ctx = XFS_IMAGE_CONTEXT;

describe("kt's fragment for make tinyconfig", () => {
  const check = checkKernelConfig(tiny, ctx);
  const lines = fragmentLines(requirementsToFix(check, { requiredOnly: false }), tiny);
  const symbols = lines.map((l) => l.symbol);

  it('sets each symbol once, every dependency before the option that needs it', () => {
    expect(new Set(symbols).size).toBe(symbols.length);
    const at = (s: string) => symbols.indexOf(s);
    expect(at('PCI')).toBeLessThan(at('VIRTIO_PCI'));
    expect(at('VIRTIO_MENU')).toBeLessThan(at('VIRTIO_PCI'));
    expect(at('VIRTIO_PCI')).toBeLessThan(at('VIRTIO_BLK'));
    expect(at('BLOCK')).toBeLessThan(at('XFS_FS'));
    expect(at('XFS_FS')).toBeLessThan(at('XFS_QUOTA'));
    expect(at('MD')).toBeLessThan(at('BLK_DEV_DM'));
    expect(at('BLK_DEV_DM')).toBeLessThan(at('DM_FLAKEY'));
  });

  it('adds the Kconfig parents that are no requirement of their own, saying for whom', () => {
    expect(lines.find((l) => l.symbol === 'VIRTIO_MENU')).toEqual({ symbol: 'VIRTIO_MENU', value: 'y', comment: 'needed by CONFIG_VIRTIO_PCI' });
    expect(lines.find((l) => l.symbol === 'HW_RANDOM')?.comment).toBe('needed by CONFIG_HW_RANDOM_VIRTIO');
  });

  it('with --required-only leaves the recommended options out', () => {
    const required = fragmentLines(requirementsToFix(check, { requiredOnly: true }), tiny).map((l) => l.symbol);
    expect(required).toContain('XFS_FS');
    expect(required).not.toContain('PVPANIC_PCI');
    expect(required).not.toContain('DM_FLAKEY');
  });

  it('is what kt kconfig fix merged: Kconfig kept every value it asked for', () => {
    const text = renderFragment(lines, 'test');
    expect(text.split('\n')[0]).toBe(FRAGMENT_HEADER);
    const requests = parseFragmentRequests(text);
    expect(requests.size).toBe(lines.length);
    expect(refusedSymbols(requests, fixed)).toEqual([]);
    // Everything asked changed from n to what was asked (y, or m for scsi_debug) in the real merge.
    const changed = new Map(diffKernelConfigs(tiny, fixed).map((c) => [c.symbol, c]));
    for (const [s, v] of requests) expect(changed.get(s), s).toEqual({ symbol: s, from: 'n', to: v });
    expect(requests.get('SCSI_DEBUG')).toBe('m');
  });
});

describe('refusedSymbols', () => {
  it('reports values Kconfig did not keep, and symbols the tree does not define', () => {
    const requests = new Map([
      ['XFS_FS', 'y'],
      ['VIRTIO_MENU', 'y'],
      ['NO_SUCH_OPTION', 'y'],
    ]);
    const final = parseKernelConfig('CONFIG_XFS_FS=m\n# CONFIG_VIRTIO_MENU is not set\n');
    expect(refusedSymbols(requests, final, new Set(['XFS_FS', 'VIRTIO_MENU']))).toEqual([
      { symbol: 'XFS_FS', requested: 'y', actual: 'm', unknown: false },
      { symbol: 'VIRTIO_MENU', requested: 'y', actual: 'n', unknown: false },
      { symbol: 'NO_SUCH_OPTION', requested: 'y', actual: 'n', unknown: true },
    ]);
  });
});

describe('.config parsing', () => {
  it('reads set, module, string and "is not set" lines', () => {
    expect(tiny.get('64BIT')).toBe('n');
    expect(tiny.get('X86_32')).toBe('y');
    expect(tiny.get('LOCALVERSION')).toBe('""');
    expect(fixed.get('64BIT')).toBe('y');
    const cloud = parseKernelConfig(read('debian-6.1.192-cloud-amd64.config'));
    expect(cloud.get('XFS_FS')).toBe('m');
    expect(cloud.get('HZ')).toBe('250');
  });
});
