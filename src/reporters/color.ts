/**
 * Whether to colour terminal output: never when NO_COLOR is set (no-color.org), forced by
 * FORCE_COLOR (the Node/chalk convention, also set by some CI systems), else only on a TTY.
 */
import pc from 'picocolors';

/** The colour functions reporters use (picocolors' interface). */
export type Colors = ReturnType<typeof pc.createColors>;

/** Decides colour for a stream; `env` is passed in so the decision stays testable. */
export function shouldUseColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  return stream.isTTY === true;
}

/** picocolors functions that colour, or pass text through unchanged. */
export function createColors(enabled: boolean): Colors {
  return pc.createColors(enabled);
}
