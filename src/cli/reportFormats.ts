/**
 * `kt report --format junit|json|md|html`: which report files to (re)write. Repeatable and
 * comma lists (`--format md,html --format junit`); absent means all of them.
 */
import { UsageError, printable } from '../errors.js';
import type { ReportFormat } from '../reporters/writeReports.js';

/** The names users type → the report they mean (`markdown` is accepted for `md`). */
const FORMAT_NAMES: Readonly<Record<string, ReportFormat>> = {
  junit: 'junit',
  json: 'json',
  md: 'markdown',
  markdown: 'markdown',
  html: 'html',
};

/** Every report, in the order they are written. */
export const ALL_REPORT_FORMATS: readonly ReportFormat[] = ['junit', 'json', 'markdown', 'html'];

/** The formats asked for, in the order they are written; every format when none was given. */
export function parseReportFormats(values: readonly string[] | undefined): ReportFormat[] {
  if (values === undefined || values.length === 0) return [...ALL_REPORT_FORMATS];
  const out: ReportFormat[] = [];
  for (const value of values) {
    const names = value.split(',').map((n) => n.trim().toLowerCase());
    for (const name of names) {
      if (name === '') {
        throw new UsageError('E_REPORT_FORMAT', `--format ${printable(value)} names no format`, 'give --format junit, json, md or html (repeatable, or a comma list such as --format md,html)');
      }
      const format = FORMAT_NAMES[name];
      if (!format) {
        throw new UsageError('E_REPORT_FORMAT', `--format ${printable(name)} is not a report format`, 'give --format junit, json, md or html (repeatable, or a comma list such as --format md,html)');
      }
      if (!out.includes(format)) out.push(format);
    }
  }
  return ALL_REPORT_FORMATS.filter((f) => out.includes(f));
}
