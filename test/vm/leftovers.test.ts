import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hostTag, leftBehind, makerOf, makerTag } from '../../src/vm/leftovers.js';

describe('makerTag and makerOf', () => {
  it('name the pid and host after a prefix, whatever the rest of the name', () => {
    expect(makerTag(4242, 'build-01.example.org')).toBe('4242@build-01.example.org@');
    expect(makerOf('.unpack-0e3c59f1fcdabede-1a2b3c4d.4242@build-01.example.org@Ab12Cd.kt.cmds', '.unpack-0e3c59f1fcdabede-1a2b3c4d.')).toEqual({ pid: 4242, host: 'build-01.example.org' });
    // Names without a maker (kt before makers were named), or another prefix.
    expect(makerOf('.unpack-0e3c59f1fcdabede-Ab12Cd', '.unpack-0e3c59f1fcdabede-')).toBeUndefined();
    expect(makerOf('.stage.4242@h@x', '.packing.')).toBeUndefined();
  });

  it('keep a host name to file-name characters, so a tag always parses back', () => {
    expect(hostTag('my host@lab/1')).toBe('my_host_lab_1');
    expect(makerOf(`.stage.${makerTag(7, 'my host@lab/1')}Xy`, '.stage.')).toEqual({ pid: 7, host: 'my_host_lab_1' });
  });
});

describe('leftBehind', () => {
  it("is true only for a maker on this host whose process is gone", () => {
    const gone = spawnSync('true').pid!;
    expect(leftBehind(`.stage.${makerTag(gone, 'here')}Ab`, '.stage.', undefined, 'here')).toBe(true);
    expect(leftBehind(`.stage.${makerTag(process.pid, 'here')}Ab`, '.stage.', undefined, 'here')).toBe(false);
    expect(leftBehind(`.stage.${makerTag(gone, 'there')}Ab`, '.stage.', undefined, 'here')).toBe(false);
    expect(leftBehind('.stage.Ab', '.stage.', undefined, 'here')).toBe(false);
  });
});
