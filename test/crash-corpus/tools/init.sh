#!/bin/busybox sh
# /init of the crash-corpus initramfs: load crashmod, print the fstests marker the way fstests'
# check does ("run fstests <test> at <date>" to /dev/kmsg), provoke one scenario, power off.
/bin/busybox mkdir -p /proc /sys /dev /tmp
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin
exec </dev/console >/dev/console 2>&1

scenario=$(sed -n 's/.*kt_scenario=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "[crashlab] userspace up, scenario '$scenario'"
insmod /crashmod.ko || echo "[crashlab] insmod failed"
params=/sys/module/crashmod/parameters
trigger=$params/trigger
for p in spin_secs hang_secs; do
	v=$(sed -n "s/.*kt_$p=\([0-9]*\).*/\1/p" /proc/cmdline)
	[ -n "$v" ] && echo "$v" > $params/$p
done

# check prints the test name, then writes the kmsg marker (so the console shows them on one line)
printf '%-18s ' "crashmod/$scenario"
echo "run fstests crashmod/$scenario at $(date '+%Y-%m-%d %H:%M:%S')" > /dev/kmsg

case "$scenario" in
hang)
	echo 5 > /proc/sys/kernel/hung_task_timeout_secs
	echo 1 > /proc/sys/kernel/hung_task_warnings
	(echo hang > $trigger) &
	sleep 25
	;;
oom)
	/hog
	sleep 3
	;;
bug-in-init)
	# in init itself: the Oops kills PID 1, and the kernel panics ("Attempted to kill init!")
	echo bug > $trigger
	;;
fscorrupt)
	# What fstests' corruption tests make the kernel print: must not be reported as crashes.
	for m in /modules/*.ko; do insmod "$m"; done
	sleep 1
	echo 5 > /proc/sys/fs/xfs/error_level   # XFS_ERRLEVEL_HIGH: stack traces with the reports
	mkdir -p /mnt/ext4 /mnt/xfs
	mount -t ext4 -o errors=continue /dev/vda /mnt/ext4 && {
		cat /mnt/ext4/dir/f1 /mnt/ext4/dir/f2
		ls /mnt/ext4/dir2 | head -3
		umount /mnt/ext4
	}
	mount -t xfs /dev/vdb /mnt/xfs && ls /mnt/xfs && umount /mnt/xfs
	sleep 2
	;;
*)
	# a subshell, so that an Oops kills it rather than init (which would panic the kernel)
	(echo "$scenario" > $trigger)
	sleep 3
	;;
esac
echo "[crashlab] scenario '$scenario' done"
echo o > /proc/sysrq-trigger
sleep 10
