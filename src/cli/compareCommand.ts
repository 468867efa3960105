/**
 * `kt compare BASE HEAD` / `kt compare BASE... -- HEAD...`: did HEAD regress against BASE? The
 * base runs form a baseline, the head runs are judged against it (src/baseline/compare.ts), so
 * the rules are those of `kt run --baseline` (docs/baseline.md). The exit code is `kt report
 * --baseline`'s (compareOutcome.ts): 1 when the head regressed or had a kernel crash outside
 * every test that the base did not have, 3 when it did not complete
 * (130/143 interrupted), had tests with only kt errors or ran nothing, else 0; 2 for bad input
 * (damaged logs are refused like `kt report` refuses them).
 */
import { UsageError, printable } from '../errors.js';
import { compareRuns } from '../baseline/compare.js';
import { summarizeRun } from '../record/summarize.js';
import { compareOutcome } from './compareOutcome.js';
import { renderCompareJson, renderCompareMarkdown, renderCompareText } from './compareReport.js';
import { readLogs } from './reportCommand.js';
import { printWarning } from './printWarning.js';

const FORMATS = ['text', 'md', 'json'] as const;
type Format = (typeof FORMATS)[number];

/** The two sets: `A B`, or everything before `--` against everything after it. */
export function splitCompareArgs(dirs: readonly string[], rawArgv: readonly string[]): { base: string[]; head: string[]; format?: string[] } {
  const dash = rawArgv.indexOf('--');
  if (dash >= 0) {
    const base = [...dirs];
    // yargs stops parsing at --, so options after the head runs (`-- new --format md`, as
    // docs/baseline.md writes it) are read here; anything else that looks like an option is not
    // a run directory.
    const head: string[] = [];
    const format: string[] = [];
    const after = rawArgv.slice(dash + 1);
    for (let i = 0; i < after.length; i++) {
      const word = after[i]!;
      if (word === '--format') {
        const value = after[++i];
        if (value === undefined) throw new UsageError('E_COMPARE_ARGS', '--format after -- has no value', 'e.g. kt compare A B -- C --format md');
        format.push(value);
      } else if (word.startsWith('--format=')) {
        format.push(word.slice('--format='.length));
      } else if (word.startsWith('-') && !word.includes('/')) {
        throw new UsageError('E_COMPARE_ARGS', `${printable(word)} after -- is not a run directory, and only --format is read there`, 'put options before the base runs, e.g. kt compare --format md A B -- C');
      } else {
        head.push(word);
      }
    }
    if (base.length === 0 || head.length === 0) {
      throw new UsageError('E_COMPARE_ARGS', `kt compare needs run directories on both sides of -- (got ${base.length} before, ${head.length} after)`, 'kt compare BASE... -- HEAD..., e.g. kt compare kt-results/good-1 kt-results/good-2 -- kt-results/new');
    }
    return { base, head, ...(format.length ? { format } : {}) };
  }
  if (dirs.length !== 2) {
    throw new UsageError(
      'E_COMPARE_ARGS',
      `kt compare takes two run directories, or two sets separated by -- (got ${dirs.length}${dirs.length > 0 ? `: ${dirs.map(printable).join(' ')}` : ''})`,
      'kt compare BASE HEAD, or kt compare BASE1 BASE2 -- HEAD1 HEAD2',
    );
  }
  return { base: [dirs[0]!], head: [dirs[1]!] };
}

function formatOf(given: string | string[] | undefined): Format {
  if (Array.isArray(given)) {
    if (given.length === 1) return formatOf(given[0]);
    throw new UsageError('E_FLAG_REPEATED', `--format was given ${given.length} times (${given.map(printable).join(', ')})`, 'give --format once');
  }
  if (given === undefined) return 'text';
  if ((FORMATS as readonly string[]).includes(given)) return given as Format;
  throw new UsageError('E_BAD_FORMAT', `--format ${printable(given)} is not one of ${FORMATS.join(', ')}`, 'use --format text (default), md or json');
}

export async function compareCommandCli(dirs: string[], rawArgv: string[], options: { format?: string | string[] }): Promise<number> {
  const split = splitCompareArgs(dirs, rawArgv);
  const { base, head } = split;
  const given = [options.format ?? [], split.format ?? []].flat();
  const format = formatOf(given.length === 0 ? undefined : given);
  const baseLogs = await readLogs(base);
  const headLogs = await readLogs(head);
  for (const w of [...baseLogs.warnings, ...headLogs.warnings]) printWarning(w);
  const label = base.length === 1 ? `base ${base[0]}` : `base (${base.length} run directories)`;
  const headSummary = summarizeRun(headLogs.events);
  const comparison = compareRuns(
    baseLogs.logs.map((l) => summarizeRun(l.events)),
    headSummary,
    label,
  );
  const outcome = compareOutcome(comparison, headSummary);
  const render = format === 'json' ? renderCompareJson : format === 'md' ? renderCompareMarkdown : renderCompareText;
  process.stdout.write(render(comparison, outcome));
  // The text output says it; markdown and JSON may go to a file or a PR comment, so say it here too.
  if (outcome.notAPass !== undefined && format !== 'text') process.stderr.write(`kt: ${printable(outcome.notAPass)}\n`);
  return outcome.code;
}
