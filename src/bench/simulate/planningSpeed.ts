/**
 * Planning speed: wall time of `kt run --dry-run -g quick` on a real-sized fstests tree, node's
 * start included — what a user waits for before the first VM boots. The tree is made of the
 * real group lists of an fstests checkout (test/fstests/samples/group-lists/, ~1,000 quick
 * tests for xfs) and an empty `check`: planning reads only the group lists.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './guestTexts.js';

export interface PlanningFigures {
  /** Median wall ms of the runs. */
  dryRunMs: number;
  runsMs: number[];
  /** Tests in the plan (kt's "plan: N tests" line). */
  tests: number;
  command: string;
  /** The host's 1-minute load average when measured: the goal is for an idle machine. */
  loadAvg1: number;
}

function run(file: string, args: string[]): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ ms: performance.now() - started, stdout });
    });
  });
}

/** Builds tests/<dir>/group.list + check in a temp dir from the repository's real group lists. */
export function makeGroupListTree(): string {
  const lists = fileURLToPath(new URL('test/fstests/samples/group-lists/', REPO_ROOT));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-plan-tree-'));
  for (const name of fs.readdirSync(lists)) {
    const m = /^(.+)\.group\.list$/.exec(name);
    if (!m) continue;
    fs.mkdirSync(path.join(dir, 'tests', m[1]!), { recursive: true });
    fs.copyFileSync(path.join(lists, name), path.join(dir, 'tests', m[1]!, 'group.list'));
  }
  fs.writeFileSync(path.join(dir, 'check'), '#!/bin/sh\n', { mode: 0o755 });
  return dir;
}

export async function measurePlanning(runs = 5): Promise<PlanningFigures> {
  const tree = makeGroupListTree();
  const kt = fileURLToPath(new URL('bin/kt.js', REPO_ROOT));
  const args = [kt, 'run', '--dry-run', '-g', 'quick', '-j', '4', '--fstests', tree, '--results', path.join(tree, 'results')];
  try {
    await run(process.execPath, args); // warm the page cache
    const runsMs: number[] = [];
    let stdout = '';
    for (let i = 0; i < runs; i++) {
      const r = await run(process.execPath, args);
      runsMs.push(Math.round(r.ms));
      stdout = r.stdout;
    }
    const sorted = [...runsMs].sort((a, b) => a - b);
    return {
      dryRunMs: sorted[Math.floor(sorted.length / 2)]!,
      runsMs,
      tests: Number(/plan: (\d+) tests/.exec(stdout)?.[1] ?? Number.NaN),
      command: 'node bin/kt.js run --dry-run -g quick -j 4 --fstests <tree of test/fstests/samples/group-lists> --results <tmp>',
      loadAvg1: Math.round(os.loadavg()[0]! * 100) / 100,
    };
  } finally {
    fs.rmSync(tree, { recursive: true, force: true });
  }
}
