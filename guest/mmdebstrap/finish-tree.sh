#!/bin/sh
# Runs after mmdebstrap, before `mke2fs -d`, as the root of the build in both of kt's build
# modes (src/vm/image/buildImage.ts). It evens out the two places where mmdebstrap's root and
# unshare modes leave different trees, so root.img is the same whoever built it. $1 is the tree.
set -eu
root=$1

# Root mode creates device nodes in /dev (mknod); unshare mode cannot (user_namespaces(7):
# no mknod in a user namespace) and leaves /dev empty. The guest mounts devtmpfs on /dev before
# anything else runs (guest/init, guest/kt-init), so the image needs /dev only as a mount point.
find "$root/dev" -mindepth 1 -delete

# apt's download directories: apt hands them to its sandbox user _apt only when _apt can reach
# the tree from the host's / (apt-pkg/acquire.cc SetupAPTPartialDirectory; apt-private/
# private-download.cc CheckDropPrivsMustBeDisabled), which depends on where the build directory
# is, not on the image. apt itself is not installed in the guest.
for dir in var/cache/apt/archives/partial var/lib/apt/lists/partial; do
	[ ! -d "$root/$dir" ] || chown 0:0 "$root/$dir"
done
