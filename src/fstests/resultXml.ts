/**
 * check's xunit report (`-R xunit`, docs/fstests.md §4): `$REPORT_DIR/result.xml`, or the
 * `result.xml.new` a crash or interrupt leaves behind. A cross-check for what the stdout
 * stream said: it is rewritten before every test (`time=""` while in progress), has one
 * `<testcase>` per run with -L (duplicate names), and none for a test that hung or crashed.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { HostError } from '../errors.js';
import type { TestOutcome } from '../record/outcome.js';

/** One `<testcase>`. */
export interface XunitTestcase {
  /** `xfstests.<section>`, or `xfstests.global` without sections. */
  classname: string;
  /** Test id, e.g. `selftest/002`. */
  name: string;
  /** Seconds, when the attribute holds a number. */
  time?: number;
  /** passed (empty element), failed (`<failure message>`, diff from `<system-err>`), notrun (`<skipped message>`). */
  outcome: TestOutcome;
  /** `<system-out>` CDATA: the test's .full file (not with xunit-quiet). */
  systemOut?: string;
  /** `<system-err>` CDATA: `diff -u <t>.out <t>.out.bad`. */
  systemErr?: string;
  /** `<kernel-log>` CDATA: the test's .dmesg file. */
  kernelLog?: string;
}

/** The root `<testsuite>` of one result.xml. */
export interface XunitReport {
  /** `name` attribute ("xfstests"). */
  name: string;
  /** Tests tried, not-run ones included. */
  tests: number;
  /** Failed tests. */
  failures: number;
  /** Not-run tests. */
  skipped: number;
  /** Section seconds; undefined while the run was in progress (`time=""`). */
  time?: number;
  /** `hostname` attribute. */
  hostname?: string;
  /** `start_timestamp` attribute (ISO-8601). */
  startTimestamp?: string;
  /** `timestamp` attribute (ISO-8601). */
  timestamp?: string;
  /** `report_timestamp` attribute (ISO-8601). */
  reportTimestamp?: string;
  /** `<property name value>` pairs (ARCH, FSTYP, SECTION, ...). */
  properties: Record<string, string>;
  /** Testcases in file order; names repeat with -L. */
  testcases: XunitTestcase[];
}

const ATTR = '@_';
const CDATA = '#cdata';

/** Parses result.xml / result.xml.new. Throws HostError E_RESULT_XML for malformed XML. */
export function parseResultXml(xml: string): XunitReport {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new HostError(
      'E_RESULT_XML',
      `check's xunit report is not valid XML (line ${valid.err.line}: ${valid.err.msg})`,
      'the guest probably stopped while writing it; use the stdout stream and results files instead',
    );
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: ATTR,
    cdataPropName: CDATA,
    parseAttributeValue: false,
    parseTagValue: false,
    isArray: (name) => name === 'testcase' || name === 'property',
  });
  const doc = record(parser.parse(xml));
  const suite = record(doc['testsuite']);
  const properties: Record<string, string> = {};
  for (const p of list(record(suite['properties'])['property'])) {
    const prop = record(p);
    const name = attr(prop, 'name');
    if (name !== undefined) properties[name] = attr(prop, 'value') ?? '';
  }
  const report: XunitReport = {
    name: attr(suite, 'name') ?? '',
    tests: Number(attr(suite, 'tests') ?? 0),
    failures: Number(attr(suite, 'failures') ?? 0),
    skipped: Number(attr(suite, 'skipped') ?? 0),
    properties,
    testcases: list(suite['testcase']).map((t) => parseTestcase(record(t))),
  };
  setIf(report, 'time', seconds(attr(suite, 'time')));
  setIf(report, 'hostname', attr(suite, 'hostname'));
  setIf(report, 'startTimestamp', attr(suite, 'start_timestamp'));
  setIf(report, 'timestamp', attr(suite, 'timestamp'));
  setIf(report, 'reportTimestamp', attr(suite, 'report_timestamp'));
  return report;
}

function parseTestcase(tc: Record<string, unknown>): XunitTestcase {
  const systemErr = cdata(tc['system-err']);
  let outcome: TestOutcome = { status: 'passed' };
  if (tc['failure'] !== undefined) {
    // common/report: <failure message="$_err_msg" type="TestFail" />
    const message = attr(record(tc['failure']), 'message') ?? '';
    outcome = systemErr === undefined ? { status: 'failed', message } : { status: 'failed', message, diff: systemErr };
  } else if (tc['skipped'] !== undefined) {
    // common/report: <skipped message="<.notrun text>" />, or <skipped/> for a -n listing
    outcome = { status: 'notrun', reason: attr(record(tc['skipped']), 'message') ?? '' };
  }
  const testcase: XunitTestcase = { classname: attr(tc, 'classname') ?? '', name: attr(tc, 'name') ?? '', outcome };
  setIf(testcase, 'time', seconds(attr(tc, 'time')));
  setIf(testcase, 'systemOut', cdata(tc['system-out']));
  setIf(testcase, 'systemErr', systemErr);
  setIf(testcase, 'kernelLog', cdata(tc['kernel-log']));
  return testcase;
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

function attr(node: Record<string, unknown>, name: string): string | undefined {
  const v = node[ATTR + name];
  return typeof v === 'string' ? v : undefined;
}

function seconds(v: string | undefined): number | undefined {
  return v === undefined || v.trim() === '' || !Number.isFinite(Number(v)) ? undefined : Number(v);
}

/** CDATA text without the newlines common/report wraps it in (`<![CDATA[\n...\n]]>`). */
function cdata(v: unknown): string | undefined {
  const raw = record(v)[CDATA];
  const text = Array.isArray(raw) ? raw.filter((x) => typeof x === 'string').join('') : raw;
  return typeof text === 'string' ? text.replace(/^\n/, '').replace(/\n$/, '') : undefined;
}

function setIf<T extends object, K extends keyof T>(obj: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) obj[key] = value;
}
