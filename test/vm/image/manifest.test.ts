import { describe, expect, it } from 'vitest';
import { parseDpkgStatus } from '../../../src/vm/image/manifest.js';

describe('parseDpkgStatus', () => {
  it('lists installed packages with their versions, skipping removed ones', () => {
    const status = [
      'Package: tini\nStatus: install ok installed\nPriority: optional\nVersion: 0.19.0-1+b3\n',
      'Package: initramfs-tools\nStatus: deinstall ok config-files\nVersion: 0.142\n',
      'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u13\nDescription: GNU C Library\n Version: not this one\n',
    ].join('\n');
    expect(parseDpkgStatus(status)).toEqual({ tini: '0.19.0-1+b3', libc6: '2.36-9+deb12u13' });
  });
});
