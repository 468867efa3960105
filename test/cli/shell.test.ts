/**
 * `kt shell` refusing what it cannot boot, through the real binary, before any VM starts:
 * exit 2, the error code and the bad input echoed, nothing left behind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI_TIMEOUT_MS, kt } from './helpers.js';

const TREE = fileURLToPath(new URL('../fixtures/fstests', import.meta.url));
let cwd: string;
beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-shell-cli-'));
});
afterEach(() => fs.rmSync(cwd, { recursive: true, force: true }));

describe('kt shell usage errors', () => {
  it('needs a terminal for the interactive shell', async () => {
    const r = await kt(['shell', '--fstests', TREE], { cwd });
    expect(r.code).toBe(2);
    expect(r.err).toContain('kt: error E_SHELL_NO_TERMINAL: kt shell without a command needs a terminal, and stdin is not one');
    expect(r.err).toContain('hint: run one command instead: kt shell -- CMD [ARGS...], e.g. kt shell -- ./check generic/001');
  }, CLI_TIMEOUT_MS);

  it('boots one section', async () => {
    const r = await kt(['shell', '--fstests', TREE, '-c', 'xfs/4k,xfs/1k', '--', 'true'], { cwd });
    expect(r.code).toBe(2);
    expect(r.err).toContain('kt: error E_SHELL_ONE_SECTION: kt shell boots one section; 2 were given (xfs/4k, xfs/1k)');
  }, CLI_TIMEOUT_MS);

  it('wants the test of a run directory, and a run directory that exists', async () => {
    const noTest = await kt(['shell', 'kt-results/latest'], { cwd });
    expect(noTest.code).toBe(2);
    expect(noTest.err).toContain('kt: error E_SHELL_TEST_NEEDED: kt shell kt-results/latest: a run directory needs the test to boot for');
    const noDir = await kt(['shell', 'no-such-run', 'generic/001', '--', 'true'], { cwd });
    expect(noDir.code).toBe(2);
    expect(noDir.err).toContain('kt: error E_SHELL_RUN_DIR: run directory no-such-run does not exist');
  }, CLI_TIMEOUT_MS);

  it('refuses --disks without a kept VM in it, and run flags that do not shape a VM', async () => {
    const disks = await kt(['shell', '--fstests', TREE, '--disks', 'nowhere/vm1', '--', 'true'], { cwd });
    expect(disks.code).toBe(2);
    expect(disks.err).toContain('kt: error E_SHELL_KEPT_DISK_MISSING: nowhere/vm1 holds no test.img: it is not the directory of a kept VM');
    const jobs = await kt(['shell', '--fstests', TREE, '-j', '2', '--', 'true'], { cwd });
    expect(jobs.code).toBe(2);
    expect(jobs.err).toContain('Unknown argument');
    // Refused before anything boots: not even an empty results directory is left.
    expect(fs.existsSync(path.join(cwd, 'kt-results'))).toBe(false);
  }, CLI_TIMEOUT_MS);
});
