/**
 * The directory a `kt shell` session leaves in the results directory when its console log is
 * worth keeping (a kernel report, a lost guest, --keep): `<results>/shell-<run-id>/console/vm1.log`,
 * beside the run directories but with no event log (docs/shell.md). Commands that read run
 * directories (`kt report kt-results/*`, `kt baseline update kt-results/*`) know it by this name.
 */

const PREFIX = 'shell-';
/** A run id of src/record/runDir.ts makeRunId: 20261122-013045-3fa2. */
const SESSION_NAME = /^shell-\d{8}-\d{6}-[0-9a-f]{4}$/;

/** The session's name (its directory and VM name) for a run id. */
export function shellSessionName(runId: string): string {
  return `${PREFIX}${runId}`;
}

/** Whether a directory's base name is one a `kt shell` session gives its directory. */
export function isShellSessionName(name: string): boolean {
  return SESSION_NAME.test(name);
}
