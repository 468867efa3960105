import { describe, expect, it } from 'vitest';
import { mountsBelow } from '../../../src/vm/image/removeBuildDir.js';

// /proc/self/mountinfo while mmdebstrap --mode=root runs a hook (proc(5) format).
const MOUNTINFO = `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
90 22 0:5 /null /c/images/.build-h-1/rootfs/dev/null rw shared:2 - devtmpfs udev rw
91 22 0:20 / /c/images/.build-h-1/rootfs/sys rw shared:7 - sysfs sysfs rw
92 91 0:6 / /c/images/.build-h-1/rootfs/sys/kernel/security rw shared:8 - securityfs securityfs rw
93 22 0:21 / /c/images/.build-h-10/rootfs/proc rw - proc proc rw
94 22 0:22 / /c/images/with\\040space/x rw - tmpfs tmpfs rw
`;

describe('mountsBelow', () => {
  it('finds the mounts under a directory, deepest first, not those of a sibling', () => {
    expect(mountsBelow(MOUNTINFO, '/c/images/.build-h-1')).toEqual([
      '/c/images/.build-h-1/rootfs/sys/kernel/security',
      '/c/images/.build-h-1/rootfs/dev/null',
      '/c/images/.build-h-1/rootfs/sys',
    ]);
  });

  it('decodes octal escapes in mount points', () => {
    expect(mountsBelow(MOUNTINFO, '/c/images/with space')).toEqual(['/c/images/with space/x']);
  });
});
