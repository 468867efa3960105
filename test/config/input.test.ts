/**
 * single(): a flag that takes one value hands over a string. yargs gives an array when the flag
 * is repeated and a boolean for `--no-NAME`; both are refused naming the flag.
 */
import { describe, expect, it } from 'vitest';
import { single } from '../../src/config/input.js';

describe('single', () => {
  it('passes one string through, and undefined when the flag was not given', () => {
    expect(single('--config', 'kt.yaml')).toBe('kt.yaml');
    expect(single('--config', ['kt.yaml'])).toBe('kt.yaml');
    expect(single('--config', undefined)).toBeUndefined();
  });

  it('refuses a repeated flag', () => {
    expect(() => single('--config', ['a', 'b'])).toThrow(expect.objectContaining({ code: 'E_FLAG_REPEATED', message: '--config was given 2 times (a, b)' }));
  });

  it('refuses a value that is not a string (--no-config, --config.x y), naming the flag', () => {
    expect(() => single<unknown>('--config', false)).toThrow(expect.objectContaining({ code: 'E_FLAG_VALUE', message: '--config was given false, not a value', exitCode: 2 }));
    expect(() => single<unknown>('--append', ['a', { x: 'y' }])).toThrow(expect.objectContaining({ code: 'E_FLAG_VALUE', message: '--append was given {"x":"y"}, not a value' }));
  });
});
