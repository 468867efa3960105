import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hostForwardPort } from '../../src/vm/usernet.js';

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('hostForwardPort', () => {
  it('reads the port QEMU 7.2 bound for hostfwd=tcp:127.0.0.1:0-:22', () => {
    expect(hostForwardPort(fixture('info-usernet-qemu-7.2.txt'), 22)).toBe(45925);
  });

  it('takes the forward, not a connection being made through it', () => {
    expect(hostForwardPort(fixture('info-usernet-qemu-7.2-connecting.txt'), 22)).toBe(46809);
  });

  it('finds nothing for another guest port, or without a forward', () => {
    expect(hostForwardPort(fixture('info-usernet-qemu-7.2.txt'), 2222)).toBeUndefined();
    expect(hostForwardPort('Hub -1 (net0):\r\n  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n', 22)).toBeUndefined();
    expect(hostForwardPort('', 22)).toBeUndefined();
  });

  it('refuses to guess between two forwards to the same guest port', () => {
    const two =
      fixture('info-usernet-qemu-7.2.txt') +
      '  TCP[HOST_FORWARD]   9       127.0.0.1 40000       10.0.2.15    22     0     0\r\n';
    expect(hostForwardPort(two, 22)).toBeUndefined();
  });

  it('ignores forwards bound to other host addresses', () => {
    const wildcard = fixture('info-usernet-qemu-7.2.txt').replace('127.0.0.1', '  0.0.0.0');
    expect(hostForwardPort(wildcard, 22)).toBeUndefined();
  });
});
