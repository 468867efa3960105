/**
 * Running the real CLI (dist/, built by `npm test`) as a user would, and looking at what it left.
 */
import { execa } from 'execa';
import { expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventLogWriter } from '../../src/record/eventLog.js';
import type { RunEvent } from '../../src/record/events.js';

/** A run directory at `dir` (made with its parents) holding the event log `kt run` would have written. */
export function writeRunDir(dir: string, events: readonly RunEvent[]): string {
  fs.mkdirSync(dir, { recursive: true });
  const writer = EventLogWriter.open(dir, { durable: false });
  for (const e of events) writer.append(e);
  writer.close();
  return dir;
}

export const KT = fileURLToPath(new URL('../../bin/kt.js', import.meta.url));

/** Spawning node costs 1–3 s on a busy 2-core machine: CLI tests get this much per case. */
export const CLI_TIMEOUT_MS = 60_000;

export async function kt(args: string[], opts: { cwd: string; env?: Record<string, string>; input?: string }) {
  const r = await execa('node', [KT, ...args], {
    reject: false,
    cwd: opts.cwd,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' }),
  });
  return { code: r.exitCode, err: String(r.stderr), out: String(r.stdout) };
}

/** Every file under `dir` with its bytes, to prove a command changed nothing. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p).toString('base64');
    }
  };
  walk(dir);
  return out;
}

/** Runs kt in `dir` and checks exit 2, the exact stderr, and that nothing under `dir` changed. */
export async function expectUsageIn(dir: string, args: string[], stderr: string, env: Record<string, string> = {}): Promise<void> {
  const before = snapshot(dir);
  const r = await kt(args, { cwd: dir, env });
  expect(r.err).toBe(stderr);
  expect(r.code).toBe(2);
  expect(snapshot(dir)).toEqual(before);
}
