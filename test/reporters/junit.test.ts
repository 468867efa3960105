import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/record/events.js';
import { describeTestcase, renderJunit } from '../../src/reporters/junit.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { interruptedRun, noreflinkRun, RunScript, shard, SYSRQ_CRASH } from './scenarios.js';
import { expectGolden } from './golden.js';
import { validateJunit } from './xmlSchema.js';
import { seededRandom } from '../../src/util/seededRandom.js';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', cdataPropName: false, trimValues: false, isArray: (name) => ['testsuite', 'testcase', 'flakyFailure', 'property'].includes(name) });

interface ParsedCase {
  name: string;
  classname: string;
  time?: string;
  failure?: { message?: string; type?: string; '#text'?: string } | string;
  error?: { message?: string; type?: string };
  skipped?: { message?: string; '#text'?: string } | string;
  flakyFailure?: { message?: string; type?: string }[];
  'system-out'?: string;
}
interface ParsedSuite {
  name: string;
  hostname?: string;
  tests: string;
  failures: string;
  errors: string;
  skipped: string;
  testcase?: ParsedCase[];
}

function parseJunit(xml: string): { testsuites: { testsuite: ParsedSuite[]; skipped?: string } } {
  return parser.parse(xml) as { testsuites: { testsuite: ParsedSuite[]; skipped?: string } };
}

function textOf(node: { '#text'?: string } | string | undefined): string | undefined {
  return typeof node === 'string' ? node : node?.['#text'];
}

describe('renderJunit', () => {
  const summary = summarizeRun([...interruptedRun(), ...noreflinkRun()]);
  const xml = renderJunit(summary);

  it('matches the golden file (times and hostnames blanked)', () => {
    expectGolden('junit.golden.xml', xml);
  });

  it('validates against junit-10.xsd, with every outcome present', () => {
    const statuses = new Set(summary.tests.map((t) => t.status));
    expect([...statuses].sort()).toEqual(['crashed', 'error', 'failed', 'notexecuted', 'notrun', 'passed', 'timedout']);
    expect(summary.tests.some((t) => t.flaky)).toBe(true);
    expect(validateJunit([xml])).toEqual([]);
  });

  it('writes one testsuite per section with counts and hostname', () => {
    const doc = parseJunit(xml);
    expect(doc.testsuites.skipped).toBeUndefined();
    expect(doc.testsuites.testsuite.map((s) => [s.name, s.hostname, s.tests, s.failures, s.errors, s.skipped])).toEqual([
      ['kt.global', 'ci-runner-7', '12', '5', '1', '4'],
      ['kt.xfs_noreflink', 'ci-runner-7', '2', '0', '0', '1'],
    ]);
  });

  it('gives each section of one run its own testsuite, with its options as properties', () => {
    const s = new RunScript().start({
      tests: ['generic/001'],
      section: 'xfs/4k',
      ktVersion: '0.2.0',
      sections: [
        { name: 'xfs/4k', fstyp: 'xfs', mkfsOptions: '-b size=4096', mountOptions: '' },
        { name: 'xfs/1k', fstyp: 'xfs', mkfsOptions: '-b size=1024', mountOptions: '-o noatime' },
      ],
      work: [
        { section: 'xfs/4k', test: 'generic/001' },
        { section: 'xfs/1k', test: 'generic/001' },
      ],
    });
    s.boot('vm1', 0);
    s.test('generic/001', 'vm1', 10, 2, { status: 'passed' }, { section: 'xfs/4k' });
    s.test('generic/001', 'vm1', 13, 2, { status: 'failed', message: '- output mismatch' }, { section: 'xfs/1k' });
    s.end('completed', 20);
    const out = renderJunit(summarizeRun(s.sorted()));
    expect(validateJunit([out])).toEqual([]);
    const suites = parser.parse(out).testsuites.testsuite as (ParsedSuite & { properties: { property: { name: string; value: string }[] } })[];
    expect(suites.map((x) => [x.name, x.tests, x.failures])).toEqual([
      ['kt.xfs/4k', '1', '0'],
      ['kt.xfs/1k', '1', '1'],
    ]);
    expect(Object.fromEntries(suites[1]!.properties.property.map((p) => [p.name, p.value]))).toEqual({
      FSTYP: 'xfs',
      KERNEL: '/boot/vmlinuz-6.1.0-56-cloud-amd64',
      SECTION: 'xfs/1k',
      MKFS_OPTIONS: '-b size=1024',
      MOUNT_OPTIONS: '-o noatime',
      KT_VERSION: '0.2.0',
    });
  });

  it('says what happened to each test in the elements CI tools read', () => {
    const cases = new Map(parseJunit(xml).testsuites.testsuite[0]?.testcase?.map((c) => [c.name, c]));
    expect(cases.get('generic/455')?.skipped).toEqual({ message: 'This test requires a valid $LOGWRITES_DEV' });
    expect(cases.get('selftest/002')?.failure).toMatchObject({ type: 'TestFail', message: '- output mismatch (see /job/results/selftest/002.out.bad)' });
    expect(textOf(cases.get('selftest/002')?.failure)).toContain('+I am intentionally broken');
    expect(cases.get('selftest/005')?.failure).toMatchObject({ type: 'kernel-crash', message: SYSRQ_CRASH.title });
    expect(textOf(cases.get('selftest/005')?.failure)).toContain('sysrq_handle_crash+0x16/0x20');
    expect(cases.get('selftest/006')?.failure).toMatchObject({ type: 'timeout' });
    expect(cases.get('generic/001')?.error).toMatchObject({ type: 'infrastructure' });
    expect(cases.get('selftest/900')?.['system-out']).toContain('WARNING: CPU: 0 PID: 1 at fs/fake.c:42');
    expect(cases.get('selftest/003')?.failure).toBeUndefined();
    expect(cases.get('selftest/003')?.flakyFailure).toEqual([
      expect.objectContaining({ type: 'TestFail', message: expect.stringContaining('attempt 1 on vm1: [failed, exit status 1]') }),
    ]);
    expect(cases.get('generic/002')?.skipped).toEqual({ message: 'not executed: run interrupted', '#text': 'was running on vm4 when the run stopped' });
    expect(cases.get('generic/003')?.skipped).toEqual({ message: 'not executed: run interrupted' });
  });

  it('marks earlier failures of a test that still fails as rerunFailure', () => {
    const s = new RunScript().start({ tests: ['generic/013'] });
    s.boot('vm1', 0);
    s.test('generic/013', 'vm1', 9, 5, { status: 'failed', message: '- output mismatch', diff: '-a\n+b\n' });
    s.test('generic/013', 'vm1', 15, 5, { status: 'failed', message: '- output mismatch', diff: '-a\n+c\n' }, { attempt: 2 });
    s.end('completed', 21);
    const result = summarizeRun(s.sorted()).tests[0];
    expect(result && describeTestcase(result)).toMatchObject({
      verdict: { element: 'failure', body: '-a\n+c\n' },
      reruns: [{ element: 'rerunFailure', type: 'TestFail', stackTrace: '-a\n+b\n' }],
    });
    expect(validateJunit([renderJunit(summarizeRun(s.sorted()))])).toEqual([]);
  });

  it('keeps text containing several "]]>" intact (the library escapes only the first)', () => {
    const diff = '-x]]>y\n+]]>]]>\n<![CDATA[ & <!-- -->';
    const s = new RunScript().start({ tests: ['generic/014'] });
    s.test('generic/014', 'vm1', 1, 1, { status: 'failed', message: 'a ]]> b', diff });
    const parsed = parseJunit(renderJunit(summarizeRun(s.sorted())));
    const failure = parsed.testsuites.testsuite[0]?.testcase?.[0]?.failure;
    expect(textOf(failure)).toBe(diff);
    expect(failure).toMatchObject({ message: 'a ]]> b' });
  });

  it('renders an empty log as a valid file with one empty suite', () => {
    const empty = renderJunit(summarizeRun([]));
    expect(parseJunit(empty).testsuites.testsuite[0]).toMatchObject({ name: 'kt.global', tests: '0' });
    expect(validateJunit([empty])).toEqual([]);
  });

  it('merges shards into one suite whose hostname names both hosts', () => {
    const merged = renderJunit(summarizeRun([...shard(1), ...shard(2)]));
    expect(parseJunit(merged).testsuites.testsuite.map((s) => [s.name, s.hostname, s.tests])).toEqual([['kt.xfs_reflink', 'ci-shard-1 ci-shard-2', '6']]);
    expect(validateJunit([merged])).toEqual([]);
  });
});


/** Pieces that have broken XML writers: control bytes, markup, CDATA ends, bad Unicode. */
const NASTY = [
  '\u0000', '\u0001', '\u0008', '\u000b', '\u000c', '\u001b', '\u001f', '\u007f', '\u0085',
  '\u001b[31mred\u001b[0m', '\u001b]0;title\u0007', '\u001b[2J\u001b[H',
  ']]>', ']]]]>', '<![CDATA[', '<!--', '-->', '&amp;', '&', '<', '>', '"', "'", '&#0;', '&#x1;',
  '\ud800', '\udfff', '\udc00\ud800', '\ufffe', '\uffff', '\ufeff', '\u2028', '\r\n', '\r', '\t',
  '😀', '👩‍👩‍👧', '🇩🇪', 'é', 'e\u0301', '漢字', '\u200b', '\u{10ffff}',
  '::error::', '%0A', '%', ',', ':', '|', '`', '```', '<details>', '*_[]',
];

function fuzzString(rand: () => number, maxParts: number): string {
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
      parts.push(['QA output created by 001', '\n', ' ', '[  46.926864] Kernel panic', '+I am broken', 'x'.repeat(20)][Math.floor(rand() * 6)] ?? '');
    } else {
      parts.push('y'.repeat(70_000 + Math.floor(rand() * 10_000)));
    }
  }
  return parts.join('');
}

function fuzzRun(seed: number): RunEvent[] {
  const rand = seededRandom(seed);
  const f = (max = 12): string => fuzzString(rand, max);
  const crash = { title: f(6), type: f(3), frame: f(3), fingerprint: `fp-${seed % 3}`, excerpt: f(20) };
  const s = new RunScript().start({ tests: ['generic/001', f(3), 'generic/003', 'generic/004'], section: f(3), hostname: f(3) });
  s.boot('vm1', 0);
  s.test('generic/001', 'vm1', 9, 1, { status: 'failed', message: f(), diff: f(30) }, { dmesg: f(20), fullTail: f(10) });
  s.test('generic/001', 'vm1', 11, 1, { status: 'passed' }, { attempt: 2, dmesg: f(5) });
  s.test('generic/003', 'vm1', 13, 1, { status: 'notrun', reason: f() });
  s.test(f(4), 'vm1', 15, 1, { status: 'crashed', message: f(), crash });
  s.lost('vm1', 17, 'crash', f(), crash);
  s.test('generic/004', 'vm2', 18, 1, rand() < 0.5 ? { status: 'timedout', message: f(), crash } : { status: 'error', message: f() });
  s.warning(f(), 19);
  if (rand() < 0.5) s.end('interrupted', 20, 'SIGTERM');
  return s.sorted();
}

describe('renderJunit on hostile text (fuzz)', () => {
  it('uses a validator that rejects broken files (so a pass means something)', () => {
    const problems = validateJunit(['<testsuites><testsuite name="a" tests="1" failures="0" errors="0" bogus="1"/></testsuites>', '<a>]]></a>']);
    expect(problems.join('\n')).toMatch(/attribute 'bogus'[\s\S]*Sequence '\]\]>' not allowed/);
  });

  it('is always well-formed and schema-valid, over 300 seeded cases', () => {
    const docs: string[] = [];
    for (let seed = 1; seed <= 300; seed++) docs.push(renderJunit(summarizeRun(fuzzRun(seed))));
    expect(validateJunit(docs)).toEqual([]);
  });

  it('keeps readable text: emoji and accents survive, NUL and ANSI colour codes do not', () => {
    const s = new RunScript().start({ tests: ['generic/001'] });
    s.test('generic/001', 'vm1', 1, 1, { status: 'failed', message: 'bad\u0000 \u001b[31mred\u001b[0m 😀', diff: 'é\ud800\uffff漢字 ]]>' });
    const failure = parseJunit(renderJunit(summarizeRun(s.sorted()))).testsuites.testsuite[0]?.testcase?.[0]?.failure;
    expect(failure).toMatchObject({ message: 'bad red 😀' });
    expect(textOf(failure)).toBe('é漢字 ]]>');
  });

  it('caps huge texts', () => {
    const s = new RunScript().start({ tests: ['generic/001'] });
    s.test('generic/001', 'vm1', 1, 1, { status: 'failed', message: 'm'.repeat(10_000), diff: 'd'.repeat(1_000_000) });
    const xml = renderJunit(summarizeRun(s.sorted()));
    expect(xml.length).toBeLessThan(80_000);
    expect(xml).toContain('characters ...]');
  });
});
