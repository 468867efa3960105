import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeRunConfig } from '../../src/config/runConfig.js';

/** `--test-dev` / `testDev:`: where a VM's TEST_DEV filesystem comes from (docs/vm-trust.md). */
describe('the run config: testDev', () => {
  let root: string;
  let tree: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-testdev-'));
    tree = path.join(root, 'fstests');
    fs.mkdirSync(tree);
    fs.writeFileSync(path.join(tree, 'check'), '#!/bin/bash\n');
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const normalize = (args: Record<string, unknown>, argv: string[] = []) => normalizeRunConfig({ fstests: tree, ...args }, argv, { HOME: root }, root);

  it('is a template by default, the flag or kt.yaml may say mkfs, and the flag wins', () => {
    expect(normalize({}).testDev).toBe('template');
    expect(normalize({ testDev: 'mkfs' }).testDev).toBe('mkfs');
    fs.writeFileSync(path.join(root, 'kt.yaml'), 'testDev: mkfs\n');
    try {
      expect(normalize({}).testDev).toBe('mkfs');
      expect(normalize({ testDev: 'template' }).testDev).toBe('template');
    } finally {
      fs.rmSync(path.join(root, 'kt.yaml'));
    }
  });

  it('refuses anything else, naming the value, the flag and the fix', () => {
    expect(() => normalize({ testDev: 'copy' })).toThrow(/--test-dev copy is not one of template, mkfs/);
    fs.writeFileSync(path.join(root, 'kt.yaml'), 'testDev: snapshot\n');
    try {
      expect(() => normalize({})).toThrow(/testDev/);
    } finally {
      fs.rmSync(path.join(root, 'kt.yaml'));
    }
  });
});
