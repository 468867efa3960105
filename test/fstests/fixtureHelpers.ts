/** Copies and builds kt's fixture fstests tree in a scratch directory for a test. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { FIXTURE } from './helpers.js';

/** Files `make` writes or a run leaves in the tree: never copied. */
const BUILD_PRODUCTS = /(^|\/)(group\.list|fsstress|local\.config|results)$/;

/** A fresh copy of the fixture tree under a new temp directory; returns its path. */
export function copyFixtureTree(prefix = 'kt-fixture-'): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), prefix)), 'fstests');
  fs.cpSync(FIXTURE, dir, {
    recursive: true,
    filter: (src) => !BUILD_PRODUCTS.test(path.relative(FIXTURE, src)),
  });
  return dir;
}

/** Why the tree cannot be built here (no make or C compiler), or undefined. */
export function buildToolsMissing(): string | undefined {
  for (const tool of ['make', 'cc']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) return `${tool} is not installed`;
  }
  return undefined;
}

/** Runs `make` in the tree; throws with make's output when it fails. */
export function buildFixtureTree(dir: string): void {
  const r = spawnSync('make', ['-s'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make in ${dir} failed:\n${r.stdout}${r.stderr}`);
}

/** A test file's built copy of the fixture tree (useBuiltFixtureTree): set in its beforeAll. */
export interface BuiltFixtureTree {
  /** The tree, built (`make` has written its group lists). */
  tree: string;
  /** Its scratch parent directory, for results, configs and a HOME with no user config. */
  root: string;
}

/**
 * A fresh copy of the fixture tree, built, for the tests of the calling file or describe block:
 * copied and built in a beforeAll, removed with its scratch directory in the matching afterAll,
 * so the one place that makes it also disposes of it.
 */
export function useBuiltFixtureTree(prefix: string, timeoutMs?: number): BuiltFixtureTree {
  const fixture: BuiltFixtureTree = { tree: '', root: '' };
  beforeAll(() => {
    fixture.tree = copyFixtureTree(prefix);
    fixture.root = path.dirname(fixture.tree);
    buildFixtureTree(fixture.tree);
  }, timeoutMs);
  afterAll(() => {
    if (fixture.root) fs.rmSync(fixture.root, { recursive: true, force: true });
  });
  return fixture;
}
