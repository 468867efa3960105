/** Shared paths and loaders for the fstests tests. */
import { isKtError, type KtError } from '../../src/errors.js';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseGroupList } from '../../src/fstests/groupList.js';
import type { TestTree } from '../../src/fstests/testTree.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Real fstests output, copied verbatim (samples/README.md). */
export const SAMPLES = path.join(here, 'samples');
/** Golden event files of the check output parser. */
export const GOLDEN = path.join(here, 'golden');
/** kt's fixture fstests tree. */
export const FIXTURE = path.resolve(here, '../fixtures/fstests');

export function readSample(...parts: string[]): string {
  return fs.readFileSync(path.join(SAMPLES, ...parts), 'utf8');
}

/** The sample folders that hold a check stdout capture, sorted. */
export function sampleRuns(): string[] {
  return fs
    .readdirSync(SAMPLES)
    .filter((d) => fs.existsSync(path.join(SAMPLES, d, 'check-stdout.txt')))
    .sort();
}

/** A TestTree over the sample group lists (generic, xfs, ext4, btrfs, selftest). */
export function sampleTree(): TestTree {
  const dirs = new Map<string, Map<string, string[]>>();
  for (const file of fs.readdirSync(path.join(SAMPLES, 'group-lists'))) {
    dirs.set(file.replace(/\.group\.list$/, ''), parseGroupList(readSample('group-lists', file)));
  }
  return { root: '/samples', dirs };
}

/** The KtError a call throws; fails the test if it throws anything else or nothing. */
export function errorOf(fn: () => unknown): KtError {
  try {
    fn();
  } catch (err) {
    if (isKtError(err)) return err;
    throw err;
  }
  throw new Error('expected a KtError');
}
