/**
 * Validation of JUnit files with xmllint against the Jenkins xUnit schema we target. Files are
 * validated in batches (one xmllint process for many files) to keep the fuzz test fast.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Jenkins xUnit JUnit schema (MIT, licence in the file), copied into test/schemas/. */
export const JUNIT_XSD = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../schemas/junit-10.xsd');

/** Result of validating a batch: xmllint's complaints, empty when every document is valid. */
export function validateJunit(documents: readonly string[], batchSize = 100): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'kt-junit-'));
  const files = documents.map((doc, i) => {
    const file = path.join(dir, `case-${i}.xml`);
    writeFileSync(file, doc, 'utf8');
    return file;
  });
  const problems: string[] = [];
  try {
    for (let i = 0; i < files.length; i += batchSize) {
      const batch = files.slice(i, i + batchSize);
      const result = spawnSync('xmllint', ['--noout', '--schema', JUNIT_XSD, ...batch], { encoding: 'utf8' });
      if (result.error) throw result.error;
      if (result.status !== 0) {
        problems.push(...result.stderr.split('\n').filter((line) => line !== '' && !line.endsWith(' validates')));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return problems;
}
