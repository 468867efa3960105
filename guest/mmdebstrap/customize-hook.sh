#!/bin/sh
# mmdebstrap --customize-hook (src/vm/image/mmdebstrapArgs.ts): turns the bootstrapped tree
# into a kt guest. $1 is the chroot, $2 the directory holding kt's guest files (a copy of the
# repo's guest/ made by the build, so the image matches the hash of what it was built from).
set -eu
root=$1
files=$2

# Users fstests expects (docs/fstests.md §9). "useradd -m fsgqa" creates the group fsgqa, so it
# must run before anything else could create that group.
chroot "$root" useradd -m fsgqa
chroot "$root" useradd 123456-fsgqa
chroot "$root" useradd fsgqa2
mkdir -p "$root/mnt/test" "$root/mnt/scratch"

install -m 0755 "$files/kt-init" "$root/sbin/kt-init"
install -m 0755 "$files/kt-sshd" "$root/sbin/kt-sshd"
install -m 0644 "$files/kt_sshd_config" "$root/etc/ssh/kt_sshd_config"

# No init system creates these: mount(8) and fstests read them.
ln -sfn ../proc/self/mounts "$root/etc/mtab"
[ -e "$root/etc/fstab" ] || echo '# kt guest: kt-init mounts everything' >"$root/etc/fstab"

# udevd runs in the guest (guest/kt-init), but a test's volume group must not be activated
# behind its back when its last physical volume appears: lvm2's 69-lvm.rules runs
# `vgchange -aay` where no systemd is, unless global/event_activation is 0 (lvm.conf(5)).
grep -q '^global {$' "$root/etc/lvm/lvm.conf"
sed -i 's/^global {$/global {\n\tevent_activation = 0/' "$root/etc/lvm/lvm.conf"

# Root's login shell is dash: sshd runs every command kt sends as `<login shell> -c COMMAND`
# (OpenSSH session.c do_child), and under TCG bash's start, reading /etc/bash.bashrc because sshd
# started it, costs ~85 ms of the guest's CPU where dash's costs ~40 (docs/speed.md). Not the
# static busybox's sh, which starts in ~10: Debian builds it to run its own applets before
# $PATH, so mount, ip, insmod, modprobe, setsid... would be busybox's, not the image's. kt's
# commands are POSIX sh (src/runner/guestCommands.ts); check is bash by its own #!, and
# `kt shell` starts bash -i for the user.
sed -i 's#^\(root:[^:]*:0:0:[^:]*:[^:]*:\).*$#\1/bin/dash#' "$root/etc/passwd"
grep -q '^root:[^:]*:0:0:[^:]*:[^:]*:/bin/dash$' "$root/etc/passwd"

# What guest/kt-init decides at boot for every command (/run/kt/env.sh: DM_DISABLE_UDEV where
# udevd cannot run). kt's commands that need it source it themselves (guestCommands.ts
# GUEST_ENV): a non-interactive sh reads no start-up file. An interactive bash (`kt shell`)
# reads /etc/bash.bashrc; fstests' own scripts inherit the environment. Not sshd's SetEnv: the
# host's one connection is made before kt-init decides.
sed -i '1i [ -r /run/kt/env.sh ] && . /run/kt/env.sh' "$root/etc/bash.bashrc"

# One host key, generated per image; the host can pin it from manifest.json.
rm -f "$root"/etc/ssh/ssh_host_*
chroot "$root" ssh-keygen -q -t ed25519 -N '' -C kt-guest -f /etc/ssh/ssh_host_ed25519_key

# What a boot runs first once the root is mounted, for guest/init to page in beside it: sshd (the
# host's key exchange waits on it), env (guest/kt-sshd starts sshd through it), kmod (guest/init's
# modprobe of the run's filesystems), dash (root's shell: every command over ssh), bash (check's
# interpreter), the TEST_DEV mkfs of the
# default sections and udevd with udevadm (guest/kt-init starts them after ready, and the
# section's set-up waits for them), each with the shared libraries
# ldd names, as paths relative to / (guest/init reads them from /newroot), in the order they
# start: sshd's first, each file once. Under TCG the root disk's reads were ~0.1-0.2 s of sshd's
# start (docs/speed.md). A program missing from the image is left out, never an error: the list
# only saves time.
chroot "$root" /bin/sh -c '
for prog in /usr/sbin/sshd /usr/bin/env /bin/kmod /bin/dash /bin/bash /sbin/mkfs.xfs /sbin/mke2fs /lib/systemd/systemd-udevd /bin/udevadm; do
	[ -x "$prog" ] || continue
	readlink -f "$prog"
	ldd "$prog" 2>/dev/null | sed -n "s#.* => \(/[^ ]*\) .*#\1#p; s#^[[:space:]]*\(/[^ ]*\) .*#\1#p" | xargs -r readlink -f
done' | sed 's#^/##' | awk '!seen[$0]++' >"$root/etc/kt-prefetch"
