/**
 * The folder rule of docs/architecture.md ("Folders and what each may import"), checked over
 * every import in src/: a folder imports its own files, the shared leaves (src/errors.ts and
 * src/util/), and the folders listed for it — nothing else. Named exceptions are files, not
 * folders (the runner may see the Machine interface, never the QEMU classes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** What each folder may import besides itself and the shared leaves. Keep in step with docs/architecture.md. */
export const ALLOWED: Record<string, readonly string[]> = {
  record: [],
  util: [],
  crash: ['record'],
  fstests: ['record'],
  config: ['record'],
  vm: [],
  kconfig: [],
  modules: ['vm', 'crash'],
  reporters: ['record'],
  baseline: ['record'],
  runner: ['record', 'crash', 'fstests', 'config', 'modules'],
  cli: ['*'],
  bench: ['*'],
};

/** Single files a folder may import from a folder it may not otherwise use. */
export const EXCEPTIONS: Record<string, readonly string[]> = {
  // The runner drives machines through this interface only (it re-exports the exec types).
  runner: ['vm/machine.ts', 'vm/sshTransport.ts'],
};

const SHARED = ['errors.ts', 'util'];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative module specifiers of a file: static imports, re-exports and dynamic import(). */
function importsOf(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:^|\s)(?:import|export)\s[^'";]*?from\s*'(\.[^']+)'/gm)) specs.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)) specs.push(m[1]!);
  for (const m of text.matchAll(/^import\s+'(\.[^']+)'/gm)) specs.push(m[1]!);
  return specs;
}

/** `runner/worker.ts` → `runner`; `errors.ts` → `errors.ts`. */
function topOf(rel: string): string {
  return rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel;
}

export function violations(): string[] {
  const out: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const rel = path.relative(SRC, file);
    const folder = topOf(rel);
    if (!rel.includes('/')) continue; // src/errors.ts itself
    const allowed = ALLOWED[folder];
    if (!allowed) {
      out.push(`${rel}: folder ${folder} is not in the layering rule (add it to docs/architecture.md and this test)`);
      continue;
    }
    for (const spec of importsOf(fs.readFileSync(file, 'utf8'))) {
      const target = path.relative(SRC, path.resolve(path.dirname(file), spec)).replace(/\.js$/, '.ts');
      const top = topOf(target);
      if (top === folder || SHARED.includes(top)) continue;
      if (allowed.includes('*') || allowed.includes(top)) continue;
      if (EXCEPTIONS[folder]?.includes(target)) continue;
      out.push(`${rel} imports ${target}`);
    }
  }
  return out;
}

describe('layering', () => {
  it('no folder imports one it may not', () => {
    expect(violations()).toEqual([]);
  });

  it('notices a forbidden import (so a pass means something)', () => {
    const probe = path.join(SRC, 'record', '__layering_probe.ts');
    fs.writeFileSync(probe, "import type { Machine } from '../vm/machine.js';\nexport type X = Machine;\n");
    try {
      expect(violations()).toContain('record/__layering_probe.ts imports vm/machine.ts');
    } finally {
      fs.rmSync(probe);
    }
  });
});
