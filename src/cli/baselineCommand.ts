/**
 * `kt baseline update RUN_DIR... [--baseline FILE]` folds run records into the baseline file and
 * prints what changed; `kt baseline show [--baseline FILE]` prints what it holds. The file and
 * the rules: docs/baseline.md. Everything is read and checked before the file is replaced, so a
 * damaged run directory or baseline leaves the user's file as it was (exit 2).
 */
import { ExitCode, UsageError } from '../errors.js';
import { countedRuns, DEFAULT_BASELINE_FILE, emptyBaseline, failingRuns, serializeBaseline, type Baseline } from '../baseline/format.js';
import { describeEntry, updateBaseline, type BaselineChanges } from '../baseline/update.js';
import { summarizeRun } from '../record/summarize.js';
import { baselinePath, readBaseline, readBaselineIfAny, writeBaselineText } from './baselineFile.js';
import { readLogs } from './reportCommand.js';
import { ktVersion } from './version.js';
import { printWarning } from './printWarning.js';

/** Names listed before "and N more". */
const LIST_LIMIT = 10;

function listed(names: string[]): string {
  const shown = names.slice(0, LIST_LIMIT).join(', ');
  return names.length > LIST_LIMIT ? `${shown} and ${names.length - LIST_LIMIT} more` : shown;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Tests and sections a baseline holds. */
function size(b: Baseline): string {
  const sections = Object.keys(b.sections);
  const tests = sections.reduce((n, s) => n + Object.keys(b.sections[s] ?? {}).length, 0);
  return `${plural(b.runs.length, 'run')}; ${plural(tests, 'test')} in ${plural(sections.length, 'section')}`;
}

/** The lines `kt baseline update` prints about what it changed. */
export function describeChanges(file: string, created: boolean, changes: BaselineChanges, after: Baseline, fileVersion = after.version): string[] {
  const out: string[] = [];
  const ids = (list: string[]) => `(${listed(list)})`;
  const added = `${plural(changes.added.length, 'run')} ${ids(changes.added.map((r) => r.runId))}`;
  const skipped = changes.skipped.length > 0 ? `; skipped ${changes.skipped.length} already in it ${ids(changes.skipped)}` : '';
  out.push(`kt: baseline ${file}: ${created ? 'created with' : 'added'} ${added}${skipped}`);
  out.push(`  now ${size(after)}`);
  if (fileVersion < after.version) {
    // A kt that reads only the old version refuses the file from now on (E_BASELINE_VERSION).
    out.push(`  format version ${fileVersion} → ${after.version}: it now also counts crashes and timeouts a retry came after, from the runs added now on (the runs already in it keep none; to count theirs, record their run directories into a new file); kt older than this one cannot read it`);
  }
  for (const section of changes.newSections) out.push(`  new section ${section}: ${plural(Object.keys(after.sections[section] ?? {}).length, 'test')}`);
  const bySection = new Map<string, string[]>();
  for (const t of changes.newTests) bySection.set(t.section, [...(bySection.get(t.section) ?? []), t.test]);
  for (const [section, tests] of bySection) out.push(`  new tests in ${section}: ${listed(tests)}`);
  for (const f of changes.firstFailures) out.push(`  first failure: ${f.test} [${f.section}]: ${describeEntry(f.entry)}`);
  for (const t of changes.newTitles) out.push(`  new crash title: ${t.test} [${t.section}]: ${t.title}`);
  return out;
}

export async function baselineUpdateCli(runDirs: string[], given: string | string[] | undefined): Promise<number> {
  if (runDirs.length === 0) throw new UsageError('E_BASELINE_NO_RUN_DIR', 'no run directory given', 'pass the run directories to record: kt baseline update kt-results/<run-id>...');
  const file = baselinePath(given, DEFAULT_BASELINE_FILE)!;
  // Both are read and checked before anything is written: a refusal leaves the file as it was.
  const read = readBaselineIfAny(file);
  const before = read?.baseline;
  const { logs, warnings } = await readLogs(runDirs);
  for (const w of warnings) printWarning(w);
  const writtenBy = `kt ${ktVersion()}`;
  const { baseline, changes } = updateBaseline(before ?? emptyBaseline(writtenBy), logs.map((l) => summarizeRun(l.events)), writtenBy);
  if (changes.added.length === 0) {
    process.stdout.write(`kt: baseline ${file}: nothing to add, every run is already in it (${listed(changes.skipped)})\n`);
    return ExitCode.ok;
  }
  await writeBaselineText(file, serializeBaseline(baseline));
  process.stdout.write(`${describeChanges(file, before === undefined, changes, baseline, read?.fileVersion).join('\n')}\n`);
  return ExitCode.ok;
}

/** `kt baseline show`: per section, its tests that failed in some recorded run, with their rates. */
export function renderBaseline(file: string, b: Baseline): string {
  const out: string[] = [];
  const first = b.runs[0]?.startedAt;
  const last = b.runs.at(-1)?.startedAt;
  out.push(`${file}: ${size(b)}${first ? `; runs from ${first} to ${last}` : ''}; written by ${b.writtenBy}`);
  for (const section of Object.keys(b.sections).sort()) {
    const tests = b.sections[section] ?? {};
    const failing = Object.keys(tests)
      .sort()
      .filter((t) => failingRuns(tests[t]!) > 0);
    const notRun = Object.keys(tests).filter((t) => countedRuns(tests[t]!) === 0);
    out.push(`${section}: ${plural(Object.keys(tests).length, 'test')}, ${failing.length === 0 ? 'none failing' : `${failing.length} failing`}${notRun.length > 0 ? `, ${notRun.length} never ran (not run or kt errors)` : ''}`);
    for (const t of failing) {
      const entry = tests[t]!;
      const titles = Object.entries(entry.titles).map(([title, n]) => `${title} (${n})`);
      out.push(`  ${t}  ${describeEntry(entry)}${titles.length > 0 ? `; ${titles.join('; ')}` : ''}`);
    }
  }
  return `${out.join('\n')}\n`;
}

export function baselineShowCli(given: string | string[] | undefined): number {
  const file = baselinePath(given, DEFAULT_BASELINE_FILE)!;
  process.stdout.write(renderBaseline(file, readBaseline(file)));
  return ExitCode.ok;
}
