import { describe, expect, it } from 'vitest';
import { bootPhases, isPreparedLine, parseBootStamps, parseReleaseLine } from '../../src/vm/bootPhases.js';

// Printed by guest/kt-init on a real TCG boot of kt's image (2 vCPUs, host load ~7).
const REAL_LINE =
  'kt-init: boot-stamps init=5.82 initramfs-modules=6.98 root-mount=7.35 early-setup=8.04 kt-init=8.67 modules=8.71 sshd=8.78 setup=9.03 ready=9.04';

describe('parseBootStamps', () => {
  it('reads the stamps of a real console line in order', () => {
    const stamps = parseBootStamps(REAL_LINE);
    expect(stamps?.map((s) => s.name)).toEqual(['init', 'initramfs-modules', 'root-mount', 'early-setup', 'kt-init', 'modules', 'sshd', 'setup', 'ready']);
    expect(stamps?.[0]).toEqual({ name: 'init', uptime: 5.82 });
  });

  it('finds the line after console noise, skips malformed words, and ignores other lines', () => {
    expect(parseBootStamps(`\r[    9.1] x kt-init: boot-stamps init=1 bogus ready=2.5 =3`)).toEqual([
      { name: 'init', uptime: 1 },
      { name: 'ready', uptime: 2.5 },
    ]);
    expect(parseBootStamps('kt-init: ready')).toBeUndefined();
    expect(parseBootStamps('kt-init: boot-stamps nothing-here')).toBeUndefined();
  });
});

describe('parseReleaseLine', () => {
  it('reads uname -r', () => {
    expect(parseReleaseLine('kt-init: release 6.1.0-57-cloud-amd64\r')).toBe('6.1.0-57-cloud-amd64');
    expect(parseReleaseLine('kt-init: release two words')).toBeUndefined();
    expect(parseReleaseLine('kt-init: ready')).toBeUndefined();
  });
});

describe('isPreparedLine', () => {
  it("knows kt-init's prepared line, with or without the serial console's CR", () => {
    expect(isPreparedLine('kt-init: prepared')).toBe(true);
    expect(isPreparedLine('kt-init: prepared\r')).toBe(true);
    expect(isPreparedLine('kt-init: ready')).toBe(false);
    expect(isPreparedLine('kt-init: prepared the way')).toBe(false);
  });
});

describe('bootPhases', () => {
  it('splits a boot into QEMU start, the guest steps and the wait after ready, summing to the boot', () => {
    const phases = bootPhases({ readySeenMs: 12_050, bootMs: 15_569, stamps: parseBootStamps(REAL_LINE)! });
    expect(phases).toEqual({
      qemuStart: 3010,
      kernel: 5820,
      initramfsModules: 1160,
      rootMount: 370,
      earlySetup: 690,
      switchRoot: 630,
      modules: 40,
      sshd: 70,
      setup: 250,
      ktInitRest: 10,
      afterReady: 3519,
    });
    const sum = Object.values(phases).reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - 15_569)).toBeLessThanOrEqual(10);
  });

  it('without stamps (a NixOS guest), or with stamps the host clock cannot hold, says only until and after ready', () => {
    expect(bootPhases({ readySeenMs: 8000, bootMs: 9000 })).toEqual({ untilReady: 8000, afterReady: 1000 });
    // An uptime beyond the host's own wait (a guest that lies) is not believed.
    expect(bootPhases({ readySeenMs: 800, bootMs: 900, stamps: [{ name: 'ready', uptime: 5 }] })).toEqual({ untilReady: 800, afterReady: 100 });
    // Out of order.
    expect(bootPhases({ readySeenMs: 8000, bootMs: 9000, stamps: [{ name: 'init', uptime: 3 }, { name: 'ready', uptime: 2 }] })).toEqual({ untilReady: 8000, afterReady: 1000 });
  });
});
