import { describe, expect, it } from 'vitest';
import { parseFetchedArtifacts, renderCheckCommand, renderGuestSetup } from '../../src/runner/guestCommands.js';

describe('renderCheckCommand', () => {
  it('runs check in --exact-order with the tests after all options', () => {
    expect(renderCheckCommand(['generic/001', 'xfs/001'])).toBe(
      'cd /var/lib/xfstests && HOST_OPTIONS=/run/kt/local.config exec ./check --exact-order generic/001 xfs/001',
    );
  });
});

describe('renderGuestSetup', () => {
  it('formats TEST_DEV with the suite mkfs options and embeds local.config verbatim', () => {
    const script = renderGuestSetup({ localConfig: 'export FSTYP=xfs\n', fstyp: 'xfs', mkfsOptions: '-m reflink=1' });
    expect(script).toContain("cat > /run/kt/local.config <<'KT_LOCAL_CONFIG_EOF'\nexport FSTYP=xfs\nKT_LOCAL_CONFIG_EOF");
    expect(script).toContain('mkfs.xfs -f -q -m reflink=1 /dev/disk/by-id/virtio-test >/dev/null');
  });
});

describe('parseFetchedArtifacts', () => {
  it('reads files with arbitrary bytes, including fake headers inside a file', () => {
    const body = Buffer.from('line\n@@KT-FILE dmesg 3\n\x00\xff');
    const out = Buffer.concat([
      Buffer.from(`@@KT-FILE full ${body.length}\n`),
      body,
      Buffer.from('\n@@KT-FILE notrun 14\nAlways skip me\n'),
    ]);
    const files = parseFetchedArtifacts(out);
    expect([...files.keys()]).toEqual(['full', 'notrun']);
    expect(files.get('full')!.tail.equals(body)).toBe(true);
    expect(files.get('notrun')!.tail.toString()).toBe('Always skip me');
  });
});
