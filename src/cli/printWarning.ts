/**
 * How every kt command says a warning: one line on stderr, its control characters made visible
 * (errors.ts printable), so a path or a guest's message cannot break the terminal or the line.
 */
import { printable } from '../errors.js';

export type Warn = (message: string) => void;

export const printWarning: Warn = (message) => {
  process.stderr.write(`kt: warning: ${printable(message)}\n`);
};
