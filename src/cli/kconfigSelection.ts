/**
 * The -c words that choose a run's sections again, for the `kt kconfig fix …` a check suggests
 * (`kt kconfig check`, and `kt run`'s own-kernel check, src/cli/ownKernel.ts): built from the
 * sections as resolved — from -c/--suite, or kt.yaml's sections:/suite: — so the suggested fix
 * checks what the run or check did, wherever it is typed.
 */
import path from 'node:path';
import { BUILTIN_SUITES_DIR } from '../config/load.js';
import { loadSuite, type RunSection } from '../config/suites.js';

/**
 * A section's -c word: a shipped suite's section by its name (`xfs/4k`); a suite file's by the
 * file's absolute path (`/home/me/ci/mine.yaml/small`), since its name alone (`mine/small`)
 * names no suite kt knows.
 */
function sectionWord(section: Pick<RunSection, 'name' | 'suiteFile'>): string {
  if (path.resolve(path.dirname(section.suiteFile)) === path.resolve(BUILTIN_SUITES_DIR)) return section.name;
  const slash = section.name.indexOf('/');
  return slash > 0 ? `${section.suiteFile}${section.name.slice(slash)}` : section.suiteFile;
}

/** `['-c', 'xfs/4k,ext4/1k']`; none for kt's default (the xfs suite's default section). */
export function sectionSelection(sections: readonly Pick<RunSection, 'name' | 'suiteFile'>[], cwd: string): string[] {
  const dflt = loadSuite('xfs', cwd).defaultSection;
  if (sections.length === 1 && sections[0]!.name === dflt.name && path.resolve(sections[0]!.suiteFile) === path.resolve(dflt.suiteFile)) return [];
  return sections.length === 0 ? [] : ['-c', sections.map(sectionWord).join(',')];
}
