/**
 * The baseline file (docs/baseline.md): per (section, test), how often each outcome happened in
 * the recorded runs — a failure *rate*, not a yes/no list — and which runs were folded in.
 *
 * It is meant to be committed next to a kernel tree or a CI config, so its text is made for
 * `git diff`: fixed field order, map keys sorted, one line per recorded run and one per test.
 * The zod schema is the one definition of what a reader accepts; it is strict, because a file
 * with fields this kt does not know would lose them when rewritten.
 */
import { z } from 'zod';
import { UsageError } from '../errors.js';

/** The `format` value that marks a kt baseline. */
export const BASELINE_FORMAT = 'kt-baseline';

/**
 * Version of the file format this kt writes; a reader refuses a newer one. Version 2 added
 * `crashedEarlier` and `timedoutEarlier`: a version 1 file is read as one where they are 0 (it
 * did not record them), and written back as version 2.
 */
export const BASELINE_VERSION = 2;
/** The versions this kt reads. */
export const BASELINE_READABLE_VERSIONS: readonly number[] = [1, 2];
/** The entry fields version 2 added. */
const VERSION_2_FIELDS = ['crashedEarlier', 'timedoutEarlier'] as const;

/** Where `kt baseline update`, `kt run --baseline` and `kt report --baseline` look by default. */
export const DEFAULT_BASELINE_FILE = 'kt-baseline.json';

const count = z.number().int().nonnegative();

/** The outcome counts of an entry: each recorded run is counted in exactly one of them. */
const OUTCOME_FIELDS = ['passed', 'failed', 'crashed', 'timedout', 'notrun', 'error'] as const;

/** What the recorded runs did with one test in one section (each run counts once). */
export const baselineEntrySchema = z
  .object({
    /** Runs that executed the test (any final status). */
    runs: count,
    /** Final status passed (a pass after a failed attempt counts here and in `flaky`). */
    passed: count.default(0),
    /** Final status failed (output mismatch, non-zero exit, _check_dmesg, ...). */
    failed: count.default(0),
    /** Final status crashed (a kernel panic or fatal oops while it ran). */
    crashed: count.default(0),
    /** Final status timed out (a hang). */
    timedout: count.default(0),
    /** Final status not run (fstests' _notrun). */
    notrun: count.default(0),
    /** Only kt's own errors in that run (infrastructure; no verdict on the kernel). */
    error: count.default(0),
    /** Runs in which it failed, crashed or timed out, then passed on a retry. */
    flaky: count.default(0),
    /**
     * Runs whose final status is another, in which an earlier attempt crashed (then a retry
     * passed, failed or timed out). Since version 2: what a final status alone loses, so that a
     * later crash with no trustworthy title is not called new (judge.ts).
     */
    crashedEarlier: count.default(0),
    /** The same for an earlier attempt that timed out (a hang with no report has no title). */
    timedoutEarlier: count.default(0),
    /** Kernel crash and hang titles seen while it ran → runs they were seen in. */
    titles: z.record(z.string(), count).default({}),
  })
  .strict()
  // What `kt baseline update` writes always holds these (update.ts fold: a run adds 1 to `runs`
  // and to one outcome count, 1 to `flaky` only with `passed`, 1 to each title it saw; every kt
  // that wrote baselines folded so). A file that breaks them was edited by hand or damaged,
  // and its rates would be nonsense: a failure rate above 100% (docs/baseline.md).
  .superRefine((entry, ctx) => {
    const sum = OUTCOME_FIELDS.reduce((total, field) => total + entry[field], 0);
    if (sum !== entry.runs) {
      const terms = OUTCOME_FIELDS.map((field) => `${field} ${entry[field]}`).join(' + ');
      ctx.addIssue({ code: 'custom', path: ['runs'], message: `runs is ${entry.runs}, but the outcome counts add up to ${sum} (${terms}); each run is counted in exactly one of them` });
    }
    if (entry.flaky > entry.passed) {
      ctx.addIssue({ code: 'custom', path: ['flaky'], message: `flaky is ${entry.flaky}, more than passed (${entry.passed}); a flaky run passed on a retry, so it is counted in passed too` });
    }
    // An earlier attempt's failure means a retry came after it, which then passed (flaky) or
    // failed in one of the other ways.
    const earlier = [
      ['crashedEarlier', entry.crashedEarlier, entry.flaky + entry.failed + entry.timedout, 'flaky + failed + timedout'],
      ['timedoutEarlier', entry.timedoutEarlier, entry.flaky + entry.failed + entry.crashed, 'flaky + failed + crashed'],
    ] as const;
    for (const [field, value, bound, terms] of earlier) {
      if (value > bound) ctx.addIssue({ code: 'custom', path: [field], message: `${field} is ${value}, more than ${terms} (${bound}); only a run with a retry after a failure can have one` });
    }
    for (const [title, seen] of Object.entries(entry.titles)) {
      if (seen > entry.runs) ctx.addIssue({ code: 'custom', path: ['titles', title], message: `title seen in ${seen} runs, more than the ${entry.runs} recorded` });
    }
  });
export type BaselineEntry = z.infer<typeof baselineEntrySchema>;

/** One run folded into the baseline: a run is never counted twice. */
export const baselineRunSchema = z
  .object({
    runId: z.string(),
    /** ISO start time. */
    startedAt: z.string(),
    /** How the run ended (completed, interrupted, error, killed). */
    status: z.string(),
    /** Kernel image it booted. */
    kernel: z.string(),
    /** `i/n` for a CI shard. */
    shard: z.string().optional(),
    /** kt that ran it. */
    ktVersion: z.string().optional(),
  })
  .strict();
export type BaselineRun = z.infer<typeof baselineRunSchema>;

export const baselineSchema = z
  .object({
    format: z.literal(BASELINE_FORMAT),
    /** Any readable version; parseBaseline hands on version BASELINE_VERSION. */
    version: z.number().int(),
    /** `kt <version>` that last wrote the file. */
    writtenBy: z.string(),
    /** Runs folded in, oldest first. */
    runs: z.array(baselineRunSchema),
    /** Section → test → entry. Section names are opaque (`SUITE/SECTION`, e.g. `xfs/4k`). */
    sections: z.record(z.string(), z.record(z.string(), baselineEntrySchema)),
  })
  .strict();
export type Baseline = z.infer<typeof baselineSchema>;

/** A baseline with no runs. */
export function emptyBaseline(writtenBy: string): Baseline {
  return { format: BASELINE_FORMAT, version: BASELINE_VERSION, writtenBy, runs: [], sections: {} };
}

/** An entry with no runs. */
export function emptyEntry(): BaselineEntry {
  return { runs: 0, passed: 0, failed: 0, crashed: 0, timedout: 0, notrun: 0, error: 0, flaky: 0, crashedEarlier: 0, timedoutEarlier: 0, titles: {} };
}

/** Runs in which the test failed, crashed or timed out at least once (final failure or flaky). */
export function failingRuns(entry: BaselineEntry): number {
  return entry.failed + entry.crashed + entry.timedout + entry.flaky;
}

/** Runs that say something about the test: it passed or failed (not run and kt errors left out). */
export function countedRuns(entry: BaselineEntry): number {
  return entry.passed + entry.failed + entry.crashed + entry.timedout;
}

/** Code-unit order: the same on every machine and locale, so the file diffs the same everywhere. */
function byKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedKeys<T>(record: Readonly<Record<string, T>>): string[] {
  return Object.keys(record).sort(byKey);
}

/** One entry on one line, zero counts left out, fields in schema order. */
function entryLine(entry: BaselineEntry): string {
  const out: Record<string, unknown> = { runs: entry.runs };
  for (const key of ['passed', 'failed', 'crashed', 'timedout', 'notrun', 'error', 'flaky', 'crashedEarlier', 'timedoutEarlier'] as const) {
    if (entry[key] > 0) out[key] = entry[key];
  }
  const titles = sortedKeys(entry.titles);
  if (titles.length > 0) out['titles'] = Object.fromEntries(titles.map((t) => [t, entry.titles[t]]));
  return JSON.stringify(out);
}

function runLine(run: BaselineRun): string {
  return JSON.stringify({
    runId: run.runId,
    startedAt: run.startedAt,
    status: run.status,
    kernel: run.kernel,
    ...(run.shard !== undefined ? { shard: run.shard } : {}),
    ...(run.ktVersion !== undefined ? { ktVersion: run.ktVersion } : {}),
  });
}

/** The file's text: stable for equal content, one line per run and per test. */
export function serializeBaseline(baseline: Baseline): string {
  const out: string[] = ['{'];
  out.push(`  "format": ${JSON.stringify(baseline.format)},`);
  // What this kt writes is this version, whatever version the file it read was.
  out.push(`  "version": ${BASELINE_VERSION},`);
  out.push(`  "writtenBy": ${JSON.stringify(baseline.writtenBy)},`);
  if (baseline.runs.length === 0) out.push('  "runs": [],');
  else {
    out.push('  "runs": [');
    baseline.runs.forEach((run, i) => out.push(`    ${runLine(run)}${i < baseline.runs.length - 1 ? ',' : ''}`));
    out.push('  ],');
  }
  const sections = sortedKeys(baseline.sections);
  if (sections.length === 0) out.push('  "sections": {}');
  else {
    out.push('  "sections": {');
    sections.forEach((section, si) => {
      const tests = baseline.sections[section] ?? {};
      const names = sortedKeys(tests);
      const comma = si < sections.length - 1 ? ',' : '';
      if (names.length === 0) {
        out.push(`    ${JSON.stringify(section)}: {}${comma}`);
        return;
      }
      out.push(`    ${JSON.stringify(section)}: {`);
      names.forEach((test, ti) => out.push(`      ${JSON.stringify(test)}: ${entryLine(tests[test]!)}${ti < names.length - 1 ? ',' : ''}`));
      out.push(`    }${comma}`);
    });
    out.push('  }');
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}

/** The first zod issue as "path: message". */
function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const key = issue.path.map(String).join('.');
  return key ? `${key}: ${issue.message}` : issue.message;
}

/**
 * Parses a baseline file's text; `file` only names it in messages. Refuses (UsageError, exit 2)
 * anything that is not a baseline this kt can rewrite without loss.
 */
export function parseBaseline(text: string, file: string): Baseline {
  return parseBaselineFile(text, file).baseline;
}

/** parseBaseline, also saying which format version the file was (`kt baseline update` tells an upgrade). */
export function parseBaselineFile(text: string, file: string): { baseline: Baseline; fileVersion: number } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError('E_BASELINE_DAMAGED', `${file} is not JSON (${(err as Error).message})`, `restore ${file} from version control, or give another --baseline`);
  }
  const head = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  if (head['format'] !== BASELINE_FORMAT) {
    throw new UsageError('E_BASELINE_NOT_A_BASELINE', `${file} is not a kt baseline (no "format": "${BASELINE_FORMAT}")`, 'give --baseline the file `kt baseline update` writes');
  }
  const version = head['version'];
  if (typeof version !== 'number' || !BASELINE_READABLE_VERSIONS.includes(version)) {
    throw new UsageError(
      'E_BASELINE_VERSION',
      `${file} is baseline format version ${JSON.stringify(version ?? null)}; this kt reads versions ${BASELINE_READABLE_VERSIONS.join(' and ')}`,
      'use the kt release that wrote it (see its "writtenBy"), or record a new baseline with this one',
    );
  }
  const parsed = baselineSchema.safeParse(raw);
  if (!parsed.success) {
    const counts = parsed.error.issues[0]?.code === 'custom';
    throw new UsageError(
      'E_BASELINE_DAMAGED',
      `${file} is damaged (${describeIssue(parsed.error)})`,
      counts
        ? `restore ${file} from version control, or fix that test's counts by hand: passed + failed + crashed + timedout + notrun + error = runs, flaky ≤ passed, crashedEarlier ≤ flaky + failed + timedout, timedoutEarlier ≤ flaky + failed + crashed (docs/baseline.md, "The baseline file")`
        : `restore ${file} from version control, or fix the named field by hand`,
    );
  }
  // A version 1 file recorded no earlier crashes or timeouts: read as none (zod's defaults), it
  // is the version 2 baseline of the same runs, and is written back as one. One that has them
  // was not written by a kt (a version 1 kt refuses the keys): refused as damaged.
  if (version === 1) {
    // parsed.success: the raw text has the schema's shape.
    const sections = (raw as { sections: Record<string, Record<string, Record<string, unknown>>> }).sections;
    for (const [section, tests] of Object.entries(sections)) {
      for (const [test, entry] of Object.entries(tests)) {
        const key = VERSION_2_FIELDS.find((k) => k in entry);
        if (key) {
          throw new UsageError(
            'E_BASELINE_DAMAGED',
            `${file} is damaged (sections.${section}.${test}.${key}: version 1 has no ${key}, version 2 added it)`,
            `restore ${file} from version control, or make its "version" 2 if a kt that writes version 2 wrote it`,
          );
        }
      }
    }
  }
  return { baseline: { ...parsed.data, version: BASELINE_VERSION }, fileVersion: version };
}
