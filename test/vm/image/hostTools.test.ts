import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findImageBuildTools } from '../../../src/vm/image/hostTools.js';

describe('findImageBuildTools', () => {
  it('names the missing programs and the apt packages that ship them', () => {
    expect(() => findImageBuildTools('/nonexistent', [])).toThrow(
      expect.objectContaining({
        code: 'E_IMAGE_TOOL_MISSING',
        message: 'building the guest image needs mmdebstrap and mke2fs, which are not installed',
        hint: 'install it: apt-get install mmdebstrap e2fsprogs',
      }),
    );
  });

  it('finds executables on PATH', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-tools-'));
    try {
      for (const tool of ['mmdebstrap', 'mke2fs']) fs.writeFileSync(path.join(dir, tool), '#!/bin/sh\n', { mode: 0o755 });
      expect(findImageBuildTools(dir, [])).toEqual({
        mmdebstrap: path.join(dir, 'mmdebstrap'),
        mke2fs: path.join(dir, 'mke2fs'),
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
