import { describe, expect, it } from 'vitest';
import { decideBuildMode, usernsFailedError, usernsUnavailableError, type UsernsFacts } from '../../../src/vm/image/userns.js';

// /etc/subuid as useradd(8) on Debian 12 writes it for the first two users (SUB_UID_MIN 100000,
// SUB_UID_COUNT 65536 in /etc/login.defs).
const SUBIDS = 'ktexp:100000:65536\nktuser:165536:65536\n';

const TOOLS = {
  newuidmap: '/usr/bin/newuidmap',
  newgidmap: '/usr/bin/newgidmap',
  unshare: '/usr/bin/unshare',
  nsenter: '/usr/bin/nsenter',
};

function facts(over: Partial<UsernsFacts> = {}): UsernsFacts {
  return {
    euid: 1002,
    uid: 1002,
    gid: 1002,
    user: 'ktuser',
    maxUserNamespaces: '96365',
    subuid: { kind: 'ok', text: SUBIDS },
    subgid: { kind: 'ok', text: SUBIDS },
    tools: TOOLS,
    ...over,
  };
}

function problems(f: UsernsFacts) {
  const d = decideBuildMode(f);
  if (d.ok) throw new Error(`expected problems, got mode ${d.mode.kind}`);
  return d;
}

describe('decideBuildMode', () => {
  it('builds as root when kt runs as root, whatever else holds', () => {
    expect(decideBuildMode(facts({ euid: 0, uid: 0, user: 'root', subuid: { kind: 'missing' }, tools: {} }))).toEqual({
      ok: true,
      mode: { kind: 'root' },
    });
  });

  it('builds in a user namespace with the user\'s own ranges when everything is there', () => {
    expect(decideBuildMode(facts())).toEqual({
      ok: true,
      mode: {
        kind: 'unshare',
        plan: {
          user: 'ktuser',
          uid: 1002,
          gid: 1002,
          subuid: { start: 165536, count: 65536 },
          subgid: { start: 165536, count: 65536 },
          tools: TOOLS,
          apparmorRestricted: false,
        },
      },
    });
  });

  it('accepts a range given by numeric uid, as newuidmap does', () => {
    const d = decideBuildMode(facts({ subuid: { kind: 'ok', text: '1002:300000:65536\n' } }));
    expect(d.ok && d.mode.kind === 'unshare' && d.mode.plan.subuid).toEqual({ start: 300000, count: 65536 });
  });

  it('allows a kernel whose userns switches are on', () => {
    expect(decideBuildMode(facts({ unprivilegedUsernsClone: '1', maxUserNamespaces: '15000' })).ok).toBe(true);
  });

  it('names a missing range and the usermod call that adds a free one', () => {
    expect(problems(facts({ user: 'newbie', uid: 1003 }))).toEqual({
      ok: false,
      reasons: ['/etc/subuid has no range for newbie', '/etc/subgid has no range for newbie'],
      fixes: ['sudo usermod --add-subuids 231072-296607 --add-subgids 231072-296607 newbie'],
    });
  });

  it('asks for a new range when the user has only a small one', () => {
    expect(problems(facts({ subgid: { kind: 'ok', text: 'ktuser:100000:1000\n' } }))).toEqual({
      ok: false,
      reasons: ["ktuser's ranges in /etc/subgid hold at most 1000 ids, and the image needs 65536"],
      fixes: ['sudo usermod --add-subgids 231072-296607 ktuser'],
    });
  });

  it('creates the files first where they do not exist (usermod refuses otherwise)', () => {
    expect(problems(facts({ subuid: { kind: 'missing' }, subgid: { kind: 'missing' } }))).toEqual({
      ok: false,
      reasons: ['/etc/subuid does not exist', '/etc/subgid does not exist'],
      fixes: ['sudo touch /etc/subuid', 'sudo touch /etc/subgid', 'sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ktuser'],
    });
  });

  it('reports every blocker at once, kernel first', () => {
    expect(
      problems(
        facts({
          unprivilegedUsernsClone: '0',
          maxUserNamespaces: '0',
          tools: { unshare: '/usr/bin/unshare', nsenter: '/usr/bin/nsenter' },
          subuid: { kind: 'unreadable' },
        }),
      ),
    ).toEqual({
      ok: false,
      reasons: [
        'the kernel forbids unprivileged user namespaces (kernel.unprivileged_userns_clone = 0)',
        'user namespaces are switched off (user.max_user_namespaces = 0)',
        'newuidmap and newgidmap are not installed',
        '/etc/subuid is not readable',
      ],
      fixes: [
        'sudo sysctl -w kernel.unprivileged_userns_clone=1',
        'sudo sysctl -w user.max_user_namespaces=15000',
        'sudo apt-get install uidmap',
        'sudo chmod 0644 /etc/subuid',
      ],
    });
  });

  it('names util-linux for a missing nsenter', () => {
    expect(problems(facts({ tools: { ...TOOLS, nsenter: undefined } }))).toEqual({
      ok: false,
      reasons: ['nsenter is not installed'],
      fixes: ['sudo apt-get install util-linux'],
    });
  });

  it('keeps AppArmor\'s restriction for the hint of a failure to enter', () => {
    const d = decideBuildMode(facts({ apparmorRestrictUnprivilegedUserns: '1' }));
    expect(d.ok && d.mode.kind === 'unshare' && d.mode.plan.apparmorRestricted).toBe(true);
  });
});

describe('usernsUnavailableError', () => {
  it('says what is missing, the commands that fix it, and the shared image root can build', () => {
    const f = facts({ user: 'newbie', uid: 1003, tools: { unshare: '/usr/bin/unshare', nsenter: '/usr/bin/nsenter' } });
    const err = usernsUnavailableError(f, problems(f), '/var/cache/kt');
    expect(err.code).toBe('E_IMAGE_NEEDS_USERNS');
    expect(err.exitCode).toBe(3);
    expect(err.message).toBe(
      "building the guest image as newbie (uid 1003) needs a user namespace holding newbie's subordinate ids, and this host does not give one: " +
        'newuidmap and newgidmap are not installed; /etc/subuid has no range for newbie; /etc/subgid has no range for newbie',
    );
    expect(err.hint).toBe(
      'sudo apt-get install uidmap && sudo usermod --add-subuids 231072-296607 --add-subgids 231072-296607 newbie, then run kt again; ' +
        "or have root build a shared image once, which every user's kt then reads: sudo kt image build --system (writes /var/cache/kt)",
    );
  });
});

describe('usernsFailedError', () => {
  it('quotes the failing step and its output', () => {
    const err = usernsFailedError(
      { user: 'ktuser', apparmorRestricted: false },
      'newuidmap 4242 0 165536 65536 65536 1002 1',
      'newuidmap: write to uid_map failed: Operation not permitted\n',
      '/var/cache/kt',
    );
    expect(err.code).toBe('E_IMAGE_USERNS_FAILED');
    expect(err.message).toBe(
      'could not enter a user namespace as ktuser for the image build: newuidmap 4242 0 165536 65536 65536 1002 1 failed: ' +
        'newuidmap: write to uid_map failed: Operation not permitted',
    );
    expect(err.hint).toBe(
      'newuidmap and newgidmap must be setuid root (ls -l /usr/bin/newuidmap; reinstall uidmap); ' +
        "ktuser's ranges in /etc/subuid and /etc/subgid must not overlap another user's; " +
        "or have root build a shared image once, which every user's kt then reads: sudo kt image build --system (writes /var/cache/kt)",
    );
  });

  it('puts the AppArmor switch first where it is on', () => {
    const err = usernsFailedError({ user: 'ktuser', apparmorRestricted: true }, 'nsenter --user', 'x', '/var/cache/kt');
    expect(err.hint).toMatch(/^AppArmor restricts unprivileged user namespaces here: sudo sysctl -w kernel\.apparmor_restrict_unprivileged_userns=0; /);
  });
});
