import fs from 'node:fs';

/** kt's version from package.json (two levels up from src/cli and dist/cli alike). */
export function ktVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
