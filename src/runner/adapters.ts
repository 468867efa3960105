/**
 * Binds the runner's ports (ports.ts) to the real parsers: fstests' stdout parser and the
 * console crash detector.
 */
import { CheckOutputParser } from '../fstests/checkOutputParser.js';
import type { CheckEvent } from '../fstests/checkEvents.js';
import { CrashDetector, LineSplitter } from '../crash/index.js';
import type { CheckStream, CheckStreamEvent, ConsoleCrash, ConsoleWatcher } from './ports.js';

function toStreamEvents(events: CheckEvent[]): CheckStreamEvent[] {
  const out: CheckStreamEvent[] = [];
  for (const ev of events) {
    if (ev.type === 'test-start') out.push({ type: 'test-start', test: ev.test });
    else if (ev.type === 'test-result') {
      out.push({
        type: 'test-result',
        test: ev.test,
        outcome: ev.outcome,
        ...(ev.seconds !== undefined ? { seconds: ev.seconds } : {}),
        ...(ev.expunged ? { expunged: true } : {}),
      });
    } else if (ev.type === 'test-unfinished') {
      // The next test started without an outcome for this one: check lost its line.
      out.push({
        type: 'test-result',
        test: ev.test,
        outcome: { status: 'error', message: `check printed no outcome for ${ev.test} before the next test started` },
      });
    }
  }
  return out;
}

export function createCheckStream(): CheckStream {
  const parser = new CheckOutputParser();
  return {
    push: (chunk) => toStreamEvents(parser.push(chunk)),
    end: () => toStreamEvents(parser.end()),
  };
}

/** Console bytes → whole lines → crash reports (never matched on raw chunks: a marker split across two reads must still match). */
export function createConsoleWatcher(): ConsoleWatcher {
  const splitter = new LineSplitter();
  const detector = new CrashDetector();
  return {
    push(chunk) {
      const reports: ConsoleCrash[] = [];
      for (const line of splitter.push(chunk)) reports.push(...detector.push(line));
      return reports;
    },
    flush() {
      const reports: ConsoleCrash[] = [];
      for (const line of splitter.flush()) reports.push(...detector.push(line));
      reports.push(...detector.flush());
      return reports;
    },
    closeReports() {
      return detector.flush();
    },
    get fatalPending() {
      return detector.fatalPending;
    },
    get reportPending() {
      return detector.reportPending;
    },
    get markers() {
      return detector.markers;
    },
  };
}
