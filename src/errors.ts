/**
 * Typed errors. Every error a user can cause or meet carries a stable `code` (for scripts and
 * tests), a message that echoes the bad input, and a `hint` that says what to do instead.
 * Only the CLI prints them; the class decides the exit code.
 */

/** Exit codes of `kt` (README "Exit codes"): 0 no failures, 1 test failures, 2 usage/config, 3 host/infra. */
export const ExitCode = {
  ok: 0,
  testFailures: 1,
  usage: 2,
  infrastructure: 3,
  sigint: 130,
  sigterm: 143,
} as const;

export abstract class KtError extends Error {
  /** Stable identifier, e.g. `E_KERNEL_MISSING`; never reworded. */
  readonly code: string;
  /** What the user should do; printed under the message. */
  readonly hint: string | undefined;
  abstract readonly exitCode: number;

  constructor(code: string, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.hint = hint;
    this.name = new.target.name;
  }
}

/** Bad flags, bad config file, unknown group or test: the user's input is wrong (exit 2). */
export class UsageError extends KtError {
  readonly exitCode = ExitCode.usage;
}

/** The host cannot do what was asked: no qemu, image build failed, boot timeout (exit 3). */
export class HostError extends KtError {
  readonly exitCode = ExitCode.infrastructure;
}

export function isKtError(err: unknown): err is KtError {
  return err instanceof KtError;
}

/**
 * A value from the user made safe to echo on a terminal: control characters (ESC, newline, ...)
 * become JSON escapes, so a test name cannot move the cursor or forge a line of kt's output.
 */
export function printable(value: string): string {
  return /[\u0000-\u001f\u007f-\u009f]/.test(value) ? JSON.stringify(value).slice(1, -1) : value;
}

/** Renders an error for a terminal: `kt: <message>` then an indented hint. */
export function formatError(err: KtError): string {
  // Messages may span lines; anything else that could drive the terminal is escaped.
  const clean = (text: string) => text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => JSON.stringify(c).slice(1, -1));
  const lines = [`kt: error ${err.code}: ${clean(err.message)}`];
  if (err.hint) lines.push(`  hint: ${clean(err.hint)}`);
  return lines.join('\n');
}
