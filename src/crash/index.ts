/** Crash detection on VM consoles (architecture.md, "Crash detection"). */
export { LineSplitter, cleanConsoleText, toConsoleLine } from './line-splitter.js';
export type { ConsoleLine, LineSplitterOptions } from './line-splitter.js';
export { parseKernelLine, parseFstestsMarker } from './kernel-line.js';
export type { KernelLine } from './kernel-line.js';
export { CRASH_PATTERNS, FS_MESSAGES } from './patterns.js';
export type { CrashPattern, CrashType } from './patterns.js';
export { GENERIC_FRAMES, isGenericFrame, normalizeFunction, parseIpFrame, parseTraceFrame } from './frames.js';
export type { Frame } from './frames.js';
export { CrashDetector, detectCrashes, formatTitle, normalizeTitleText } from './detector.js';
export type { CrashDetectorOptions } from './detector.js';
export { fingerprintCrash, makeSyntheticReport } from './report.js';
export type { CrashReport, SyntheticCrashKind, SyntheticCrashDetails } from './report.js';
export { dedupeCrashes } from './dedupe.js';
export type { CrashSighting, DedupedCrash } from './dedupe.js';
