// kt kconfig fix's file-system steps on a stand-in tree: merge_config.sh and `make olddefconfig`
// are small scripts, so the order of kt's writes and its errors are tested without a kernel.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { fixKernelConfig, fixWriteError } from '../../src/kconfig/fix.js';
import { XFS_IMAGE_CONTEXT } from './contexts.js';

const TINY = fs.readFileSync(new URL('./fixtures/tinyconfig-6.1.192.config', import.meta.url), 'utf8');

const ctx = XFS_IMAGE_CONTEXT;

let tree: string;
beforeEach(() => {
  tree = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-kconfig-fix-'));
  fs.mkdirSync(path.join(tree, 'scripts/kconfig'), { recursive: true });
  fs.writeFileSync(path.join(tree, '.config'), TINY);
  fs.writeFileSync(path.join(tree, 'Makefile'), 'olddefconfig:\n\t@true\n');
});
afterEach(() => fs.rmSync(tree, { recursive: true, force: true }));

/** A merge_config.sh that appends the fragment (`-m .config FRAGMENT`), then runs `extra`. */
function mergeScript(extra = ''): void {
  const file = path.join(tree, 'scripts/kconfig/merge_config.sh');
  fs.writeFileSync(file, `#!/bin/sh\ngrep '^CONFIG_' "$3" >> "$2"\n${extra}\n`);
  fs.chmodSync(file, 0o755);
}

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
};

describe('kt kconfig fix: file-system errors are typed (exit 2), and .config is never changed unsaid', () => {
  it('merges with the stand-in scripts: .config changed, backup and list of changes written', () => {
    mergeScript();
    const report = fixKernelConfig({ tree, context: ctx, requiredOnly: true });
    expect(report.nothingToDo).toBe(false);
    expect(fs.readFileSync(path.join(tree, '.config.kt-old'), 'utf8')).toBe(TINY);
    expect(fs.readFileSync(path.join(tree, '.config'), 'utf8')).not.toBe(TINY);
    expect(fs.readFileSync(path.join(tree, '.kt/last-fix.changes'), 'utf8')).toMatch(/CONFIG_/);
  });

  it('.kt/last-fix.changes a directory: refused before anything is written', () => {
    mergeScript();
    fs.mkdirSync(path.join(tree, '.kt/last-fix.changes'), { recursive: true });
    const err = thrown(() => fixKernelConfig({ tree, context: ctx, requiredOnly: true }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err).toMatchObject({
      code: 'E_KCONFIG_CHANGES_EXISTS',
      exitCode: 2,
      message: `${tree}/.kt/last-fix.changes exists and is not a file kt wrote (a directory)`,
      hint: 'move it away; kt keeps its list of changes there (last-fix.changes)',
    });
    expect(fs.readFileSync(path.join(tree, '.config'), 'utf8')).toBe(TINY);
    expect(fs.readdirSync(tree).sort()).toEqual(['.config', '.kt', 'Makefile', 'scripts']);
    expect(fs.readdirSync(path.join(tree, '.kt'))).toEqual(['last-fix.changes']);
  });

  it('the list of changes unwritable after the merge (EISDIR): the error says .config was changed and where the backup is', () => {
    // Something makes the file a directory while the merge runs.
    mergeScript('mkdir -p .kt/last-fix.changes/x');
    const err = thrown(() => fixKernelConfig({ tree, context: ctx, requiredOnly: true }));
    expect(err).toBeInstanceOf(UsageError);
    const backup = path.join(tree, '.config.kt-old');
    expect(err).toMatchObject({ code: 'E_KCONFIG_WRITE', exitCode: 2 });
    const { message, hint } = err as UsageError;
    expect(message).toMatch(new RegExp(`^cannot write ${tree}/\\.kt/last-fix\\.changes \\(EISDIR\\); \\.config was changed \\(\\d+ options; the previous one is ${backup}\\)$`));
    expect(hint).toBe(`move ${tree}/.kt/last-fix.changes (or what is in its way) aside, then run kt kconfig fix again; to undo the change: cp ${backup} ${tree}/.config`);
    expect(fs.readFileSync(backup, 'utf8')).toBe(TINY);
  });

  it('a tree this user cannot write (EACCES on .kt): typed, .config unchanged', { skip: process.getuid?.() === 0 }, () => {
    mergeScript();
    fs.chmodSync(tree, 0o555);
    try {
      expect(thrown(() => fixKernelConfig({ tree, context: ctx, requiredOnly: true }))).toMatchObject({ code: 'E_KCONFIG_WRITE', exitCode: 2, message: `cannot create ${tree}/.kt (EACCES); .config is unchanged` });
      expect(fs.readFileSync(path.join(tree, '.config'), 'utf8')).toBe(TINY);
    } finally {
      fs.chmodSync(tree, 0o755);
    }
  });

  it('fixWriteError (pure): the path, the OS reason, the state of .config and a hint per reason', () => {
    const errno = (code: string) => Object.assign(new Error(code), { code });
    expect(fixWriteError('create', '/src/linux/.kt', errno('EACCES'), '.config is unchanged')).toMatchObject({
      code: 'E_KCONFIG_WRITE',
      exitCode: 2,
      message: 'cannot create /src/linux/.kt (EACCES); .config is unchanged',
      hint: 'make /src/linux writable by this user (or run kt kconfig fix as the owner of the tree), then run it again',
    });
    // A full disk is the host's trouble: exit 3, as for kt report's reports.
    expect(fixWriteError('back up .config to', '/src/linux/.config.kt-old', errno('ENOSPC'), '.config is unchanged')).toMatchObject({
      code: 'E_KCONFIG_WRITE',
      exitCode: 3,
      hint: 'free space on (or check) the file system holding /src/linux, then run kt kconfig fix again',
    });
    expect(fixWriteError('read', '/src/linux/.config', errno('ELOOP'), '.config is unchanged')).toMatchObject({ exitCode: 2, hint: 'check the file system holding /src/linux, then run kt kconfig fix again' });
  });
});
