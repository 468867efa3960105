/**
 * Seeded hostile text for fuzzing report writers: what a guest can put into a test's output, a
 * console or a file name (control bytes, markup of every report format, bad Unicode, huge
 * runs), and a run whose every text field is such text. A failing case replays from its seed.
 */
import type { RunEvent } from '../../src/record/events.js';
import { RunScript } from './scenarios.js';
import { seededRandom } from '../../src/util/seededRandom.js';


/** Pieces that have broken XML, HTML, markdown and terminal writers. */
export const NASTY = [
  '\u0000', '\u0001', '\u0008', '\u000b', '\u000c', '\u001b', '\u001f', '\u007f', '\u0085', '\u009b',
  '\u001b[31mred\u001b[0m', '\u001b]0;title\u0007', '\u001b[2J\u001b[H',
  ']]>', '<![CDATA[', '<!--', '-->', '--!>', '&amp;', '&', '&#0;', '&#x3C;script>', '&lt;', '<', '>', '"', "'", '`',
  '<script>alert(1)</script>', '<SCRIPT SRC=//x.test/a.js>', '</pre>', '</title>', '</style>', '</textarea>', '</svg>',
  '<img src=x onerror=alert(1)>', '<svg onload=alert(1)>', '<a href="javascript:alert(1)">', 'javascript:alert(1)',
  '" onmouseover="alert(1)', "' onfocus='alert(1)", '<iframe src="http://127.0.0.1:9/">', '<link rel=stylesheet href=//x>',
  '<style>*{background:url(//x)}</style>', '<base href="http://x/">', '<meta http-equiv="refresh" content="0;url=//x">',
  '\ud800', '\udfff', '\udc00\ud800', '\ufffe', '\uffff', '\ufdd0', '\ufeff', '\u2028', '\u202e', '\u2066', '\r\n', '\r', '\t',
  '😀', '👩‍👩‍👧', '🇩🇪', 'é', 'e\u0301', '漢字', '\u200b', '\u{10ffff}',
  '::error::', '%0A', '%', ',', ':', '|', '```', '<details>', '*_[]', '../../', '/etc/passwd', '#t-1',
];

/** A string of up to `maxParts` pieces: nasty ones, random bytes decoded as UTF-8, fstests-like text. */
export function fuzzString(rand: () => number, maxParts: number): string {
  const parts: string[] = [];
  const count = Math.floor(rand() * maxParts);
  for (let i = 0; i < count; i++) {
    const pick = rand();
    if (pick < 0.45) {
      parts.push(NASTY[Math.floor(rand() * NASTY.length)] ?? '');
    } else if (pick < 0.75) {
      // Random bytes decoded as UTF-8, as the runner decodes guest output: invalid sequences → U+FFFD.
      const bytes = Buffer.alloc(1 + Math.floor(rand() * 24));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
      parts.push(bytes.toString('utf8'));
    } else if (pick < 0.97) {
      parts.push(['QA output created by 001', '\n', ' ', '[  46.926864] Kernel panic', '+I am broken', '-Silence is golden', 'x'.repeat(20)][Math.floor(rand() * 7)] ?? '');
    } else {
      parts.push('y'.repeat(70_000 + Math.floor(rand() * 10_000)));
    }
  }
  return parts.join('');
}

/** A run whose every text (names, machines, messages, diffs, consoles, paths) is hostile. */
export function hostileRun(seed: number): RunEvent[] {
  const rand = seededRandom(seed);
  const f = (max = 12): string => fuzzString(rand, max);
  const crash = { title: f(6), type: f(3), frame: f(3), fingerprint: `fp-${seed % 3}`, excerpt: f(20), ...(rand() < 0.3 ? { corrupted: true } : {}) };
  const warning = { title: f(6), type: 'warning', fingerprint: f(2), excerpt: f(10) };
  const vm = `vm${f(2)}`;
  const s = new RunScript().start({ tests: ['generic/001', f(3), 'generic/003', 'generic/004'], section: f(3), hostname: f(3), kernel: f(3), runId: f(3), argv: [f(2), f(2)] });
  s.boot(vm, 0);
  s.test('generic/001', vm, 9, 1, { status: 'failed', message: f(), diff: f(30) }, { dmesg: f(20), fullTail: f(10), artifacts: { outBad: f(3), full: f(3), dmesg: f(3), console: f(3) } });
  s.report(vm, 9.5, 'generic/001', warning);
  s.test('generic/001', 'vm2', 11, 1, { status: 'passed' }, { attempt: 2, dmesg: f(5) });
  s.test('generic/003', vm, 13, 1, { status: 'notrun', reason: f() });
  s.test(f(4), vm, 15, 1, { status: 'crashed', message: f(), crash }, { artifacts: { console: f(3) } });
  s.lost(vm, 17, 'crash', f(), crash);
  s.test('generic/004', 'vm2', 18, 1, rand() < 0.5 ? { status: 'timedout', message: f(), crash } : { status: 'error', message: f() });
  s.warning(f(), 19, f(2));
  if (rand() < 0.5) s.end('interrupted', 20, 'SIGTERM');
  return s.sorted();
}
