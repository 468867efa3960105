/**
 * Where report.html finds each run's files: a merged report (`kt report A B --out M`) links
 * into the shards' run directories, so every run id maps to its directory relative to M
 * (URL form: forward slashes).
 */
import path from 'node:path';
import type { RunEvent } from '../record/events.js';

/** Run id → its run directory relative to `outDir` ('' for outDir itself). */
export function relativeRunDirs(outDir: string, logs: readonly { dir: string; events: readonly RunEvent[] }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const log of logs) {
    const rel = path.relative(outDir, log.dir).split(path.sep).join('/');
    for (const e of log.events) if (e.type === 'run-start' && !(e.runId in out)) out[e.runId] = rel;
  }
  return out;
}
