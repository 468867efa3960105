import { describe, expect, it } from 'vitest';
import { parseLsSections } from '../../e2e/ext4Tree.js';

// `debugfs -f cmds root.img` on a kt image (e2fsprogs 1.47.0), two `ls -p` commands.
const OUTPUT = `debugfs: ls -p "/"
/2/040755/0/0/.//
/2/040755/0/0/..//
/11/040700/0/0/lost+found//
/12/120777/0/0/bin/7/

debugfs: ls -p "/lost+found"
/11/040700/0/0/.//
/2/040755/0/0/..//
/0/000000/0/0//0/
/0/000000/0/0//0/

debugfs: ls -p "/etc/ssh"
/244/100600/0/0/ssh_host_ed25519_key/399/
/245/100644/0/0/ssh_host_ed25519_key.pub/90/
`;

describe('parseLsSections', () => {
  it('reads owners, modes and sizes per directory, without . .. and unused entries', () => {
    expect(Object.fromEntries(parseLsSections(OUTPUT))).toEqual({
      '/': [
        { path: '/lost+found', mode: '40700', uid: 0, gid: 0 },
        { path: '/bin', mode: '120777', uid: 0, gid: 0, size: 7 },
      ],
      '/lost+found': [],
      '/etc/ssh': [
        { path: '/etc/ssh/ssh_host_ed25519_key', mode: '100600', uid: 0, gid: 0, size: 399 },
        { path: '/etc/ssh/ssh_host_ed25519_key.pub', mode: '100644', uid: 0, gid: 0, size: 90 },
      ],
    });
  });
});
