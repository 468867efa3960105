/**
 * loadConfigFile: --config FILE, else ./kt.yaml, else the user's config. An empty --config is
 * refused like every other flag's empty value, not read as the current directory.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-load-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('loadConfigFile', () => {
  it("refuses --config '' (and blanks) with E_EMPTY_VALUE, even where ./kt.yaml exists", () => {
    fs.writeFileSync(path.join(dir, 'kt.yaml'), 'jobs: 2\n');
    for (const given of ['', '  ']) {
      expect(() => loadConfigFile(given, { HOME: dir }, dir)).toThrow(
        expect.objectContaining({ code: 'E_EMPTY_VALUE', exitCode: 2, message: '--config was given without a file', hint: 'give a YAML file, e.g. --config kt.yaml, or drop the flag' }),
      );
    }
  });

  it('still names a directory given as --config', () => {
    expect(() => loadConfigFile('.', { HOME: dir }, dir)).toThrow(expect.objectContaining({ code: 'E_CONFIG_NOT_A_FILE', message: 'config file . is a directory' }));
  });
});
