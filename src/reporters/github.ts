/**
 * GitHub Actions workflow commands (`::error title=...::message`) so failures and kernel crashes
 * show up on the run's summary page. Escaping follows @actions/core (toolkit
 * packages/core/src/command.ts): data escapes % \r \n; properties also escape : and ,.
 * GitHub shows at most 10 errors and 10 warnings per step, so both are capped with a final
 * "N more" line pointing at the reports.
 */
import { formatDuration, testLabel } from './format.js';
import { crashesOutsideTests, failingTests, finalAttempt, type RunSummary } from '../record/runSummary.js';
import type { RunVerdict } from '../record/verdict.js';
import { capText, headLines, MAX_MESSAGE_CHARS, toTerminalText } from './textSafety.js';
import { testKey } from '../record/testKey.js';

/** Annotations of one kind GitHub displays per step. */
export const GITHUB_ANNOTATION_LIMIT = 10;

/** Lines of a diff or console excerpt put into an annotation. */
const ANNOTATION_PREVIEW_LINES = 20;

/** True inside a GitHub Actions job (the runner sets GITHUB_ACTIONS=true). */
export function isGithubActions(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['GITHUB_ACTIONS'] === 'true';
}

/** Escapes the message part of a workflow command. */
export function escapeAnnotationData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escapes a property value (title=, file=) of a workflow command. */
export function escapeAnnotationProperty(text: string): string {
  return escapeAnnotationData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** One annotation before rendering. */
export interface Annotation {
  /** Severity. */
  level: 'error' | 'warning' | 'notice';
  /** Bold first line on GitHub. */
  title: string;
  /** Body (multi-line allowed). */
  message: string;
}

/** Renders one workflow command line. */
export function formatAnnotation(a: Annotation): string {
  const title = toTerminalText(capText(a.title, 200)).replace(/\s*\n\s*/g, ' ');
  const message = toTerminalText(capText(a.message, MAX_MESSAGE_CHARS * 8));
  return `::${a.level} title=${escapeAnnotationProperty(title)}::${escapeAnnotationData(message)}`;
}

function preview(text: string): string {
  const head = headLines(text, ANNOTATION_PREVIEW_LINES);
  return [...head.lines, ...(head.more > 0 ? [`... ${head.more} more lines`] : [])].join('\n');
}

/**
 * With a baseline verdict (docs/baseline.md): an error per regression (a crash's title is in its
 * message), warnings for kt errors, flaky and never-executed tests, and notices for fixes and
 * one for all known failures — so the page's red marks are exactly what the exit code says.
 */
function verdictAnnotations(summary: RunSummary, verdict: RunVerdict): Annotation[] {
  const manySections = summary.sections.length > 1;
  const results = new Map(summary.tests.map((t) => [testKey(t.section, t.test), t]));
  // No baseline rate excuses a panic no test owns (record/verdict.ts exitCodeFor): it leads, within the cap.
  const outside = crashesOutsideTests(summary).map((group): Annotation => ({
    level: 'error',
    title: `Kernel crash outside any test: ${group.crash.title}`,
    message: `${group.crash.type}${group.crash.frame ? ` at ${group.crash.frame}` : ''}, ${group.count}× on ${group.machines.join(', ')}\n${preview(group.crash.excerpt)}`,
  }));
  const regressions: Annotation[] = verdict.regressions.map((v) => {
    const result = results.get(testKey(v.section, v.test));
    const outcome = result ? finalAttempt(result)?.outcome : undefined;
    const diff = outcome?.status === 'failed' && outcome.diff ? `\n${preview(outcome.diff)}` : '';
    return { level: 'error', title: `Regression: ${testLabel(v.test, v.section, manySections)}`, message: `${v.why}${diff}` };
  });
  const errors = [...outside, ...regressions];
  const warnings: Annotation[] = verdict.unjudged.map((v) => ({ level: 'warning', title: `${testLabel(v.test, v.section, manySections)}: not judged`, message: v.why }));
  for (const t of summary.tests.filter((r) => r.flaky)) {
    const history = t.attempts.map((a) => `${a.outcome.status} on ${a.machine}`).join(', then ');
    warnings.push({ level: 'warning', title: `${testLabel(t.test, t.section, manySections)} is flaky`, message: history });
  }
  const notExecuted = summary.tests.filter((t) => t.status === 'notexecuted');
  if (notExecuted.length > 0) {
    warnings.unshift({ level: 'warning', title: `${notExecuted.length} tests not executed (not judged)`, message: `${notExecuted[0]?.notExecutedReason ?? 'run interrupted'}: ${notExecuted.map((t) => t.test).join(' ')}` });
  }
  if (verdict.sectionsNotInBaseline.length > 0) {
    warnings.unshift({ level: 'warning', title: 'Sections not in the baseline', message: `${verdict.sectionsNotInBaseline.join(', ')}: every failure there is a regression until kt baseline update records them` });
  }
  const notices: Annotation[] = [...verdict.fixes, ...verdict.possibleFixes].map((v) => ({
    level: 'notice',
    title: `${v.judgement === 'fix' ? 'Fixed' : 'Possibly fixed'}: ${testLabel(v.test, v.section, manySections)}`,
    message: v.why,
  }));
  if (verdict.known.length > 0) {
    notices.push({
      level: 'notice',
      title: `${verdict.known.length} known failure${verdict.known.length === 1 ? '' : 's'} (${verdict.baseline})`,
      message: verdict.known.map((v) => `${testLabel(v.test, v.section, manySections)}: ${v.why}`).join('\n'),
    });
  }
  return [...capped(errors, 'regressions'), ...capped(warnings, 'warnings'), ...capped(notices, 'notices')];
}

/** Decides the annotations for a summary: failures and timeouts per test, crashes per fingerprint. */
export function collectAnnotations(summary: RunSummary, verdict?: RunVerdict): Annotation[] {
  if (verdict) return verdictAnnotations(summary, verdict);
  const manySections = summary.sections.length > 1;
  const errors: Annotation[] = [];
  for (const result of failingTests(summary)) {
    const last = finalAttempt(result);
    if (!last) continue;
    const outcome = last.outcome;
    const name = testLabel(result.test, result.section, manySections);
    const where = `on ${last.machine} after ${formatDuration(last.durationMs)}`;
    switch (outcome.status) {
      case 'failed':
        errors.push({ level: 'error', title: `${name} failed`, message: `${outcome.message} (${where})${outcome.diff ? `\n${preview(outcome.diff)}` : ''}` });
        break;
      case 'timedout':
        errors.push({ level: 'error', title: `${name} timed out`, message: `${outcome.message} (${where})` });
        break;
      case 'error':
        errors.push({ level: 'error', title: `${name}: kt error`, message: `${outcome.message} (${where})` });
        break;
      default:
        // Crashed tests are annotated once per distinct crash below.
        break;
    }
  }
  for (const group of summary.crashes) {
    const facts = `${group.count}× on ${group.machines.join(', ')}${group.tests.length > 0 ? ` during ${group.tests.join(', ')}` : ''}`;
    errors.unshift({
      level: 'error',
      title: `Kernel crash: ${group.crash.title}`,
      message: `${group.crash.type}${group.crash.frame ? ` at ${group.crash.frame}` : ''}, ${facts}\n${preview(group.crash.excerpt)}`,
    });
  }

  const warnings: Annotation[] = [];
  for (const t of summary.tests.filter((r) => r.flaky)) {
    const history = t.attempts.map((a) => `${a.outcome.status} on ${a.machine}`).join(', then ');
    warnings.push({ level: 'warning', title: `${testLabel(t.test, t.section, manySections)} is flaky`, message: history });
  }
  const notExecuted = summary.tests.filter((t) => t.status === 'notexecuted');
  if (notExecuted.length > 0) {
    warnings.unshift({
      level: 'warning',
      title: `${notExecuted.length} tests not executed`,
      message: `${notExecuted[0]?.notExecutedReason ?? 'run interrupted'}: ${notExecuted.map((t) => t.test).join(' ')}`,
    });
  }
  return [...capped(errors, 'failures'), ...capped(warnings, 'warnings')];
}

function capped(list: Annotation[], what: string): Annotation[] {
  if (list.length <= GITHUB_ANNOTATION_LIMIT) return list;
  const kept = list.slice(0, GITHUB_ANNOTATION_LIMIT - 1);
  const first = list[0];
  const rest = list.length - kept.length;
  return [...kept, { level: first?.level ?? 'error', title: `${rest} more ${what}`, message: `see junit.xml or report.md in the run directory` }];
}

/** Workflow command lines (without trailing newline) for a summary. */
export function renderGithubAnnotations(summary: RunSummary, verdict?: RunVerdict): string[] {
  return collectAnnotations(summary, verdict).map(formatAnnotation);
}
