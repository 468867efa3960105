import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProgressReporter, formatEventLine, initialProgress, reduceProgress, renderProgressBlock, REDRAW_INTERVAL_MS } from '../../src/reporters/progress.js';
import type { RunEvent } from '../../src/record/events.js';
import { expectGolden } from './golden.js';
import { at, interruptedRun, RunScript } from './scenarios.js';

/** A stream that records what was written. */
class Sink extends Writable {
  readonly chunks: string[] = [];
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk.toString('utf8'));
    done();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('plain progress (not a TTY)', () => {
  it('prints one line per event', () => {
    const sink = new Sink(false);
    const reporter = createProgressReporter({ stream: sink });
    for (const e of interruptedRun()) reporter.onEvent(e);
    reporter.close();
    expect(sink.text).not.toMatch(/\u001b/);
    expect(sink.text).toContain('[vm1] generic/455 not run 7.0s: This test requires a valid $LOGWRITES_DEV\n');
    expect(sink.text).toContain('[vm2] selftest/001 passed 5.0s\n');
    expectGolden('progress.golden.txt', sink.text);
  });

  it('says why a test starts twice when its first VM was lost before it began its work', () => {
    const sink = new Sink(false);
    const reporter = createProgressReporter({ stream: sink });
    const events = new RunScript()
      .start({ tests: ['selftest/004', 'selftest/005'] })
      .boot('vm1', 0)
      .test('selftest/004', 'vm1', 9, 1, { status: 'passed' })
      .begin('selftest/005', 'vm1', 10)
      .lost('vm1', 11, 'crash', "kernel panic: sysrq triggered crash (after selftest/004's result, before selftest/005 began its work; selftest/005 runs again on a fresh VM)")
      .boot('vm2', 11)
      .test('selftest/005', 'vm2', 20, 3, { status: 'passed' })
      .end('completed', 24)
      .sorted();
    for (const e of events) reporter.onEvent(e);
    reporter.close();
    expect(sink.text).toContain('[vm1] selftest/005 started\n');
    expect(sink.text).toContain('[vm2] selftest/005 started again: its start on vm1 has no result (that VM was lost before the test began its work)\n');
    // A test's one start, and a retry after its result, say nothing more.
    expect(sink.text).toContain('[vm1] selftest/004 started\n');
    expect(sink.text.match(/started again/g)).toHaveLength(1);
  });

  it('never throws on events out of order, malformed or unknown', () => {
    const odd = [
      { type: 'test-end', ts: at(1), test: 'generic/001', machine: 'vm9', attempt: 1, durationMs: 12_000, artifacts: {} },
      { type: 'machine-lost', ts: 'yesterday' },
      { type: 'frobnicate', ts: at(2) },
      { type: 'test-begin', ts: at(3) },
      { type: 'run-start', ts: at(4) },
      { type: 'test-end', ts: at(5), test: 'generic/002', machine: 'vm1', attempt: 1, outcome: { status: 'passed' }, durationMs: 12_000, artifacts: {} },
    ] as unknown as RunEvent[];
    for (const tty of [false, true]) {
      const sink = new Sink(tty);
      const reporter = createProgressReporter({ stream: sink });
      expect(() => {
        for (const e of odd) reporter.onEvent(e);
        reporter.close();
      }).not.toThrow();
      expect(sink.text).toContain(tty ? '1/? done' : '[vm1] generic/002 passed 12s');
    }
    let state = initialProgress();
    for (const e of odd) state = reduceProgress(state, e, 0);
    expect(() => renderProgressBlock(state, 0)).not.toThrow();
  });
});

describe('TTY progress', () => {
  it('draws one line per VM with its current test and elapsed time, then the counts', () => {
    let state = initialProgress();
    const events = interruptedRun().filter((e) => Date.parse(e.ts) <= Date.parse(at(40)));
    for (const e of events) state = reduceProgress(state, e, 0);
    expect(renderProgressBlock(state, Date.parse(at(40)))).toBe(
      [
        'vm1  generic/001  0.2s',
        'vm2  lost (crash)',
        'vm3  selftest/006  8.9s',
        '8/12 done · 2 passed · 3 failed · 1 crashed · 2 not run · 40s',
      ].join('\n'),
    );
  });

  it('redraws at most 4 times a second and keeps failures in the scrollback', () => {
    vi.useFakeTimers({ now: Date.parse(at(0)) });
    const sink = new Sink(true);
    const reporter = createProgressReporter({ stream: sink, color: false, now: () => Date.now() });
    const s = new RunScript().start({ tests: Array.from({ length: 100 }, (_, i) => `generic/${i}`) });
    s.boot('vm1', 0, 0);
    for (let i = 0; i < 100; i++) s.test(`generic/${i}`, 'vm1', i * 0.01, 0.005, i === 50 ? { status: 'failed', message: 'output mismatch' } : { status: 'passed' });
    for (const e of s.sorted()) {
      reporter.onEvent(e);
      vi.advanceTimersByTime(5);
    }
    vi.advanceTimersByTime(REDRAW_INTERVAL_MS);
    const draws = sink.chunks.filter((c) => c.includes(' done · ')).length;
    // ~1 s of events: at most one draw per interval, plus the final one.
    expect(draws).toBeGreaterThan(1);
    expect(draws).toBeLessThanOrEqual(1000 / REDRAW_INTERVAL_MS + 2);
    expect(sink.text).toContain('[vm1] generic/50 failed 0.0s: output mismatch\n');
    reporter.close();
    expect(sink.text).toContain('100/100 done · 99 passed · 1 failed');
  });
});

describe('formatEventLine', () => {
  it('words each event kind', () => {
    const lines = interruptedRun().map((e) => formatEventLine(e));
    expect(lines).toContain('[vm2] lost (crash): kernel panic: Kernel panic - not syncing: sysrq triggered crash');
    expect(lines).toContain('[vm3] selftest/003 started (attempt 2)');
    expect(lines.at(-1)).toBe('kt: run interrupted (SIGINT) after 2m50s');
  });
});
