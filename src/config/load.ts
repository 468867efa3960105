/**
 * Reading kt.yaml and suite files. Errors name the file and line, the key and the fix: a typo is
 * an error, never a silently ignored setting.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML, { LineCounter, isNode } from 'yaml';
import type { z } from 'zod';
import { UsageError, printable } from '../errors.js';
import { configFileSchema, type ConfigFile } from './schema.js';

/** suites/ shipped with kt (resolved from src/config or dist/config alike). */
export const BUILTIN_SUITES_DIR = fileURLToPath(new URL('../../suites/', import.meta.url));

/** The 1-based line of a path in a YAML document (the nearest existing parent when it is missing). */
function lineOf(doc: YAML.Document, lines: LineCounter, keyPath: readonly PropertyKey[]): number {
  for (let n = keyPath.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(keyPath.slice(0, n).map((k) => (typeof k === 'symbol' ? String(k) : k)), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return 1;
}

/** Reads a regular file, or throws E_<WHAT>_* naming it. */
function readTextFile(file: string, shown: string, what: string, flagHint: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new UsageError(`E_${what.toUpperCase()}_MISSING`, `${what} file ${printable(shown)} does not exist`, flagHint);
  }
  if (!stat.isFile()) {
    throw new UsageError(`E_${what.toUpperCase()}_NOT_A_FILE`, `${what} file ${printable(shown)} is ${stat.isDirectory() ? 'a directory' : 'not a regular file'}`, flagHint);
  }
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`E_${what.toUpperCase()}_UNREADABLE`, `cannot read ${what} file ${printable(shown)} (${(err as NodeJS.ErrnoException).code})`, 'check its permissions');
  }
}

/** Parses YAML text against a schema; errors carry `file:line`. */
export function parseYamlText<T>(text: string, file: string, schema: z.ZodType<T>, what: string): T {
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const line = syntax.linePos?.[0]?.line ?? 1;
    throw new UsageError(`E_${what.toUpperCase()}_UNREADABLE`, `${file}:${line}: not valid YAML: ${syntax.message.split('\n')[0]}`, `fix the YAML syntax in ${file}`);
  }
  const result = schema.safeParse(doc.toJS() ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path.map(String).join('.') || '(top level)';
    // A bad record key carries the key's own issue inside (zod's invalid_key).
    const inner = 'issues' in issue && Array.isArray(issue.issues) ? (issue.issues[0] as { message?: string } | undefined)?.message : undefined;
    throw new UsageError(
      `E_${what.toUpperCase()}_INVALID`,
      `${file}:${lineOf(doc, lines, issue.path)}: ${key}: ${inner ?? issue.message}`,
      `see the "${what} file" section of kt's README for the allowed keys`,
    );
  }
  return result.data;
}

/** Reads and validates a YAML file. */
export function parseYamlFile<T>(file: string, schema: z.ZodType<T>, what: string, flagHint: string): T {
  return parseYamlText(readTextFile(file, file, what, flagHint), file, schema, what);
}

/** The config file: --config FILE, else ./kt.yaml, else $XDG_CONFIG_HOME/kt/config.yaml. */
export function loadConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv, cwd: string): { file?: string; config: ConfigFile } {
  if (explicit !== undefined) {
    // '' resolves to the current directory ("config file  is a directory"): say what is wrong.
    if (explicit.trim() === '') throw new UsageError('E_EMPTY_VALUE', '--config was given without a file', 'give a YAML file, e.g. --config kt.yaml, or drop the flag');
    const file = path.resolve(cwd, explicit);
    const text = readTextFile(file, explicit, 'config', 'give an existing YAML file to --config, or drop the flag');
    return { file: explicit, config: parseYamlText(text, explicit, configFileSchema, 'config') };
  }
  const candidates = [
    path.join(cwd, 'kt.yaml'),
    path.join(env.XDG_CONFIG_HOME ?? path.join(env.HOME ?? '/root', '.config'), 'kt', 'config.yaml'),
  ];
  for (const file of candidates) {
    if (fs.existsSync(file)) return { file, config: parseYamlFile(file, configFileSchema, 'config', `fix or remove ${file}`) };
  }
  return { config: {} };
}
