import { describe, expect, it } from 'vitest';
import { Disposer } from '../../src/runner/disposer.js';

describe('Disposer', () => {
  it('clears its timers and removes its listeners at dispose, and starts none after', async () => {
    const d = new Disposer();
    const fired: string[] = [];
    d.timeout(() => fired.push('late'), 50);
    const slot = d.slot();
    slot.set(() => fired.push('slot-old'), 10);
    slot.set(() => fired.push('slot-new'), 60);
    const signal = new AbortController();
    d.onAbort(signal.signal, () => fired.push('abort'));
    const controller = d.controller();
    d.dispose();
    signal.abort();
    d.timeout(() => fired.push('after'), 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(fired).toEqual([]);
    expect(controller.signal.aborted).toBe(true);
  });

  it('resolves a sleep at dispose instead of leaving it hanging', async () => {
    const d = new Disposer();
    const sleeping = d.sleep(60_000);
    d.dispose();
    await expect(sleeping).resolves.toBeUndefined();
  });
});
