/**
 * Copying a finished test's result files out of the guest: fstests' `<seq>.full`, `.dmesg`,
 * `.out.bad` (check names them in $RESULT_DIR, see fstests' `check`), tails only.
 */
import type { TestArtifacts } from '../record/events.js';
import type { TestOutcome } from '../record/outcome.js';
import type { Machine } from '../vm/machine.js';
import { parseFetchedArtifacts, renderFetchArtifacts, type ArtifactExtension } from './guestCommands.js';
import type { WorkItem } from './workQueue.js';

/** What the record keeps of a test's files: run-dir paths, and capped texts for JUnit. */
export interface FetchedArtifacts {
  artifacts: TestArtifacts;
  dmesg?: string;
  fullTail?: string;
}

/** Caps of the texts kept in the event itself (the files hold the full tails). */
const DMESG_KEEP_BYTES = 64 * 1024;
const FULL_KEEP_BYTES = 16 * 1024;

const FIELD: Record<ArtifactExtension, keyof TestArtifacts | undefined> = { full: 'full', dmesg: 'dmesg', 'out.bad': 'outBad', notrun: undefined };

/** Fetches, saves (through `save`) and returns what the record keeps. Never throws: a lost VM yields no files. */
export async function fetchArtifacts(
  machine: Machine,
  item: WorkItem,
  outcome: TestOutcome,
  resultDir: string,
  save: (item: WorkItem, ext: string, data: Buffer) => string,
): Promise<FetchedArtifacts> {
  const artifacts: TestArtifacts = {};
  let files: Map<ArtifactExtension, { size: number; tail: Buffer }>;
  try {
    const out: Buffer[] = [];
    const r = await machine.exec(renderFetchArtifacts(item.test, resultDir), { onStdout: (c) => out.push(c), timeoutMs: 60_000 });
    // A file gone mid-copy leaves the bodies after it misaligned: keep none rather than mislabel.
    if (r.exitCode !== 0) return { artifacts };
    files = parseFetchedArtifacts(Buffer.concat(out));
  } catch {
    return { artifacts };
  }
  for (const [ext, file] of files) {
    const field = FIELD[ext];
    if (field) artifacts[field] = save(item, ext, file.tail);
  }
  const text = (ext: ArtifactExtension, max: number) => {
    const f = files.get(ext);
    return f ? f.tail.subarray(Math.max(0, f.tail.length - max)).toString('utf8') : undefined;
  };
  const dmesg = text('dmesg', DMESG_KEEP_BYTES);
  // The .full of a passing test is rarely read; keep the record small.
  const fullTail = outcome.status === 'passed' ? undefined : text('full', FULL_KEEP_BYTES);
  return { artifacts, ...(dmesg ? { dmesg } : {}), ...(fullTail ? { fullTail } : {}) };
}
