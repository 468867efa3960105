/**
 * The shell commands kt runs in a guest, rendered by pure functions so they can be read and
 * tested without a VM. Paths inside the guest are fixed by kt's image (guest/kt-init).
 *
 * Values that come from the user (a suite's env, MKFS_OPTIONS, test names) never become shell
 * code: each travels as one shellQuote'd word (single quotes, inside which no shell gives any
 * character a meaning), written to a file by printf or set as a positional parameter as it is.
 */
import { shellJoin, shellQuote } from '../util/shell.js';

/** Where the fstests image is mounted: the path fstests' `make install` uses. */
export const GUEST_FSTESTS_DIR = '/var/lib/xfstests';
/** kt's scratch space in the guest (tmpfs, gone with the VM). */
export const GUEST_KT_DIR = '/run/kt';
export const GUEST_RESULT_BASE = `${GUEST_KT_DIR}/results`;
/** Device names come from the virtio serials kt gives the disks (src/vm/spec.ts). */
export const GUEST_TEST_DEV = '/dev/disk/by-id/virtio-test';
export const GUEST_SCRATCH_DEV = '/dev/disk/by-id/virtio-scratch';
export const GUEST_FSTESTS_DEV = '/dev/disk/by-id/virtio-fstests';
export const GUEST_TEST_DIR = '/mnt/test';
/** The extra disks of sections (src/cli/machines.ts gives them these serials). */
export const GUEST_DEVICE_SERIALS = { test: 'test', testLog: 'testlog', scratchLog: 'scratchlog', testRt: 'testrt', scratchRt: 'scratchrt', pool: (n: number) => `pool${n}` } as const;
export const guestDevice = (serial: string) => `/dev/disk/by-id/virtio-${serial}`;
export const GUEST_SCRATCH_MNT = '/mnt/scratch';

/** mkfs for TEST_DEV, which check expects to hold a filesystem already (fstests' README.config-sections: RECREATE_TEST_DEV). */
const MKFS: Record<string, string[]> = {
  xfs: ['mkfs.xfs', '-f', '-q'],
  ext2: ['mkfs.ext2', '-F', '-q'],
  ext3: ['mkfs.ext3', '-F', '-q'],
  ext4: ['mkfs.ext4', '-F', '-q'],
  btrfs: ['mkfs.btrfs', '-f', '-q'],
};

/** The filesystems kt knows how to make a TEST_DEV for. */
export const KNOWN_FSTYPES: readonly string[] = Object.keys(MKFS);

/** A path-safe name for a section inside the guest (section names hold "/": `xfs/4k`). */
export function guestSectionSlug(section: string): string {
  return section.replace(/[^A-Za-z0-9._-]/g, '_') || 'default';
}

/** The check config (HOST_OPTIONS) of a section in the guest. */
export function guestConfigPath(section: string): string {
  return `${GUEST_KT_DIR}/${guestSectionSlug(section)}.config`;
}

/** check's RESULT_BASE for a section: results of two sections never mix. */
export function guestResultDir(section: string): string {
  return `${GUEST_RESULT_BASE}/${guestSectionSlug(section)}`;
}

/**
 * Readies a fresh guest for check, once per boot: the kernel console back to level 7, mount
 * points, the fstests tree mounted, and a check that the tree's compiled helpers run here (a
 * tree built against another libc fails every test in confusing ways).
 *
 * kt's Debian guest does the first three while the host's ssh handshake runs (guest/kt-init);
 * they are skipped here with shell builtins when done, since every program started in a TCG
 * guest costs 0.1-0.3 s (docs/speed.md). Other guests (NixOS) get them done here.
 */
export function renderGuestSetup(): string {
  return [
    'set -e',
    // The kernel booted with loglevel=5 to keep its boot quiet on the slow serial console; from
    // here on the console must carry everything a crash report holds (the task and stack dumps
    // of hung-task reports are KERN_INFO), so back to the kernel's default level 7 (what
    // `dmesg -n 7` does, through the console_loglevel field of kernel/printk/sysctl.c).
    'echo 7 > /proc/sys/kernel/printk',
    `[ -d ${GUEST_TEST_DIR} ] && [ -d ${GUEST_SCRATCH_MNT} ] && [ -d ${GUEST_RESULT_BASE} ] || mkdir -p ${GUEST_TEST_DIR} ${GUEST_SCRATCH_MNT} ${GUEST_RESULT_BASE}`,
    // The Debian backend attaches the tree as a disk (kt-init mounts it); a NixOS guest has it
    // at this path already.
    `if [ -e ${GUEST_FSTESTS_DEV} ] && [ ! -e ${GUEST_FSTESTS_DIR}/check ]; then mkdir -p ${GUEST_FSTESTS_DIR} && mount ${GUEST_FSTESTS_DEV} ${GUEST_FSTESTS_DIR}; fi`,
    // ltp/fsstress is the helper nearly every fstests test uses; if it cannot even start
    // (wrong libc, a Nix store interpreter, not built), say so before any test runs.
    `cd ${GUEST_FSTESTS_DIR}`,
    'if [ ! -x ltp/fsstress ]; then echo "KT-PREFLIGHT: ltp/fsstress missing or not executable (is the tree built? run make)"; exit 42; fi',
    'out=$(./ltp/fsstress -? 2>&1 || true)',
    // printf, not echo: dash's echo would read backslashes in the message as escapes. The
    // shell's own words for a program it found but cannot start ("not found" from dash, for a
    // missing ELF interpreter) need the reason spelled out.
    'case "$out" in *"not found"*|*"No such file"*|*"cannot execute"*|*"Exec format"*) printf \'KT-PREFLIGHT: ltp/fsstress cannot run in the guest (its ELF interpreter or a library it needs is missing, or it was built for another machine): %s\\n\' "$(printf \'%s\\n\' "$out" | head -n 2)"; exit 43;; esac',
    'echo KT-SETUP-OK',
  ].join('\n');
}

/** What a guest needs to run a section. */
export interface GuestSectionSetup {
  /** Section name (`xfs/4k`). */
  section: string;
  /** Its check config (HOST_OPTIONS file contents). */
  localConfig: string;
  fstyp: string;
  /** MKFS_OPTIONS: a word list, split on blanks as fstests' common/rc does (`$MKFS_OPTIONS`). */
  mkfsOptions: string;
  /** TEST_DEV's external log and realtime devices, when the section has them (xfs). */
  testLogDev?: string;
  testRtDev?: string;
  /**
   * false: TEST_DEV already holds a fresh filesystem of this section, untouched since (the VM's
   * TEST disk began as a copy of one made in an earlier VM: guestSetup.ts TestDevTemplates), so
   * no mkfs. Default true.
   */
  mkfs?: boolean;
}

/**
 * What makes a section's TEST_DEV, program and words (renderSectionSetup runs exactly these): what
 * a filesystem made once is kept by (src/cli/testDevTemplates.ts). Undefined for an fstyp kt
 * cannot make. Pure.
 */
export function testDevMkfsWords(fstyp: string, mkfsOptions: string): string[] | undefined {
  const mkfs = MKFS[fstyp];
  return mkfs ? [...mkfs, ...mkfsOptionWords(mkfsOptions)] : undefined;
}

/**
 * MKFS_OPTIONS as words, split as fstests' common/rc splits `$MKFS_OPTIONS` (unquoted, default
 * IFS: blanks and newlines; no globbing in the guest since each word is quoted).
 */
export function mkfsOptionWords(mkfsOptions: string): string[] {
  return mkfsOptions.split(/[ \t\n]+/).filter((w) => w !== '');
}

/**
 * What guest/kt-init decided at boot for every command (DM_DISABLE_UDEV where udevd cannot run),
 * for commands that start fstests: root's login shell in kt's image is dash
 * (guest/mmdebstrap/customize-hook.sh), which reads no start-up file for `sh -c`. A guest
 * without the file (NixOS) gets nothing. Ends in `&&` context with status 0.
 */
export const GUEST_ENV = '{ [ ! -r /run/kt/env.sh ] || . /run/kt/env.sh; }';

/**
 * guest/kt-init starts udevd after its ready line and says how in /run/kt/udev: no test (and no
 * command of a kt shell) may make a device (dm, loop) before udevd listens, or no udev hears of
 * it. Waits while it says "starting", at most 20 s; a guest without the file, a NixOS one, waits
 * for nothing. Shell builtins and sleep only.
 */
export const UDEV_WAIT = 'kt_n=0; while [ $kt_n -lt 200 ] && read -r kt_udev 2>/dev/null < /run/kt/udev && [ "$kt_udev" = starting ]; do sleep 0.1; kt_n=$((kt_n + 1)); done';

/**
 * Switches a guest to a section: writes its check config, and gives TEST_DEV a fresh
 * filesystem of the section's type and options (check mounts TEST_DEV but only makes it with
 * RECREATE_TEST_DEV; fstests' README.config-sections), unless it already holds one (`mkfs:
 * false`). Prints KT-SECTION-OK when done.
 *
 * Only mkfs starts a program (with TEST_DEV made already, nothing does): the config is written
 * by printf and the mount table read by `read`, shell builtins (every program costs 0.1-0.3 s
 * under TCG: docs/speed.md). check makes the section's RESULT_BASE itself (fstests' check,
 * run_section: `mkdir -p $RESULT_BASE` right after the section's config), so no mkdir here: it
 * was a dynamic coreutils start in every boot, ~80 ms of a 2-vCPU TCG guest's CPU (the bench's
 * bootCpu row). POSIX sh, like every command here: kt's image runs them in dash, a
 * NixOS guest in bash. User values arrive as shellQuote'd words.
 */
export function renderSectionSetup(s: GuestSectionSetup): string {
  const mkfs = MKFS[s.fstyp];
  if (!mkfs) throw new Error(`no mkfs known for ${s.fstyp}`);
  return [
    'set -e',
    `printf '%s' ${shellQuote(s.localConfig)} > ${shellQuote(guestConfigPath(s.section))}`,
    ...(s.mkfs === false
      ? []
      : [
          // check leaves TEST_DEV mounted after a batch; a new filesystem needs it unmounted.
          `while read -r _ kt_mnt _; do if [ "$kt_mnt" = ${GUEST_TEST_DIR} ]; then umount ${GUEST_TEST_DIR}; break; fi; done < /proc/self/mounts`,
          // The words as the positional parameters: POSIX sh has no arrays. `set --` alone clears them.
          `set -- ${mkfsOptionWords(s.mkfsOptions).map(shellQuote).join(' ')}`.trimEnd(),
          // With USE_EXTERNAL=yes fstests' _test_options adds the log and realtime devices the same way.
          `${shellJoin([...mkfs, ...(s.testLogDev ? ['-l', `logdev=${s.testLogDev}`] : []), ...(s.testRtDev ? ['-r', `rtdev=${s.testRtDev}`] : [])])} "$@" ${GUEST_TEST_DEV} >/dev/null`,
        ]),
    // After the mkfs, which makes no device, so the two overlap.
    UDEV_WAIT,
    'echo KT-SECTION-OK',
  ].join('\n');
}

/** check with an explicit, already ordered list: what kt computed is exactly what runs. */
export function renderCheckCommand(section: string, tests: readonly string[]): string {
  // fstests' check: --exact-order keeps our order; test names come after all options.
  return `${GUEST_ENV} && cd ${GUEST_FSTESTS_DIR} && HOST_OPTIONS=${shellQuote(guestConfigPath(section))} exec ./check --exact-order ${shellJoin([...tests])}`;
}

/**
 * The result files of one test kt copies out, in fstests' naming (check's $RESULT_DIR/$seqnum.*),
 * in the order they are copied: `.full` last, because it is the one file a process the test
 * left behind may still append to (`>> $seqres.full`), and bytes added to the last body only
 * trail the copy (renderFetchArtifacts).
 */
export const ARTIFACT_EXTENSIONS = ['dmesg', 'out.bad', 'notrun', 'full'] as const;
export type ArtifactExtension = (typeof ARTIFACT_EXTENSIONS)[number];
/** Cap per file: a .full can be megabytes; its tail says what went wrong. */
export const ARTIFACT_TAIL_BYTES = 256 * 1024;

/**
 * Prints the headers of a test's existing result files in `resultDir`, `@@KT-FILE <ext> <size>`
 * a line each, then `@@KT-BODY`, then each file's last min(size, cap) bytes in header order.
 *
 * Every test of a run pays this command while `check` goes on with the next test in the same
 * guest, so it forks as little as it can: one `stat` for all the files and one `cat` (or, when
 * any file is over the cap, a `cat` or `tail` for each, from the offset the sizes give). The
 * earlier form, a `stat` and a `tail` per file, took ~0.1 s more of guest CPU per test under
 * TCG, taken from `check` on a 1-vCPU guest (docs/speed.md, "Per-test artifacts"). The sizes and the bytes agree because `check` is done
 * with a test's files when it prints the test's result line, the moment kt fetches them
 * (fstests' `check`: `_check_filesystems`, `_check_dmesg` and the `.out.bad` move come before
 * the line); a file that still grows is `.full`, copied last (ARTIFACT_EXTENSIONS). A file gone
 * between `stat` and the copy fails the command (exit 1), and the caller keeps nothing of it.
 */
export function renderFetchArtifacts(test: string, resultDir: string): string {
  return [
    `cd ${shellQuote(resultDir)} 2>/dev/null || exit 0`,
    `t=${shellQuote(test)}`,
    'exts=',
    `for ext in ${ARTIFACT_EXTENSIONS.join(' ')}; do [ -f "$t.$ext" ] && exts="$exts $ext"; done`,
    '[ -n "$exts" ] || exit 0',
    'set --',
    'for ext in $exts; do set -- "$@" "$t.$ext"; done',
    // -L: the size of what `[ -f ]` and `cat` see through a symlink, not of the link.
    'sizes=$(stat -L -c %s -- "$@") || exit 0',
    'set -- $sizes',
    'big=',
    `for ext in $exts; do echo "@@KT-FILE $ext $1"; [ "$1" -gt ${ARTIFACT_TAIL_BYTES} ] && big=1; shift; done`,
    'echo @@KT-BODY',
    'if [ -z "$big" ]; then',
    '  set --',
    '  for ext in $exts; do set -- "$@" "$t.$ext"; done',
    '  exec cat -- "$@"',
    'fi',
    // From the offset the sizes give, not `tail -c N` from the end: bytes appended since (to
    // .full, the last) then trail the copy instead of shifting its start.
    'rc=0',
    'set -- $sizes',
    'for ext in $exts; do',
    `  if [ "$1" -gt ${ARTIFACT_TAIL_BYTES} ]; then tail -c +$(($1 - ${ARTIFACT_TAIL_BYTES - 1})) -- "$t.$ext" || rc=1; else cat -- "$t.$ext" || rc=1; fi`,
    '  shift',
    'done',
    'exit $rc',
  ].join('\n');
}

/** Parses the output of renderFetchArtifacts (byte-exact: files may hold any bytes). */
export function parseFetchedArtifacts(out: Buffer): Map<ArtifactExtension, { size: number; tail: Buffer }> {
  const files = new Map<ArtifactExtension, { size: number; tail: Buffer }>();
  const headers: { ext: ArtifactExtension; size: number }[] = [];
  let pos = 0;
  for (;;) {
    const nl = out.indexOf(0x0a, pos);
    if (nl < 0) return files;
    const line = out.subarray(pos, nl).toString('latin1');
    pos = nl + 1;
    if (line === '@@KT-BODY') break;
    const header = /^@@KT-FILE (\S+) (\d+)$/.exec(line);
    if (!header) return files;
    headers.push({ ext: header[1] as ArtifactExtension, size: Number(header[2]) });
  }
  for (const { ext, size } of headers) {
    const len = Math.min(size, ARTIFACT_TAIL_BYTES);
    // A body cut short (the VM lost mid-copy) is not a file's tail: keep only whole ones.
    if (pos + len > out.length) break;
    files.set(ext, { size, tail: out.subarray(pos, pos + len) });
    pos += len;
  }
  return files;
}
