#!/bin/sh
# mmdebstrap --essential-hook (src/vm/image/mmdebstrapArgs.ts): runs after the Essential:yes
# packages are installed and before the --include packages; $1 is the chroot.
#
# Debian's kernel package Depends: "initramfs-tools | linux-initramfs-tool"
# (`apt-cache show linux-image-6.1.0-56-cloud-amd64`). kt builds its own initramfs
# (src/vm/image/initramfs.ts), so an empty local package provides the virtual one and conflicts
# with initramfs-tools: apt then never installs it, and no kernel postinst builds an initrd.
set -eu
root=$1
pkg=/tmp/kt-no-initramfs
mkdir -p "$root$pkg/DEBIAN"
cat >"$root$pkg/DEBIAN/control" <<'CONTROL'
Package: kt-no-initramfs
Version: 1
Architecture: all
Maintainer: kt <kt@localhost>
Priority: optional
Section: kernel
Provides: linux-initramfs-tool
Conflicts: initramfs-tools
Description: satisfies linux-image-*'s initramfs dependency for kt guests
 kt boots its guests with an initramfs it builds itself.
CONTROL
chroot "$root" dpkg-deb --root-owner-group --build "$pkg" "$pkg.deb" >/dev/null
chroot "$root" dpkg --install "$pkg.deb" >/dev/null
rm -rf "$root$pkg" "$root$pkg.deb"
