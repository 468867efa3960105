/**
 * Suites: named filesystem configurations (suites/*.yaml shipped with kt, or a user's YAML
 * file). A suite becomes the sections of a run; a section is what fstests calls a config
 * section (FSTYP, MKFS_OPTIONS, MOUNT_OPTIONS, ...).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError, printable } from '../errors.js';
import { BUILTIN_SUITES_DIR, parseYamlFile } from './load.js';
import { suiteSchema } from './schema.js';

/** One filesystem configuration of a run. */
export interface RunSection {
  /** `SUITE/SECTION`, or the suite's name for a suite without sections. */
  name: string;
  fstyp: string;
  mkfsOptions: string;
  mountOptions: string;
  /** More check config variables. */
  env: Record<string, string>;
  /** Exclude files of the suite and the section (absolute). */
  excludeFiles: string[];
}

export interface LoadedSuite {
  /** Suite name (file name without .yaml). */
  name: string;
  /** The file it came from. */
  file: string;
  sections: RunSection[];
}

/** The names of the suites shipped with kt. */
export function builtinSuites(): string[] {
  return fs
    .readdirSync(BUILTIN_SUITES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** A suite by name (suites/<name>.yaml shipped with kt) or by path to a YAML file. */
export function loadSuite(nameOrPath: string, cwd: string, source = '--suite'): LoadedSuite {
  if (nameOrPath.trim() === '') throw new UsageError('E_EMPTY_VALUE', `${source} was given without a suite`, `give one of ${builtinSuites().join(', ')}, or a suite YAML file`);
  const isPath = nameOrPath.includes('/') || nameOrPath.endsWith('.yaml') || nameOrPath.endsWith('.yml');
  const file = isPath ? path.resolve(cwd, nameOrPath) : path.join(BUILTIN_SUITES_DIR, `${nameOrPath}.yaml`);
  if (!fs.existsSync(file)) {
    throw new UsageError('E_UNKNOWN_SUITE', `suite "${printable(nameOrPath)}" not found (looked for ${file})`, `use one of: ${builtinSuites().join(', ')}, or a path to a suite YAML file`);
  }
  const suite = parseYamlFile(file, suiteSchema, 'suite', `give ${source} a suite name or a YAML file`);
  const dir = path.dirname(file);
  const name = path.basename(file).replace(/\.ya?ml$/, '');
  return {
    name,
    file,
    sections: [
      {
        name,
        fstyp: suite.fstyp,
        mkfsOptions: suite.mkfsOptions,
        mountOptions: suite.mountOptions,
        env: suite.env,
        excludeFiles: suite.exclude.map((e) => path.resolve(dir, e)),
      },
    ],
  };
}
