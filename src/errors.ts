/**
 * Typed errors. Every error a user can cause or meet carries a stable `code` (for scripts and
 * tests), a message that echoes the bad input, and a `hint` that says what to do instead.
 * Only the CLI prints them; the class decides the exit code.
 */

/** Exit codes of `kt` (issue #2): 0 no failures, 1 test failures, 2 usage/config, 3 host/infra. */
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

/** Renders an error for a terminal: `kt: <message>` then an indented hint. */
export function formatError(err: KtError): string {
  const lines = [`kt: error ${err.code}: ${err.message}`];
  if (err.hint) lines.push(`  hint: ${err.hint}`);
  return lines.join('\n');
}
