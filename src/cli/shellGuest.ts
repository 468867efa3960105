/**
 * What `kt shell` runs in the guest, rendered by pure functions: the interactive shell, a
 * command of `kt shell -- CMD`, the check config alone (for disks a run kept), and the power-off
 * at the end. Paths are those of a run (src/runner/guestCommands.ts), so `./check <test>`
 * in the shell runs exactly as kt's own check command does.
 */
import { shellJoin, shellQuote } from '../util/shell.js';
import { GUEST_ENV, GUEST_FSTESTS_DIR, GUEST_SCRATCH_MNT, GUEST_TEST_DIR, guestConfigPath, guestResultDir, UDEV_WAIT } from '../runner/guestCommands.js';

/** `cd` to the fstests tree with check's config in HOST_OPTIONS and the guest's environment, as renderCheckCommand does. */
function inFstests(section: string): string {
  return `${GUEST_ENV} && cd ${GUEST_FSTESTS_DIR} && export HOST_OPTIONS=${shellQuote(guestConfigPath(section))}`;
}

/**
 * The interactive shell: bash, interactive (-i) because its stdin is the pty; it reads
 * /etc/bash.bashrc and ~/.bashrc (bash(1), INVOCATION) and keeps the environment set before it.
 */
export function renderInteractiveShell(section: string): string {
  return `${inFstests(section)} && exec bash -i`;
}

/**
 * `kt shell -- CMD ARGS...`: the words as given, each quoted (as `docker exec` and `kubectl exec`
 * take them, not joined into one shell line as ssh(1) does); shell syntax needs `sh -c '...'`.
 * Run by bash, as before root's login shell became dash (guest/mmdebstrap/customize-hook.sh):
 * `kt shell -- time ./check generic/001` keeps bash's `time`, echo its bash meaning.
 */
export function renderGuestCommand(section: string, argv: readonly string[]): string {
  return `${inFstests(section)} && exec bash -c ${shellQuote(shellJoin(argv))}`;
}

/**
 * The check config of a section without making TEST_DEV (renderSectionSetup would mkfs it): for
 * disks a run kept, whose filesystems are what the user came to look at. Prints KT-SECTION-OK.
 */
export function renderConfigOnly(section: string, localConfig: string): string {
  return [
    'set -e',
    `base64 -d > ${shellQuote(guestConfigPath(section))} <<'KT_B64'`,
    Buffer.from(localConfig, 'utf8').toString('base64'),
    'KT_B64',
    `mkdir -p ${shellQuote(guestResultDir(section))}`,
    UDEV_WAIT,
    'echo KT-SECTION-OK',
  ].join('\n');
}

/**
 * A clean power-off: TEST_DIR and SCRATCH_MNT unmounted and everything synced first (the disks
 * use cache=unsafe: what the guest has not written back is lost when QEMU ends, and --keep keeps
 * what is on them). kt's Debian guest has no init that powers off (tini is PID 1): busybox's
 * `poweroff -f` calls reboot(2) directly; a guest with systemd (the NixOS VM) is asked through
 * systemctl; sysrq `o` powers off when neither works (Documentation/admin-guide/sysrq.rst).
 */
export function renderPowerOff(): string {
  const body = [
    'cd /',
    `for m in ${GUEST_SCRATCH_MNT} ${GUEST_TEST_DIR}; do mountpoint -q "$m" && umount "$m"; done`,
    'sync',
    'if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then exec systemctl poweroff; fi',
    'busybox poweroff -f || poweroff -f || echo o > /proc/sysrq-trigger',
  ].join('\n');
  // In a session of its own (util-linux setsid -w: the command still waits for it), its output on
  // the console: the host's wait for this command has a timeout, and sshd ends a timed-out
  // command's whole process group (src/vm/sshTransport.ts), which must not stop a long umount and
  // sync of the user's dirty disks half-way; the host then waits for QEMU to exit. Without such a
  // setsid, as before.
  return [
    `if command -v setsid >/dev/null && setsid -w true 2>/dev/null; then exec setsid -w sh -c ${shellQuote(body)} </dev/null >/dev/console 2>&1; fi`,
    body,
  ].join('\n');
}
