/**
 * Suites and their sections: named filesystem configurations (suites/*.yaml shipped with kt, or
 * a user's YAML file). A run takes one or more sections, `SUITE/SECTION` (`-c xfs/4k,xfs/1k`,
 * `-c xfs/all`, or `--suite xfs` for the suite's default section); each is what fstests calls a
 * config section (FSTYP, MKFS_OPTIONS, MOUNT_OPTIONS, devices, excludes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError, printable } from '../errors.js';
import { parseKernelCondition, rulesFromExcludeFile, type ExcludeLayer, type ExcludeRule } from './excludes.js';
import { BUILTIN_SUITES_DIR, parseYamlFile } from './load.js';
import { suiteSchema, type ExcludeEntry, type SectionSpec, type Suite } from './schema.js';
import { parseSize } from './size.js';

/** Devices a section needs besides TEST_DEV and SCRATCH_DEV. */
export interface SectionDevices {
  /** Bytes of the external log devices (TEST_LOGDEV, SCRATCH_LOGDEV). */
  logdevBytes?: number;
  /** Bytes of the realtime devices (TEST_RTDEV, SCRATCH_RTDEV). */
  rtdevBytes?: number;
  /** Devices in SCRATCH_DEV_POOL (the scratch disk first). */
  scratchPool?: number;
}

/** Check config variables kt writes itself for every section (src/runner/guestSetup.ts). */
const KT_CONFIG_VARIABLES: ReadonlySet<string> = new Set([
  'FSTYP', 'TEST_DEV', 'TEST_DIR', 'SCRATCH_DEV', 'SCRATCH_MNT', 'RESULT_BASE', 'MKFS_OPTIONS', 'MOUNT_OPTIONS',
  'CANON_DEVS', 'KEEP_DMESG', 'USE_EXTERNAL', 'TEST_LOGDEV', 'SCRATCH_LOGDEV', 'TEST_RTDEV', 'SCRATCH_RTDEV', 'SCRATCH_DEV_POOL',
]);
const KT_VARIABLE_HINT: Record<string, string> = {
  FSTYP: 'fstyp:',
  MKFS_OPTIONS: 'mkfsOptions:',
  MOUNT_OPTIONS: 'mountOptions:',
  TEST_LOGDEV: 'devices: logdev:',
  SCRATCH_LOGDEV: 'devices: logdev:',
  TEST_RTDEV: 'devices: rtdev:',
  SCRATCH_RTDEV: 'devices: rtdev:',
  SCRATCH_DEV_POOL: 'devices: scratchPool:',
  USE_EXTERNAL: 'devices: logdev: or rtdev:',
};

/** One filesystem configuration of a run. */
export interface RunSection {
  /** `SUITE/SECTION`, or the suite's name for a suite without sections. */
  name: string;
  fstyp: string;
  mkfsOptions: string;
  mountOptions: string;
  /** More check config variables. */
  env: Record<string, string>;
  /** Exclude rules of the suite and the section layers. */
  excludes: ExcludeRule[];
  devices: SectionDevices;
  /** Sizes the section asks for (the VMs of a run get the largest asked). */
  testSizeBytes?: number;
  scratchSizeBytes?: number;
  /** The suite file it came from. */
  suiteFile: string;
  description?: string;
}

export interface LoadedSuite {
  /** Suite name (file name without .yaml). */
  name: string;
  file: string;
  /** Its sections in file order. */
  sections: RunSection[];
  /** The section `--suite NAME` runs. */
  defaultSection: RunSection;
}

/** The names of the suites shipped with kt. */
export function builtinSuites(): string[] {
  return fs
    .readdirSync(BUILTIN_SUITES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -5))
    .sort();
}

function suiteFileOf(nameOrPath: string, cwd: string, source: string): string {
  if (nameOrPath.trim() === '') throw new UsageError('E_EMPTY_VALUE', `${source} was given without a suite`, `give one of ${builtinSuites().join(', ')}, or a suite YAML file`);
  const isPath = nameOrPath.includes('/') || /\.ya?ml$/.test(nameOrPath);
  const file = isPath ? path.resolve(cwd, nameOrPath) : path.join(BUILTIN_SUITES_DIR, `${nameOrPath}.yaml`);
  if (!fs.existsSync(file)) {
    throw new UsageError('E_UNKNOWN_SUITE', `suite "${printable(nameOrPath)}" not found (looked for ${file})`, `use one of: ${builtinSuites().join(', ')}, or a path to a suite YAML file`);
  }
  return file;
}

/** Exclude entries → rules of a layer; files are relative to the suite file. */
export function excludeRules(entries: readonly ExcludeEntry[], baseDir: string, layer: ExcludeLayer, where: string): ExcludeRule[] {
  return entries.flatMap((entry, i) => {
    const e = typeof entry === 'string' ? { file: entry } : entry;
    const at = `${where}: exclude[${i}]`;
    const kernel = e.kernel !== undefined ? { kernel: parseKernelCondition(e.kernel, at), kernelText: e.kernel } : {};
    const reason = e.reason !== undefined ? { reason: e.reason } : {};
    if (e.test !== undefined) return [{ layer, source: at, line: e.test.trim(), ...reason, ...kernel }];
    const file = path.resolve(baseDir, e.file!);
    return rulesFromExcludeFile(readExcludeFile(file, e.file!, at), file, layer, { ...reason, ...kernel });
  });
}

/** An exclude file must be a readable regular file: its lines decide what runs. */
export function readExcludeFile(file: string, shown: string, source: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new UsageError('E_EXCLUDE_FILE_MISSING', `exclude file ${printable(shown)} does not exist`, `fix the path given to ${source}`);
  }
  if (!stat.isFile()) {
    throw new UsageError('E_EXCLUDE_FILE_NOT_A_FILE', `exclude file ${printable(shown)} is ${stat.isDirectory() ? 'a directory' : 'not a regular file'}`, `give ${source} a file listing one test per line (fstests -E format)`);
  }
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError('E_EXCLUDE_FILE_UNREADABLE', `exclude file ${printable(shown)} cannot be read (${(err as NodeJS.ErrnoException).code})`, 'check its permissions');
  }
}

function sectionOf(suite: Suite, suiteName: string, file: string, key: string | undefined, spec: SectionSpec): RunSection {
  const name = key === undefined ? suiteName : `${suiteName}/${key}`;
  const where = key === undefined ? file : `${file}: sections.${key}`;
  const fstyp = spec.fstyp ?? suite.fstyp;
  const devices: SectionDevices = {};
  const d = spec.devices;
  if (d?.logdev !== undefined) devices.logdevBytes = parseSize({ value: d.logdev, source: `${where}: devices.logdev` });
  if (d?.rtdev !== undefined) devices.rtdevBytes = parseSize({ value: d.rtdev, source: `${where}: devices.rtdev` });
  if (d?.scratchPool !== undefined) devices.scratchPool = d.scratchPool;
  if ((devices.logdevBytes || devices.rtdevBytes) && fstyp !== 'xfs') {
    throw new UsageError('E_SUITE_INVALID', `${where}: devices.logdev and devices.rtdev are for xfs, not ${fstyp}`, 'remove them, or make the section fstyp: xfs');
  }
  const env = { ...suite.env, ...spec.env };
  for (const key of Object.keys(env)) {
    if (KT_CONFIG_VARIABLES.has(key)) {
      throw new UsageError('E_SUITE_INVALID', `${where}: env.${key}: ${key} is written by kt from the section`, `use the section's ${KT_VARIABLE_HINT[key] ?? 'own keys (mkfsOptions, mountOptions, devices)'} instead of env`);
    }
  }
  const dir = path.dirname(file);
  return {
    name,
    fstyp,
    mkfsOptions: spec.mkfsOptions ?? suite.mkfsOptions,
    mountOptions: spec.mountOptions ?? suite.mountOptions,
    env,
    excludes: [...excludeRules(suite.exclude, dir, 'suite', file), ...excludeRules(spec.exclude ?? [], dir, 'section', where)],
    devices,
    ...(spec.testSize !== undefined ? { testSizeBytes: parseSize({ value: spec.testSize, source: `${where}: testSize` }) } : {}),
    ...(spec.scratchSize !== undefined ? { scratchSizeBytes: parseSize({ value: spec.scratchSize, source: `${where}: scratchSize` }) } : {}),
    suiteFile: file,
    ...(spec.description !== undefined ? { description: spec.description } : {}),
  };
}

/** A suite by name (suites/<name>.yaml shipped with kt) or by path to a YAML file. */
export function loadSuite(nameOrPath: string, cwd: string, source = '--suite'): LoadedSuite {
  const file = suiteFileOf(nameOrPath, cwd, source);
  const suite = parseYamlFile(file, suiteSchema, 'suite', `give ${source} a suite name or a YAML file`);
  const name = path.basename(file).replace(/\.ya?ml$/, '');
  const sections = suite.sections
    ? Object.entries(suite.sections).map(([key, spec]) => sectionOf(suite, name, file, key, spec))
    : [sectionOf(suite, name, file, undefined, {})];
  if (sections.length === 0) throw new UsageError('E_SUITE_INVALID', `${file}: sections: the suite has no section`, 'add a section, or remove sections: for a one-configuration suite');
  const defaultName = suite.default !== undefined ? `${name}/${suite.default}` : sections[0]!.name;
  return { name, file, sections, defaultSection: sections.find((s) => s.name === defaultName)! };
}

/**
 * Sections named on the command line: `SUITE/SECTION`, `SUITE/all`, or `SUITE` (its default
 * section), comma-separated or repeated; SUITE is a shipped suite's name or a YAML file
 * (`./mine.yaml/fast`). The result keeps the order given, without repeats.
 */
export function selectSections(specs: readonly string[], cwd: string, source = '-c'): RunSection[] {
  const out: RunSection[] = [];
  const add = (s: RunSection) => {
    const same = out.find((o) => o.name === s.name);
    if (!same) out.push(s);
    else if (same.suiteFile !== s.suiteFile) {
      throw new UsageError('E_SECTION_NAME_TWICE', `${source}: two sections are named ${s.name} (from ${same.suiteFile} and ${s.suiteFile})`, 'rename one suite file: a section is named after its file');
    }
  };
  for (const spec of specs.flatMap((s) => s.split(',')).map((s) => s.trim())) {
    if (spec === '') throw new UsageError('E_EMPTY_VALUE', `${source} was given without a section`, 'give SUITE/SECTION, e.g. -c xfs/4k, or SUITE/all');
    const file = /^(.*\.ya?ml)(?:\/(.*))?$/.exec(spec);
    const slash = spec.lastIndexOf('/');
    const [suiteName, sectionName] = file ? [file[1]!, file[2]] : slash > 0 ? [spec.slice(0, slash), spec.slice(slash + 1)] : [spec, undefined];
    const suite = loadSuite(suiteName, cwd, source);
    if (sectionName === undefined || sectionName === '') add(suite.defaultSection);
    else if (sectionName === 'all') suite.sections.forEach(add);
    else {
      const found = suite.sections.find((s) => s.name === `${suite.name}/${sectionName}`);
      if (!found) {
        throw new UsageError(
          'E_UNKNOWN_SECTION',
          `${source} ${printable(spec)}: suite ${suite.name} has no section "${printable(sectionName)}"`,
          `sections of ${suite.name}: ${suite.sections.map((s) => s.name).join(', ')}, or ${suite.name}/all`,
        );
      }
      add(found);
    }
  }
  return out;
}
