/**
 * The shell commands kt runs in a guest, rendered by pure functions so they can be read and
 * tested without a VM. Paths inside the guest are fixed by kt's image (guest/kt-init).
 */
import { shellJoin, shellQuote } from '../util/shell.js';

/** Where the fstests image is mounted: the path `make install` uses (fstests.md §0). */
export const GUEST_FSTESTS_DIR = '/var/lib/xfstests';
/** kt's scratch space in the guest (tmpfs, gone with the VM). */
export const GUEST_KT_DIR = '/run/kt';
export const GUEST_RESULT_BASE = `${GUEST_KT_DIR}/results`;
export const GUEST_LOCAL_CONFIG = `${GUEST_KT_DIR}/local.config`;
/** Device names come from the virtio serials kt gives the disks (src/vm/spec.ts). */
export const GUEST_TEST_DEV = '/dev/disk/by-id/virtio-test';
export const GUEST_SCRATCH_DEV = '/dev/disk/by-id/virtio-scratch';
export const GUEST_FSTESTS_DEV = '/dev/disk/by-id/virtio-fstests';

/** mkfs for TEST_DEV, which check expects to hold a filesystem already (fstests.md §1.1). */
const MKFS: Record<string, string[]> = {
  xfs: ['mkfs.xfs', '-f', '-q'],
  ext2: ['mkfs.ext2', '-F', '-q'],
  ext3: ['mkfs.ext3', '-F', '-q'],
  ext4: ['mkfs.ext4', '-F', '-q'],
  btrfs: ['mkfs.btrfs', '-f', '-q'],
};

export function mkfsCommand(fstyp: string, mkfsOptions: string, device: string): string {
  const base = MKFS[fstyp];
  if (!base) throw new Error(`no mkfs known for ${fstyp}`);
  // MKFS_OPTIONS is a shell word list in fstests; pass it through word splitting on purpose.
  return `${shellJoin(base)} ${mkfsOptions} ${shellQuote(device)}`;
}

/**
 * One script that readies a fresh guest for check: mounts the fstests image, writes
 * local.config, formats TEST_DEV, and checks that the tree's compiled helpers run here (a tree
 * built against another libc fails every test in confusing ways; issue #2).
 */
export function renderGuestSetup(opts: { localConfig: string; fstyp: string; mkfsOptions: string }): string {
  return [
    'set -e',
    // The kernel booted with loglevel=5 to keep its boot quiet on the slow serial console; from
    // here on the console must carry everything a crash report holds (the task and stack dumps
    // of hung-task reports are KERN_INFO), so back to the kernel's default level 7.
    'dmesg -n 7',
    `mkdir -p /mnt/test /mnt/scratch ${GUEST_RESULT_BASE}`,
    // The Debian backend attaches the tree as a disk; a NixOS guest has it at this path already.
    `if [ -e ${GUEST_FSTESTS_DEV} ]; then mkdir -p ${GUEST_FSTESTS_DIR} && mount ${GUEST_FSTESTS_DEV} ${GUEST_FSTESTS_DIR}; fi`,
    `cat > ${GUEST_LOCAL_CONFIG} <<'KT_LOCAL_CONFIG_EOF'`,
    opts.localConfig.trimEnd(),
    'KT_LOCAL_CONFIG_EOF',
    `${mkfsCommand(opts.fstyp, opts.mkfsOptions, GUEST_TEST_DEV)} >/dev/null`,
    // ltp/fsstress is the helper nearly every fstests test uses; if it cannot even start
    // (wrong libc, a Nix store interpreter, not built), say so before any test runs.
    `cd ${GUEST_FSTESTS_DIR}`,
    'if [ ! -x ltp/fsstress ]; then echo "KT-PREFLIGHT: ltp/fsstress missing or not executable (is the tree built? run make)"; exit 42; fi',
    'out=$(./ltp/fsstress -? 2>&1 || true)',
    'case "$out" in *"not found"*|*"No such file"*|*"cannot execute"*|*"Exec format"*) echo "KT-PREFLIGHT: ltp/fsstress cannot run in the guest: $(echo "$out" | head -n 2)"; exit 43;; esac',
    'echo KT-SETUP-OK',
  ].join('\n');
}

/** check with an explicit, already ordered list: what kt computed is exactly what runs. */
export function renderCheckCommand(tests: readonly string[]): string {
  // fstests.md §10.1: --exact-order keeps our order; names after all options.
  return `cd ${GUEST_FSTESTS_DIR} && HOST_OPTIONS=${GUEST_LOCAL_CONFIG} exec ./check --exact-order ${shellJoin([...tests])}`;
}

/** The result files of one test kt copies out, in fstests' naming (fstests.md §3). */
export const ARTIFACT_EXTENSIONS = ['full', 'dmesg', 'out.bad', 'notrun'] as const;
export type ArtifactExtension = (typeof ARTIFACT_EXTENSIONS)[number];
/** Cap per file: a .full can be megabytes; its tail says what went wrong. */
export const ARTIFACT_TAIL_BYTES = 256 * 1024;

/**
 * Prints each existing result file of a test as `@@KT-FILE <ext> <size>\n<last bytes>\n`.
 * Results of a sections config live under $RESULT_BASE/<section>/ (fstests.md §3).
 */
export function renderFetchArtifacts(test: string, section?: string): string {
  const base = section ? `${GUEST_RESULT_BASE}/${section}` : GUEST_RESULT_BASE;
  return [
    `cd ${shellQuote(base)} 2>/dev/null || exit 0`,
    `for ext in ${ARTIFACT_EXTENSIONS.join(' ')}; do`,
    `  f=${shellQuote(test)}.$ext`,
    '  [ -f "$f" ] || continue',
    '  n=$(stat -c %s "$f")',
    `  echo "@@KT-FILE $ext $n"`,
    `  tail -c ${ARTIFACT_TAIL_BYTES} "$f"`,
    '  echo',
    'done',
  ].join('\n');
}

/** Parses the output of renderFetchArtifacts (byte-exact: files may hold any bytes). */
export function parseFetchedArtifacts(out: Buffer): Map<ArtifactExtension, { size: number; tail: Buffer }> {
  const files = new Map<ArtifactExtension, { size: number; tail: Buffer }>();
  let pos = 0;
  while (pos < out.length) {
    const nl = out.indexOf(0x0a, pos);
    if (nl < 0) break;
    const header = /^@@KT-FILE (\S+) (\d+)$/.exec(out.subarray(pos, nl).toString('latin1'));
    if (!header) break;
    const size = Number(header[2]);
    const len = Math.min(size, ARTIFACT_TAIL_BYTES);
    const tail = out.subarray(nl + 1, nl + 1 + len);
    files.set(header[1] as ArtifactExtension, { size, tail });
    pos = nl + 1 + len + 1;
  }
  return files;
}
