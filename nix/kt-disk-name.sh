#!/usr/bin/env bash
# kt-disk-name <kernel name>: the udev PROGRAM of nix/guest.nix. Prints the kt name ("test",
# "scratch", ...) of a virtio disk without a serial, so that udev links it as
# /dev/disk/by-id/virtio-<name>; exits 1 for any other disk.
#
# Why by position: qemu-vm.nix attaches virtualisation.emptyDiskImages without a serial, after
# the root disk (serial "root") and the Nix store image (no serial, when useNixStoreImage).
# virtio_blk probes disks one after another in PCI (= command line) order and names them in that
# order, so every serial-less disk before $1 already exists when udev handles $1.
#
# Environment (set by the wrapper in guest.nix; tests set them too):
#   KT_DISK_NAMES  space-separated names, in kt.disks order
#   KT_DISK_SKIP   serial-less disks qemu-vm.nix puts before the empty disks (store image)
#   KT_ROOT_DEV    major:minor of the disk holding /, never named (older qemu-vm.nix gave the
#                  root disk no serial; kt formats /dev/disk/by-id/virtio-test)
#   KT_SYS_BLOCK   /sys/block
set -u
read -r -a names <<<"${KT_DISK_NAMES:-}"
skip=${KT_DISK_SKIP:-0}
rootdev=${KT_ROOT_DEV:-}
i=0
for sys in "${KT_SYS_BLOCK:-/sys/block}"/vd*; do
	[ -e "$sys" ] || continue
	serial= dev=
	if [ -r "$sys/serial" ]; then read -r serial <"$sys/serial" || true; fi
	[ -z "$serial" ] || continue
	if [ -r "$sys/dev" ]; then read -r dev <"$sys/dev" || true; fi
	[ -z "$rootdev" ] || [ "$dev" != "$rootdev" ] || continue
	if [ "${sys##*/}" = "${1:-}" ]; then
		idx=$((i - skip))
		if [ "$idx" -ge 0 ] && [ "$idx" -lt "${#names[@]}" ]; then
			echo "${names[$idx]}"
			exit 0
		fi
		exit 1
	fi
	i=$((i + 1))
done
exit 1
