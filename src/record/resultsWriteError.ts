/**
 * An fs error on a results file or directory as the HostError the CLI prints (exit 3). Its own
 * file, with nothing heavy behind it: createRunDir (record/runDir.ts) uses it on kt's start-up
 * path, where the event schema's zod is not loaded yet.
 */
import * as path from 'node:path';
import { HostError } from '../errors.js';

export function errnoCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : 'EIO';
}

/** Turns an fs error on a results file into the HostError the CLI prints (exit 3). */
export function resultsWriteError(file: string, err: unknown, doing: string): HostError {
  const code = errnoCode(err);
  const hint =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? `free space on the file system holding ${path.dirname(file)} (or pass another --results), then run again; the events already written are intact and \`kt report\` can still read them`
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? `make ${path.dirname(file)} writable by this user (or pass another --results), then run again`
        : `check the file system holding ${path.dirname(file)}, then run again`;
  return new HostError('E_RESULTS_WRITE', `cannot ${doing} ${file}: ${code}`, hint, { cause: err });
}
