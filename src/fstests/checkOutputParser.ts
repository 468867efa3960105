/**
 * Streaming parser for check's stdout (docs/fstests.md §2, §10.3). It takes chunks, not lines:
 * check prints a test's name without a newline and appends the outcome when the test ends,
 * possibly minutes later, and a hang or kernel crash stops the stream right after a name.
 * So a test is reported as started the moment its padded name is seen, and `currentTest()`
 * names the test in flight when the stream stops.
 *
 * A failure is reported when the line after its diff arrives (or at `end()`), since the diff
 * and hints follow the failure line.
 */
import type { TestOutcome } from '../record/outcome.js';
import type { CheckEvent, TestResultEvent } from './checkEvents.js';
import {
  classifyOutcomeText,
  exitStatusOf,
  isHarnessLine,
  isRecapLine,
  isStructuralLine,
  matchEarlyTestStart,
  matchTestLine,
  parseHeaderLine,
  parseSummaryLine,
  takePreviousTime,
  takeStamps,
} from './checkLines.js';

/** What is known about the test in flight. */
interface TestInfo {
  test: string;
  previousSeconds?: number;
  /** -T stamps seen so far: start, then stop. */
  stamps: string[];
}

type State =
  | { kind: 'idle' }
  /** Name seen, no outcome yet. */
  | { kind: 'running'; info: TestInfo }
  /** Failure text seen; collecting its diff (4-space lines), more text and hints. */
  | { kind: 'failing'; info: TestInfo; message: string[]; diff: string[]; hints: string[]; afterBlank: boolean }
  /** `-T` printed `[not run]`; the reason comes on the next line as `\t<t> -- <reason>`. */
  | { kind: 'notrun-reason'; info: TestInfo };

/** Longest unfinished line worth checking for a test name (names are short; output may not be). */
const EARLY_SCAN_LIMIT = 512;

export class CheckOutputParser {
  #decoder = new TextDecoder();
  #partial = '';
  /** test-start was already reported for the unfinished line. */
  #partialTest: string | undefined;
  #state: State = { kind: 'idle' };
  #section = '';

  /** Feeds a chunk of check's stdout; returns the events it completes. */
  push(chunk: string | Uint8Array): CheckEvent[] {
    const out: CheckEvent[] = [];
    this.#partial += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = this.#partial.indexOf('\n'); nl >= 0; nl = this.#partial.indexOf('\n', start)) {
      const line = this.#partial.slice(start, nl).replace(/\r$/, '');
      start = nl + 1;
      const started = this.#partialTest;
      this.#partialTest = undefined;
      this.#line(line, started, out);
    }
    this.#partial = this.#partial.slice(start);
    if (this.#partialTest === undefined && this.#partial.length <= EARLY_SCAN_LIMIT) {
      const test = matchEarlyTestStart(this.#partial);
      if (test !== undefined) {
        this.#begin({ test, stamps: [] }, out);
        this.#partialTest = test;
      }
    }
    return out;
  }

  /**
   * The stream ended (check exited, the VM died, the transport closed). Completes a pending
   * failure or -T not-run; a test whose line never got an outcome stays in `currentTest()`.
   */
  end(): CheckEvent[] {
    const out: CheckEvent[] = [];
    this.#partial += this.#decoder.decode();
    const rest = this.#partial.replace(/\r$/, '');
    this.#partial = '';
    if (rest !== '' && this.#partialTest === undefined) {
      const test = matchTestLine(rest);
      if (test !== undefined) this.#begin({ test, stamps: [] }, out);
      else this.#line(rest, undefined, out);
    }
    this.#partialTest = undefined;
    if (this.#state.kind !== 'running') this.#settle(out);
    return out;
  }

  /** The test whose name was printed and whose outcome was not (yet): running, hung or crashed. */
  currentTest(): string | undefined {
    return this.#state.kind === 'running' ? this.#state.info.test : undefined;
  }

  #line(line: string, started: string | undefined, out: CheckEvent[]): void {
    if (started !== undefined && this.#state.kind === 'running') {
      this.#testText(this.#state.info, line.slice(started.length), true, out);
      return;
    }
    const st = this.#state;
    if (st.kind === 'failing') {
      if (!isStructuralLine(line) && !isHarnessLine(line)) {
        this.#failureTail(st, line);
        return;
      }
    } else if (st.kind === 'notrun-reason') {
      // check -T: echo " [not run]" && echo -n "\t$seqnum -- "; cat $seqres.notrun
      const m = /^\t(\S+) -- (.*)$/.exec(line);
      if (m && m[1] === st.info.test) {
        out.push(result(st.info, { status: 'notrun', reason: m[2] ?? '' }));
        this.#state = { kind: 'idle' };
        return;
      }
    } else if (st.kind === 'running') {
      if (isHarnessLine(line)) {
        out.push({ type: 'unparsed', line });
        return;
      }
      if (!isStructuralLine(line)) {
        this.#testText(st.info, line, false, out);
        return;
      }
    }
    this.#settle(out);
    this.#idleLine(line, out);
  }

  #idleLine(line: string, out: CheckEvent[]): void {
    if (line === '') return; // ends the header and each summary block
    const header = parseHeaderLine(line);
    if (header) {
      if (header.field === 'SECTION') this.#section = header.value;
      out.push({ type: 'header', ...header });
      return;
    }
    if (isRecapLine(line)) {
      out.push({ type: 'section-recap', section: this.#section });
      return;
    }
    const summary = parseSummaryLine(line);
    if (summary) {
      out.push(summary);
      return;
    }
    const test = matchTestLine(line);
    if (test !== undefined) {
      const { previousSeconds, rest } = takePreviousTime(line.slice(test.length));
      const info: TestInfo = { test, stamps: [], ...(previousSeconds === undefined ? {} : { previousSeconds }) };
      this.#begin(info, out);
      this.#testText(info, rest, true, out);
      return;
    }
    out.push({ type: 'unparsed', line });
  }

  /** A test name was seen: whatever was in flight is over. */
  #begin(info: TestInfo, out: CheckEvent[]): void {
    this.#settle(out);
    out.push({ type: 'test-start', test: info.test });
    this.#state = { kind: 'running', info };
  }

  /** Text on the test's own line (`first`) or a later line while it runs. */
  #testText(info: TestInfo, text: string, first: boolean, out: CheckEvent[]): void {
    let rest = text;
    if (first) {
      const prev = takePreviousTime(rest);
      if (prev.previousSeconds !== undefined) info.previousSeconds = prev.previousSeconds;
      rest = prev.rest;
    }
    const { outcome, stamps } = classifyOutcomeText(rest, !first);
    info.stamps.push(...stamps);
    switch (outcome.kind) {
      case 'none':
        return;
      case 'pass':
        out.push(result(info, { status: 'passed' }, { seconds: outcome.seconds }));
        this.#state = { kind: 'idle' };
        return;
      case 'expunged':
        out.push(result(info, { status: 'notrun', reason: 'expunged' }, { expunged: true }));
        this.#state = { kind: 'idle' };
        return;
      case 'notrun':
        if (outcome.reason === undefined) {
          this.#state = { kind: 'notrun-reason', info };
        } else {
          out.push(result(info, { status: 'notrun', reason: outcome.reason }));
          this.#state = { kind: 'idle' };
        }
        return;
      case 'failure':
        this.#state = { kind: 'failing', info, message: [outcome.message], diff: [], hints: [], afterBlank: false };
        return;
      case 'harness':
        out.push({ type: 'unparsed', line: outcome.text });
        return;
      case 'text':
        out.push({ type: 'test-output', test: info.test, line: outcome.text });
        return;
    }
  }

  /** Lines after a failure line: the indented diff, more failure text, then hints. */
  #failureTail(st: Extract<State, { kind: 'failing' }>, line: string): void {
    if (line === '') {
      // check: echo "" ends a failure whose output matched; an empty line also precedes hints.
      st.afterBlank = true;
    } else if (st.afterBlank) {
      // check: if [ -f $seqres.hints ]; then echo; cat $seqres.hints
      st.hints.push(line);
    } else if (line.startsWith('    ')) {
      // check: $diff $seq.out $seqres.out.bad | ... | sed -e 's/^\(.\)/    \1/'
      st.diff.push(line.slice(4));
    } else {
      const { text, stamps } = takeStamps(line);
      st.info.stamps.push(...stamps);
      if (text !== '') st.message.push(text);
    }
  }

  /** Completes a failure or -T not-run that waits for more lines; a running test is unfinished. */
  #settle(out: CheckEvent[]): void {
    const st = this.#state;
    if (st.kind === 'failing') {
      // check prints `[failed, exit status 1]` and `- output mismatch` back to back
      // (_dump_err_cont, then _dump_err); kt's message reads them as two phrases.
      const message = st.message.join('\n').replace(/\](?=-)/g, '] ');
      const outcome: TestOutcome =
        st.diff.length > 0 ? { status: 'failed', message, diff: st.diff.join('\n') } : { status: 'failed', message };
      const exitStatus = exitStatusOf(message);
      out.push(
        result(st.info, outcome, {
          ...(exitStatus === undefined ? {} : { exitStatus }),
          ...(st.hints.length > 0 ? { hints: st.hints } : {}),
        }),
      );
    } else if (st.kind === 'notrun-reason') {
      out.push(result(st.info, { status: 'notrun', reason: '' }));
    } else if (st.kind === 'running') {
      out.push({ type: 'test-unfinished', test: st.info.test });
    }
    this.#state = { kind: 'idle' };
  }
}

/** Convenience: parses a whole captured stdout. */
export function parseCheckOutput(text: string): { events: CheckEvent[]; currentTest: string | undefined } {
  const parser = new CheckOutputParser();
  const events = [...parser.push(text), ...parser.end()];
  return { events, currentTest: parser.currentTest() };
}

function result(
  info: TestInfo,
  outcome: TestOutcome,
  extra: Pick<TestResultEvent, 'seconds' | 'expunged' | 'exitStatus' | 'hints'> = {},
): TestResultEvent {
  const ev: TestResultEvent = { type: 'test-result', test: info.test, outcome, ...extra };
  if (info.previousSeconds !== undefined) ev.previousSeconds = info.previousSeconds;
  if (info.stamps[0] !== undefined) ev.startedAt = info.stamps[0];
  if (info.stamps[1] !== undefined) ev.endedAt = info.stamps[1];
  return ev;
}
