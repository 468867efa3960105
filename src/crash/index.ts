/** Crash detection on VM consoles (docs/crash-titles.md). */
export { LineSplitter, cleanConsoleText, toConsoleLine } from './line-splitter.js';
export type { ConsoleLine, LineSplitterOptions } from './line-splitter.js';
export { parseKernelLine, parseFstestsMarker } from './kernel-line.js';
export type { KernelLine } from './kernel-line.js';
export { REPORT_RULES, FS_MESSAGES, BOOT_NOTICES } from './patterns.js';
export type { ReportRule, CulpritRule, FrameStep, CrashType } from './patterns.js';
export {
  SKIPPED_FRAME_GROUPS,
  isSkippedFrame,
  normalizeFunction,
  parseIpFrame,
  parseTraceFrame,
  parseTraceFrames,
  stripSyscallPrefix,
} from './frames.js';
export type { Frame } from './frames.js';
export { describeReport, formatTitle, sanitizeTitle, LOST_FRAME } from './titles.js';
export type { Description, HeaderMatch } from './titles.js';
export { CrashDetector, detectCrashes } from './detector.js';
export type { CrashDetectorOptions } from './detector.js';
export { fingerprintCrash, makeSyntheticReport } from './report.js';
export type { CrashReport, SyntheticCrashKind, SyntheticCrashDetails } from './report.js';
export { dedupeCrashes } from './dedupe.js';
export type { CrashSighting, DedupedCrash } from './dedupe.js';
