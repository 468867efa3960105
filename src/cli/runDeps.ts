/**
 * What a real `kt run` needs and `--dry-run` does not: the event log, the reporters, the runner,
 * ssh keys, the accelerator probe and the VM classes. runCommand.ts loads this module after the
 * plan is printed, so planning starts without them: `kt run --dry-run` loads 261 modules
 * instead of 460 and takes a fifth less CPU (docs/simulate.md, planning speed).
 */
export { EventLogWriter } from '../record/eventLog.js';
export { createProgressReporter } from '../reporters/progress.js';
export { renderTextSummary } from '../reporters/text.js';
export { shouldUseColor } from '../reporters/color.js';
export { renderGithubAnnotations, isGithubActions } from '../reporters/github.js';
export { writeReports, REPORT_FILES } from '../reporters/writeReports.js';
export { createCheckStream, createConsoleWatcher } from '../runner/adapters.js';
export { createGuestSteps } from '../runner/guestSetup.js';
export { generateSshKeyPair } from '../vm/sshKeyPair.js';
export { executeRun } from '../runner/run.js';
export { resolveAccel } from '../vm/accel.js';
export { ensureFstestsImage } from '../vm/fstestsImage.js';
export { createMachineFactory } from './machines.js';
