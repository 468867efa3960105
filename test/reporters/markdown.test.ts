import { describe, expect, it } from 'vitest';
import { mdBlock, mdCode, mdInline, renderMarkdown } from '../../src/reporters/markdown.js';
import { summarizeRun } from '../../src/record/summarize.js';
import { expectGolden } from './golden.js';
import { interruptedRun, noreflinkRun, RunScript } from './scenarios.js';

describe('renderMarkdown', () => {
  it('matches the golden report.md for an interrupted run in two sections', () => {
    expectGolden('report.golden.md', renderMarkdown(summarizeRun([...interruptedRun(), ...noreflinkRun()])));
  });

  it('keeps hostile test output from breaking tables, fences or injecting HTML', () => {
    const s = new RunScript().start({ tests: ['generic/001'] });
    s.test('generic/001', 'vm1', 1, 1, { status: 'failed', message: 'a | b <img src=x> `c`', diff: '```\n</details><script>\n````' });
    const md = renderMarkdown(summarizeRun(s.sorted()));
    expect(md).toContain('`` a | b <img src=x> `c` ``');
    // The diff fence is longer than any backtick run inside it.
    expect(md).toContain('`````diff\n```\n</details><script>\n````\n`````');
  });
});

describe('markdown escaping', () => {
  it('escapes inline markdown and HTML', () => {
    expect(mdInline('a|b <x> *y* _z_ [l](u) `c`\nnext')).toBe('a\\|b \\<x\\> \\*y\\* \\_z\\_ \\[l\\](u) \\`c\\` next');
  });
  it('picks a code fence longer than the content', () => {
    expect(mdCode('x `y` z')).toBe('``x `y` z``');
    expect(mdCode('a|b', true)).toBe('`a\\|b`');
    expect(mdBlock('``` inside')).toBe('````\n``` inside\n````');
  });
});
