#!/bin/bash
# Regenerates the real crash captures of test/crash-corpus/ by booting the Debian cloud kernel
# in QEMU (TCG) with a busybox initramfs and the crashmod test module, one boot per scenario.
#
#   test/crash-corpus/tools/capture.sh [name...]      (default: every name in the table below)
#
# Needs: qemu-system-x86_64, busybox-static, gcc + libc static, and the kernel's headers:
#   KVER=6.1.0-56-cloud-amd64  KERNEL=/tmp/kpkg/x/boot/vmlinuz-$KVER
#   KDIR=/usr/src/linux-headers-$KVER  (apt-get install linux-headers-$KVER)
# Writes <name>.log into the corpus with a "TITLE: UNREVIEWED" header; fill the headers with
#   KT_UPDATE_CORPUS=1 npx vitest run test/crash/corpus.test.ts   and review the diff.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
corpus=$(cd "$here/.." && pwd)
KVER=${KVER:-6.1.0-56-cloud-amd64}
KERNEL=${KERNEL:-/tmp/kpkg/x/boot/vmlinuz-$KVER}
KDIR=${KDIR:-/usr/src/linux-headers-$KVER}
WORK=${WORK:-/tmp/crashlab/capture}
OUT=${OUT:-$corpus}
BUSYBOX=${BUSYBOX:-/bin/busybox}
TIMEOUT=${TIMEOUT:-120}
KEEP_BEFORE=${KEEP_BEFORE:-20}   # console lines kept before the fstests marker

# name -> "scenario|extra kernel command line"
declare -A scenarios=(
	[module-warn-on]="warn|"
	[module-warn-panic-on-warn]="warn|panic_on_warn=1"
	[module-null-deref-oops]="null|"
	[module-null-deref-panic-on-oops]="null|oops=panic"
	[module-page-fault-oops]="pagefault|"
	[module-gpf-non-canonical]="gpf|"
	[module-bug-on]="bug|"
	[module-list-corruption]="list|"
	[module-panic]="panic|"
	[module-scheduling-while-atomic]="atomic_sleep|"
	[module-soft-lockup]="softlockup|watchdog_thresh=4 kt_spin_secs=13"
	[module-rcu-self-detected-stall]="softlockup|nosoftlockup rcupdate.rcu_cpu_stall_timeout=6 kt_spin_secs=12"
	[module-irqs-off-rcu-stall]="irqlockup|rcupdate.rcu_cpu_stall_timeout=6 kt_spin_secs=12"
	[module-hung-task]="hang|kt_hang_secs=14"
	[module-hung-task-panic]="hang|kt_hang_secs=14 hung_task_panic=1"
	[module-soft-lockup-panic]="softlockup|watchdog_thresh=4 kt_spin_secs=13 softlockup_panic=1"
	[module-bug-kills-init]="bug-in-init|"
	[oom-kill]="oom|"
	[ext4-xfs-corruption-errors-not-a-crash]="fscorrupt|"
)

# Kernel modules the fscorrupt scenario loads (in this order) for virtio disks and xfs.
FS_MODULES=(drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
	drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk
	lib/libcrc32c fs/xfs/xfs)
MODDIR=${MODDIR:-$(dirname "$KERNEL")/../lib/modules/$KVER/kernel}

# Corrupted ext4 and xfs images, made with the host's e2fsprogs/xfsprogs (like fstests'
# corruption tests do with debugfs/xfs_db): the guest mounts them and reads what was broken.
make_corrupt_images() {
	local tree="$WORK/ext4-tree"
	rm -rf "$tree" && mkdir -p "$tree/dir" "$tree/dir2"
	for i in 1 2 3; do echo "file $i" >"$tree/dir/f$i"; done
	for i in $(seq 1 40); do echo "$i" >"$tree/dir2/entry-$i"; done
	rm -f "$WORK/ext4.img" "$WORK/xfs.img"
	mkfs.ext4 -q -F -d "$tree" "$WORK/ext4.img" 64M
	debugfs -w -R "clri /dir/f2" "$WORK/ext4.img" >/dev/null 2>&1   # dir entry -> zeroed inode
	debugfs -w -R "zap_block -f /dir2 0 -p 0x5a" "$WORK/ext4.img" >/dev/null 2>&1  # garbage dir block
	truncate -s 320M "$WORK/xfs.img"
	mkfs.xfs -q -f "$WORK/xfs.img"
	local rootino
	rootino=$(xfs_db -r -c sb -c 'print rootino' "$WORK/xfs.img" | sed 's/.*= //')
	xfs_db -x -c "inode $rootino" -c 'write -c core.magic 0x4242' "$WORK/xfs.img" >/dev/null
}

build() {
	mkdir -p "$WORK/mod" "$WORK/root/bin"
	cp "$here/crashmod/crashmod.c" "$here/crashmod/Makefile" "$WORK/mod/"
	make -s -C "$WORK/mod" KDIR="$KDIR" >/dev/null
	gcc -O1 -static -o "$WORK/root/hog" "$here/hog.c"
	cp "$BUSYBOX" "$WORK/root/bin/busybox"
	cp "$WORK/mod/crashmod.ko" "$WORK/root/crashmod.ko"
	mkdir -p "$WORK/root/modules"
	local m n=0
	for m in "${FS_MODULES[@]}"; do
		n=$((n + 1))
		cp "$MODDIR/$m.ko" "$WORK/root/modules/$(printf %02d $n)-$(basename "$m").ko"
	done
	cp "$here/init.sh" "$WORK/root/init"
	chmod +x "$WORK/root/init"
	(cd "$WORK/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/initramfs.gz"
}

capture() {
	local name=$1 spec=${scenarios[$1]:?unknown capture name $1}
	local scenario=${spec%%|*} extra=${spec#*|}
	local raw="$WORK/$name.raw"
	local drives=()
	if [ "$scenario" = fscorrupt ]; then
		make_corrupt_images
		drives=(-drive "file=$WORK/ext4.img,format=raw,if=virtio" -drive "file=$WORK/xfs.img,format=raw,if=virtio")
	fi
	echo "== $name: scenario=$scenario $extra" >&2
	# -accel tcg: /dev/kvm guests hang on the machine these were made on; -no-reboot + panic=-1
	# make a panic end qemu. timeout: a guest that never powers off must not outlive us.
	timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -machine q35 -m 1G -smp 2 -nographic \
		-no-reboot -kernel "$KERNEL" -initrd "$WORK/initramfs.gz" "${drives[@]}" \
		-append "console=ttyS0 panic=-1 rdinit=/init kt_scenario=$scenario $extra" \
		</dev/null >"$raw" 2>"$WORK/$name.qemu-stderr" || echo "   qemu exit status $?" >&2
	# The corpus keeps the console from KEEP_BEFORE lines before the marker on, LF line ends.
	local marker
	marker=$(grep -n -a -m1 'run fstests ' "$raw" | cut -d: -f1 || true)
	marker=${marker:-1}
	local from=$(( marker > KEEP_BEFORE ? marker - KEEP_BEFORE : 1 ))
	{
		printf 'TITLE: UNREVIEWED\n\n'
		tail -n "+$from" "$raw" | sed 's/\r$//'
	} >"$OUT/$name.log"
	echo "   -> $OUT/$name.log ($(wc -l <"$OUT/$name.log") lines)" >&2
}

build
if [ $# -eq 0 ]; then set -- $(printf '%s\n' "${!scenarios[@]}" | sort); fi
for name in "$@"; do capture "$name"; done
