/**
 * junit.xml: one <testsuite> per fstests section, one <testcase> per test, valid against the
 * Jenkins xUnit schema (junit-10.xsd, copied into test/schemas/) that GitLab, Jenkins and the GitHub
 * test-report actions read.
 *
 * junit-report-builder 5 builds the skeleton and the counts, but cannot express everything we
 * need, so each node is decorated right after the library builds it (still on the xmlbuilder
 * tree, so escaping stays the library's):
 * - `<skipped>` has no message attribute in the library; fstests writes `<skipped message=reason>`.
 * - testsuite `hostname` and the `<flakyFailure>`/`<rerunFailure>` elements are not supported.
 * - its CDATA escaping replaces only the first `]]>`, so a second one breaks the file; bodies
 *   containing `]]>` are written as escaped text instead.
 * - it puts a `skipped` attribute on `<testsuites>`, which the schema does not allow.
 */
import junitReportBuilder from 'junit-report-builder';
import type { Builder, TestCase, TestSuite } from 'junit-report-builder';
import type { CrashInfo, TestOutcome } from '../record/outcome.js';
import { crashesOutsideTests, finalAttempt, type CrashGroup, type RunSummary, type SectionInfo, type TestAttempt, type TestResult } from '../record/runSummary.js';
import type { RunVerdict, TestVerdict } from '../record/verdict.js';
import { toXmlBody, toXmlMessage, MAX_TEXT_CHARS } from './textSafety.js';
import { testKey } from '../record/testKey.js';
import { verdictIndex } from './verdictWords.js';

// NodeNext reads the package's CJS `export default` as the module object; at runtime the default
// import already is the builder instance.
const rootBuilder = junitReportBuilder as unknown as Builder;

/** The xmlbuilder element the library hands back from build(); derived so we need no direct import. */
type XmlElement = ReturnType<TestCase['build']>;
type XmlNode = XmlElement['children'][number];

/** Element that states a testcase's verdict. */
export type VerdictElement = 'failure' | 'error' | 'skipped';

/** Element for an earlier attempt: flaky* when the test finally passed, rerun* when it still failed. */
export type RerunElement = 'flakyFailure' | 'flakyError' | 'rerunFailure' | 'rerunError';

/** The verdict of one testcase. */
export interface JunitVerdict {
  /** Which element. */
  element: VerdictElement;
  /** `message` attribute. */
  message: string;
  /** `type` attribute (kernel-crash, timeout, TestFail, infrastructure). */
  type?: string;
  /** Element text: the diff, the console excerpt. */
  body?: string;
}

/** An earlier failing attempt of a testcase. */
export interface JunitRerun {
  /** Which element. */
  element: RerunElement;
  /** `type` attribute (required by the schema). */
  type: string;
  /** `message` attribute. */
  message: string;
  /** `<stackTrace>` text: the diff or console excerpt. */
  stackTrace?: string;
  /** `<system-out>` text: dmesg of that attempt. */
  systemOut?: string;
}

/** Everything one <testcase> says, decided before any XML is built. */
export interface JunitCase {
  /** fstests id. */
  name: string;
  /** `fstests.<section>`. */
  classname: string;
  /** Seconds of the final attempt; absent when never executed. */
  timeSeconds?: number;
  /** Absent for a pass. */
  verdict?: JunitVerdict;
  /** Earlier attempts that did not pass. */
  reruns: JunitRerun[];
  /** dmesg and .full tail of the final attempt. */
  systemOut?: string;
}

// fstests' own xunit report uses type="TestFail" for every failed test (common/report).
const FSTESTS_FAILURE_TYPE = 'TestFail';

/** Milliseconds → JUnit seconds with millisecond precision (never negative, never exponent form). */
export function junitSeconds(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) / 1000 : 0;
}

function crashBody(crash: CrashInfo, message: string): string {
  const head = [`${crash.type}: ${crash.title}`];
  if (crash.frame) head.push(`first frame: ${crash.frame}`);
  head.push(`fingerprint: ${crash.fingerprint}`);
  if (message && message !== crash.title) head.push(message);
  return `${head.join('\n')}\n\n${crash.excerpt}`;
}

/** JUnit's message attribute is one line (CI pages show it as a title); the rest goes in the body. */
function oneLine(text: string): string {
  return text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).join('; ');
}

/**
 * The verdict element for an outcome, or undefined for a pass. A kernel crash and a hang are
 * `<failure>`s with their own `type` (kernel-crash, timeout), so CI parsers can tell "the kernel
 * died" from "the output differed" (fstests-failure); `<error type="infrastructure">` is kt's
 * own trouble (a VM lost for a reason that is not the kernel's).
 */
export function verdictFor(outcome: TestOutcome): JunitVerdict | undefined {
  const v = verdictOf(outcome);
  return v && { ...v, message: oneLine(v.message) };
}

function verdictOf(outcome: TestOutcome): JunitVerdict | undefined {
  switch (outcome.status) {
    case 'passed':
      return undefined;
    case 'failed':
      return {
        element: 'failure',
        type: FSTESTS_FAILURE_TYPE,
        message: outcome.message,
        ...(outcome.diff ? { body: outcome.diff } : {}),
      };
    case 'notrun':
      return { element: 'skipped', message: outcome.reason };
    case 'crashed':
      return { element: 'failure', type: 'kernel-crash', message: outcome.crash.title, body: crashBody(outcome.crash, outcome.message) };
    case 'timedout':
      return {
        element: 'failure',
        type: 'timeout',
        message: outcome.message,
        ...(outcome.crash ? { body: crashBody(outcome.crash, outcome.message) } : {}),
      };
    case 'error':
      return { element: 'error', type: 'infrastructure', message: outcome.message };
  }
}

function attemptOutput(attempt: TestAttempt): string | undefined {
  const parts: string[] = [];
  // Labelled, because a reader of system-out cannot tell fstests' .dmesg from its .full otherwise.
  if (attempt.dmesg) parts.push(`--- dmesg${attempt.artifacts.dmesg ? ` (${attempt.artifacts.dmesg})` : ''} ---\n${toXmlBody(attempt.dmesg, MAX_TEXT_CHARS / 2)}`);
  if (attempt.fullTail) parts.push(`--- tail of .full${attempt.artifacts.full ? ` (${attempt.artifacts.full})` : ''} ---\n${toXmlBody(attempt.fullTail, MAX_TEXT_CHARS / 2)}`);
  return parts.length > 0 ? parts.join('\n') : undefined;
}

function rerunFor(attempt: TestAttempt, finallyPassed: boolean): JunitRerun | undefined {
  const verdict = verdictFor(attempt.outcome);
  // A notrun or pass before the final attempt says nothing about flakiness.
  if (!verdict || verdict.element === 'skipped') return undefined;
  const isError = verdict.element === 'error';
  const element: RerunElement = finallyPassed ? (isError ? 'flakyError' : 'flakyFailure') : isError ? 'rerunError' : 'rerunFailure';
  const systemOut = attemptOutput(attempt);
  return {
    element,
    type: verdict.type ?? element,
    message: `attempt ${attempt.attempt} on ${attempt.machine}: ${verdict.message}`,
    ...(verdict.body ? { stackTrace: verdict.body } : {}),
    ...(systemOut ? { systemOut } : {}),
  };
}

/**
 * Decides what the <testcase> of one test says (pure; the XML is built from this). With a
 * baseline verdict (docs/baseline.md) the message says it first: "regression: ..." or "known
 * failure: ...". A regression is always a <failure>, also when the test was newly not run or
 * passed on a retry, so a CI's test report agrees with kt's exit code.
 */
export function describeTestcase(result: TestResult, judged?: TestVerdict): JunitCase {
  const own = describeOwnTestcase(result);
  return judged ? withVerdict(own, judged) : own;
}

function withVerdict(jcase: JunitCase, judged: TestVerdict): JunitCase {
  const own = jcase.verdict;
  const explained = (prefix: string) => {
    const why = `${prefix}: ${judged.why}`;
    return oneLine(own && own.element !== 'skipped' && !judged.why.includes(own.message) ? `${why} (${own.message})` : why);
  };
  if (judged.judgement === 'regression') {
    if (own && own.element !== 'skipped') return { ...jcase, verdict: { ...own, message: explained('regression') } };
    return { ...jcase, verdict: { element: 'failure', type: 'regression', message: explained('regression') } };
  }
  if (judged.judgement === 'known' && own) return { ...jcase, verdict: { ...own, message: explained('known failure') } };
  return jcase;
}

function describeOwnTestcase(result: TestResult): JunitCase {
  const base = { name: result.test, classname: `fstests.${result.section}` };
  const last = finalAttempt(result);
  if (!last) {
    // Stopped by the user (a signal) or killed, what never ran is skipped; a run that ended in
    // kt's own error (no VM booted) left it undone, which a CI's test page must not show as a
    // pass: an <error type="infrastructure">, as a test whose VM kt lost (docs/report-html.md).
    const runFailed = result.notExecutedRunStatus === 'error';
    return {
      ...base,
      verdict: {
        element: runFailed ? 'error' : 'skipped',
        ...(runFailed ? { type: 'infrastructure' } : {}),
        message: `not executed: ${result.notExecutedReason ?? 'run interrupted'}`,
        ...(result.unfinishedOn ? { body: `was running on ${result.unfinishedOn} when the run stopped` } : {}),
      },
      reruns: [],
    };
  }
  const finallyPassed = last.outcome.status === 'passed';
  const reruns = result.attempts
    .slice(0, -1)
    .map((a) => rerunFor(a, finallyPassed))
    .filter((r): r is JunitRerun => r !== undefined);
  const verdict = verdictFor(last.outcome);
  const systemOut = attemptOutput(last);
  return {
    ...base,
    timeSeconds: junitSeconds(last.durationMs),
    ...(verdict ? { verdict } : {}),
    reruns,
    ...(systemOut ? { systemOut } : {}),
  };
}

function isElementNamed(node: XmlNode, name: string): node is XmlElement {
  return 'name' in node && node.name === name;
}

/** Element text: CDATA for readability, escaped text when the body holds `]]>` (see header). */
function appendBody(element: XmlElement, text: string): void {
  const safe = toXmlBody(text);
  if (safe === '') return;
  if (safe.includes(']]>')) element.text(safe);
  else element.cdata(safe);
}

/** Runs `decorate` on the element the library builds for this testcase. */
function decorateCase(testCase: TestCase, decorate: (element: XmlElement) => void): void {
  const build = testCase.build.bind(testCase);
  testCase.build = (parent: XmlElement): XmlElement => {
    const element = build(parent);
    decorate(element);
    return element;
  };
}

/** Runs `decorate` on the element the library builds for this suite, with its <testsuites> parent. */
function decorateSuite(suite: TestSuite, decorate: (element: XmlElement, parent: XmlElement | undefined) => void): void {
  const build = suite.build.bind(suite);
  suite.build = (parent?: XmlElement): XmlElement => {
    const element = build(parent);
    decorate(element, parent);
    return element;
  };
}

function addTestcase(suite: TestSuite, jcase: JunitCase): void {
  const testCase = suite.testCase().className(toXmlMessage(jcase.classname)).name(toXmlMessage(jcase.name));
  if (jcase.timeSeconds !== undefined) testCase.time(jcase.timeSeconds);
  const verdict = jcase.verdict;
  const message = verdict ? toXmlMessage(verdict.message) : '';
  // The library calls set the counts of the enclosing <testsuite>; attributes and bodies it
  // cannot write are added in decorateCase below.
  if (verdict?.element === 'failure') testCase.failure(message, verdict.type);
  else if (verdict?.element === 'error') testCase.error(message, verdict.type);
  else if (verdict?.element === 'skipped') testCase.skipped();

  decorateCase(testCase, (element) => {
    if (verdict) {
      const verdictElement = element.children.find((n) => isElementNamed(n, verdict.element));
      if (verdictElement && isElementNamed(verdictElement, verdict.element)) {
        if (verdict.element === 'skipped') verdictElement.att('message', message);
        if (verdict.body) appendBody(verdictElement, verdict.body);
      }
    }
    for (const rerun of jcase.reruns) {
      const rerunElement = element.ele(rerun.element, { type: toXmlMessage(rerun.type), message: toXmlMessage(rerun.message) });
      // Schema order inside rerunType: stackTrace, system-out, system-err.
      if (rerun.stackTrace) appendBody(rerunElement.ele('stackTrace'), rerun.stackTrace);
      if (rerun.systemOut) appendBody(rerunElement.ele('system-out'), rerun.systemOut);
    }
    if (jcase.systemOut) appendBody(element.ele('system-out'), jcase.systemOut);
  });
}

function addSuite(builder: Builder, section: SectionInfo, cases: JunitCase[], verdict?: RunVerdict): void {
  const suite = builder.testSuite().name(toXmlMessage(`kt.${section.name}`));
  if (section.startedAt) suite.timestamp(section.startedAt);
  suite.time(junitSeconds(section.wallMs));
  if (section.fstyp) suite.property('FSTYP', toXmlMessage(section.fstyp));
  if (section.kernel) suite.property('KERNEL', toXmlMessage(section.kernel));
  suite.property('SECTION', toXmlMessage(section.name));
  if (section.mkfsOptions !== undefined) suite.property('MKFS_OPTIONS', toXmlMessage(section.mkfsOptions));
  if (section.mountOptions !== undefined) suite.property('MOUNT_OPTIONS', toXmlMessage(section.mountOptions));
  if (section.ktVersion !== undefined) suite.property('KT_VERSION', toXmlMessage(section.ktVersion));
  if (verdict) {
    const inSection = (list: TestVerdict[]) => String(list.filter((v) => v.section === section.name).length);
    suite.property('BASELINE', toXmlMessage(verdict.baseline));
    suite.property('REGRESSIONS', inSection(verdict.regressions));
    suite.property('KNOWN_FAILURES', inSection(verdict.known));
    suite.property('FIXES', inSection(verdict.fixes));
  }
  decorateSuite(suite, (element, parent) => {
    parent?.removeAttribute('skipped');
    if (section.hostnames.length > 0) element.att('hostname', toXmlMessage(section.hostnames.join(' ')));
  });
  for (const jcase of cases) addTestcase(suite, jcase);
}

/** Renders the summary as a JUnit XML document (schema junit-10.xsd); with a baseline verdict, its words. */
export function renderJunit(summary: RunSummary, verdict?: RunVerdict): string {
  const judged = verdictIndex(verdict);
  const builder = rootBuilder.newBuilder().name('kt');
  const sections = new Map<string, SectionInfo>();
  for (const section of summary.sections) sections.set(section.name, section);
  for (const test of summary.tests) {
    if (!sections.has(test.section)) {
      sections.set(test.section, { name: test.section, hostnames: [], startedAt: '', wallMs: 0, fstyp: '', kernel: '' });
    }
  }
  // Always one suite: an empty run still yields a valid file that says "0 tests".
  if (sections.size === 0) sections.set('global', { name: 'global', hostnames: [], startedAt: summary.startedAt, wallMs: 0, fstyp: '', kernel: '' });
  // A kernel crash no test's outcome carries fails the run (record/verdict.ts exitCodeFor): CI
  // shows it as a failed testcase of the first suite, so the JUnit view agrees with the exit code.
  const outside = crashesOutsideTests(summary).map(describeOutsideCrash);
  let first = true;
  for (const section of sections.values()) {
    const cases = summary.tests.filter((t) => t.section === section.name).map((t) => describeTestcase(t, judged.get(testKey(t.section, t.test))));
    addSuite(builder, section, first ? [...cases, ...outside] : cases, verdict);
    first = false;
  }
  return `${builder.build()}\n`;
}

/** A kernel crash outside every test, as a failed testcase named by its fingerprint (stable across runs). */
export function describeOutsideCrash(group: CrashGroup): JunitCase {
  return {
    name: `kernel-crash/${group.fingerprint}`,
    classname: 'kt.kernel',
    verdict: {
      element: 'failure',
      type: 'kernel-crash',
      message: `${group.crash.title} (outside any test, on ${group.machines.join(', ')})`,
      ...(group.crash.excerpt ? { body: group.crash.excerpt } : {}),
    },
    reruns: [],
  };
}
