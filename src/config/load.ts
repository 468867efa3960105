/**
 * Reading kt.yaml and suite files. Errors name the file, the key and the fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import type { z } from 'zod';
import { UsageError } from '../errors.js';
import { configFileSchema, suiteSchema, type ConfigFile, type Suite } from './schema.js';

/** suites/ shipped with kt (resolved from src/config or dist/config alike). */
export const BUILTIN_SUITES_DIR = fileURLToPath(new URL('../../suites/', import.meta.url));

function parseYamlFile<T>(file: string, schema: z.ZodType<T>, what: string): T {
  let raw: unknown;
  try {
    raw = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`E_${what.toUpperCase()}_UNREADABLE`, `cannot read ${what} file ${file}: ${(err as Error).message}`, `fix the YAML syntax in ${file}`);
  }
  const result = schema.safeParse(raw ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path.join('.') || '(top level)';
    throw new UsageError(
      `E_${what.toUpperCase()}_INVALID`,
      `${what} file ${file}: ${key}: ${issue.message}`,
      `see the "${what} file" section of kt's README for the allowed keys`,
    );
  }
  return result.data;
}

/** The config file: --config FILE, else ./kt.yaml, else $XDG_CONFIG_HOME/kt/config.yaml. */
export function loadConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv, cwd: string): { file?: string; config: ConfigFile } {
  if (explicit) {
    if (!fs.existsSync(explicit)) {
      throw new UsageError('E_CONFIG_MISSING', `config file ${explicit} does not exist`, 'give an existing file to --config, or drop the flag');
    }
    return { file: explicit, config: parseYamlFile(explicit, configFileSchema, 'config') };
  }
  const candidates = [
    path.join(cwd, 'kt.yaml'),
    path.join(env.XDG_CONFIG_HOME ?? path.join(env.HOME ?? '/root', '.config'), 'kt', 'config.yaml'),
  ];
  for (const file of candidates) {
    if (fs.existsSync(file)) return { file, config: parseYamlFile(file, configFileSchema, 'config') };
  }
  return { config: {} };
}

export interface LoadedSuite extends Suite {
  /** Suite name (file name without .yaml). */
  name: string;
  /** Absolute paths of the exclude files. */
  excludeFiles: string[];
}

/** A suite by name (suites/<name>.yaml shipped with kt) or by path to a YAML file. */
export function loadSuite(nameOrPath: string): LoadedSuite {
  const isPath = nameOrPath.includes('/') || nameOrPath.endsWith('.yaml');
  const file = isPath ? path.resolve(nameOrPath) : path.join(BUILTIN_SUITES_DIR, `${nameOrPath}.yaml`);
  if (!fs.existsSync(file)) {
    const known = fs.readdirSync(BUILTIN_SUITES_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5));
    throw new UsageError('E_UNKNOWN_SUITE', `suite "${nameOrPath}" not found (looked for ${file})`, `use one of: ${known.join(', ')}, or a path to a suite YAML file`);
  }
  const suite = parseYamlFile(file, suiteSchema, 'suite');
  const dir = path.dirname(file);
  return {
    ...suite,
    name: path.basename(file, '.yaml'),
    excludeFiles: suite.exclude.map((e) => path.resolve(dir, e)),
  };
}
