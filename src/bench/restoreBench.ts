/**
 * The benchmark's restore row (docs/speed.md, "Why not restore a snapshot"): issue #9's stretch
 * target asks whether starting a VM from a saved state beats booting it by 3× or more. This
 * measures it on kt's own guest, so that the answer is a measurement rather than an estimate.
 *
 * A source VM boots with kt's argv until kt-init prints its ready line, with nobody connected:
 * kt's guest then has its sshd waiting on the virtio-serial port for a host (guest/kt-sshd), and
 * so will every copy. QMP stops it and migrates its state to a file (`exec:cat`; QEMU 7.2 has no
 * `file:` migration). Its shared root and fstests images are qcow2 overlays the VM owns (spec
 * `format: 'qcow2'`), not snapshot=on's temporary overlay, which goes with QEMU: a memory state
 * only makes sense with the disks it was saved with, so each restore gets a copy of the saved
 * overlays, and fresh empty TEST and SCRATCH images at the same guest paths.
 *
 * Then, alternating: a cold boot as a run does it (QemuMachine, to commands accepted and to ready)
 * and a restore (kt's argv for a new VM, with `-incoming`; `cont` once loaded, because QEMU
 * carries the source's stopped run state over: migration/global_state.c), each from its files
 * made to kt's ssh transport connected, the span of QemuMachine.boot. The restored guest keeps
 * what the source had in memory: its hostname, host key and random state.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { shellQuote } from '../util/shell.js';
import { median } from '../util/median.js';
import { READY_MARKER } from '../vm/bootedMachine.js';
import { imageHostKey } from '../vm/hostKey.js';
import { launchQemu, type QemuProcess } from '../vm/launch.js';
import { prepareHost } from '../vm/prepareHost.js';
import { renderQemuArgs } from '../vm/qemuArgs.js';
import { QmpClient } from '../vm/qmp.js';
import type { Accel, VmSpec } from '../vm/spec.js';
import { generateSshKeyPair } from '../vm/sshKeyPair.js';
import { connectSsh } from '../vm/sshTransport.js';
import type { PreflightMemo } from '../runner/guestSetup.js';
import { benchVmSpec, ktReady, type BenchImage } from './bootBench.js';

/** Every wait on a guest here ends: a boot, a save, a restore. */
const GUEST_WAIT_MS = 300_000;
const QMP_MS = 10_000;
/** kt-init's own steps after its ready line (the console level back), before the state is taken. */
const AFTER_READY_MS = 500;

/** A spec whose shared read-only disks are the given qcow2 overlays, kept after QEMU exits. */
export function withOverlays(spec: VmSpec, overlays: ReadonlyMap<string, string>): VmSpec {
  return {
    ...spec,
    disks: spec.disks.map((d) => {
      const overlay = overlays.get(d.serial);
      return d.snapshot && overlay ? { serial: d.serial, path: overlay, snapshot: false, format: 'qcow2' as const } : d;
    }),
  };
}

interface RestoreOpts {
  image: BenchImage;
  fstestsImage: string;
  fstestsDir: string;
  work: string;
  accel: Accel;
  boots: number;
  /** As the boot row: the cold boots' set-up skips the preflight this tree already passed. */
  preflight?: PreflightMemo;
}

export async function restoreRow(opts: RestoreOpts): Promise<Record<string, unknown>> {
  const keys = generateSshKeyPair();
  const trust = await imageHostKey(opts.image.rootImage);
  if (trust.kind !== 'pinned') throw new Error("the restore row needs the image manifest's ssh host key");
  const hostKey = trust.key;
  // VM dirs are <work>/vm<index>, whatever the run id: far from the other rows' indexes.
  let index = 900;
  const specFor = () => benchVmSpec({ ...opts, runId: 'bench-restore', index: ++index, sshPublicKey: keys.public });

  const saved = fs.mkdtempSync(path.join(opts.work, 'saved-'));
  try {
    const source = await saveSource(specFor(), saved);
    const cold: number[] = [];
    const coldReady: number[] = [];
    const restored: number[] = [];
    const resumed: number[] = [];
    for (let i = 0; i < opts.boots; i++) {
      const r = await ktReady({
        image: opts.image, fstestsImage: opts.fstestsImage, fstestsDir: opts.fstestsDir, work: opts.work, index: ++index, accel: opts.accel,
        ...(opts.preflight ? { preflight: opts.preflight } : {}),
      });
      await r.machine.dispose();
      cold.push(r.bootMs);
      coldReady.push(r.readyMs);
      const t = await restoreOnce(specFor(), source.overlays, source.state, keys.private, hostKey);
      restored.push(t.connectedMs);
      resumed.push(t.resumedMs);
    }
    return {
      sourceReadyMs: source.readyMs,
      saveMs: source.saveMs,
      stateBytes: fs.statSync(source.state).size,
      // QemuMachine.boot: the VM's files made, QEMU started → ssh connected (commands accepted).
      coldBootMs: cold,
      coldReadyMs: coldReady,
      // The same span of a restore: its files made (the saved overlays copied), QEMU started →
      // ssh connected; a `true` run afterwards only proves the guest answers.
      restoreMs: restored,
      // Of which: its files made, QEMU started, the state loaded, `cont` answered; the rest is
      // the ssh handshake.
      restoreResumedMs: resumed,
      speedup: +(median(cold) / median(restored)).toFixed(3),
      goal: '>= 3 under TCG and KVM to adopt (issue #9, target 3)',
    };
  } finally {
    fs.rmSync(saved, { recursive: true, force: true });
  }
}

/** The source: booted to kt-init's ready line, its state and overlays saved in `dir`, gone. */
async function saveSource(spec: VmSpec, dir: string): Promise<{ overlays: Map<string, string>; state: string; readyMs: number; saveMs: number }> {
  const overlays = new Map<string, string>();
  const state = path.join(dir, 'state');
  const host = await prepareHost(spec);
  let qemu: QemuProcess | undefined;
  try {
    for (const d of spec.disks.filter((d) => d.snapshot)) {
      const overlay = path.join(dir, `${d.serial}.qcow2`);
      await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', d.path, overlay]);
      overlays.set(d.serial, overlay);
    }
    const started = Date.now();
    qemu = launchQemu(renderQemuArgs(withOverlays(spec, overlays)), { cwd: spec.dir });
    await consoleLine(qemu, READY_MARKER);
    const readyMs = Date.now() - started;
    await sleep(AFTER_READY_MS);
    const qmp = await QmpClient.connect(spec.qmpSocket, QMP_MS);
    try {
      const t0 = Date.now();
      await qmp.execute('stop', undefined, QMP_MS);
      // The file gets its name only once `cat` has written all of it: QEMU reports "completed"
      // before it closes the pipe (migration/migration.c: migration_completion, then
      // migrate_fd_cleanup), so `cat` may still be writing, and it is in the process group
      // killed below. A failed `cat` or `mv` (a full disk) leaves its status in `failed`.
      const part = `${state}.part`;
      const failed = path.join(dir, 'failed');
      const q = shellQuote;
      await qmp.execute('migrate', { uri: `exec:{ cat > ${q(part)} && mv ${q(part)} ${q(state)}; } || echo $? > ${q(failed)}` }, QMP_MS);
      await until(async () => {
        const q = (await qmp.execute('query-migrate', undefined, QMP_MS)) as { status?: string; 'error-desc'?: string };
        if (q.status === 'failed') throw new Error(`saving the source VM's state failed: ${q['error-desc'] ?? 'no reason given'}`);
        return q.status === 'completed';
      }, "the source VM's state saved");
      await until(async () => {
        if (fs.existsSync(failed)) throw new Error(`writing the source VM's state to ${state} failed (exit ${fs.readFileSync(failed, 'utf8').trim()}): is ${dir} full?`);
        return fs.existsSync(state);
      }, `${state} written`);
      return { overlays, state, readyMs, saveMs: Date.now() - t0 };
    } finally {
      qmp.close();
    }
  } finally {
    await qemu?.kill();
    await host.dispose();
  }
}

/** One restore of the saved state into a new QEMU, to ssh connected (then a command, to prove it). */
async function restoreOnce(spec: VmSpec, saved: ReadonlyMap<string, string>, state: string, privateKey: string, hostKey: string): Promise<{ connectedMs: number; resumedMs: number }> {
  if (spec.transport.kind !== 'virtio-serial') throw new Error('the restore row connects over virtio-serial only');
  const started = Date.now();
  const host = await prepareHost(spec);
  let qemu: QemuProcess | undefined;
  // Ends every poll of this restore when it ends, whichever way.
  const over = new AbortController();
  try {
    const mine = new Map<string, string>();
    for (const [serial, file] of saved) {
      const copy = path.join(spec.dir, `${serial}.qcow2`);
      fs.copyFileSync(file, copy);
      mine.set(serial, copy);
    }
    qemu = launchQemu([...renderQemuArgs(withOverlays(spec, mine)), '-incoming', `exec:cat ${shellQuote(state)}`], { cwd: spec.dir });
    const exited = qemu.exited.then((e) => {
      throw new Error(`the restoring QEMU exited (status ${e.exitCode ?? e.signal}): ${e.stderr.trim()}`);
    });
    exited.catch(() => undefined);
    await Promise.race([until(async () => fs.existsSync(spec.qmpSocket), "the restoring QEMU's QMP socket", over.signal), exited]);
    const qmp = await QmpClient.connect(spec.qmpSocket, QMP_MS);
    try {
      await Promise.race([
        until(async () => ((await qmp.execute('query-status', undefined, QMP_MS)) as { status?: string }).status !== 'inmigrate', 'the state loaded', over.signal),
        exited,
      ]);
      await qmp.execute('cont', undefined, QMP_MS);
    } finally {
      qmp.close();
    }
    const resumedMs = Date.now() - started;
    const transport = await connectSsh(spec.transport, privateKey, GUEST_WAIT_MS, hostKey);
    const connectedMs = Date.now() - started;
    try {
      const r = await transport.exec('true', { timeoutMs: GUEST_WAIT_MS });
      if (r.exitCode !== 0) throw new Error(`\`true\` exited ${r.exitCode} on the restored VM: ${r.stderr.trim()}`);
      return { connectedMs, resumedMs };
    } finally {
      transport.close();
    }
  } finally {
    over.abort();
    await qemu?.kill();
    await host.dispose();
  }
}

/** Resolves when `line` has appeared on the console; rejects when QEMU exits first or after GUEST_WAIT_MS. */
function consoleLine(qemu: QemuProcess, line: string): Promise<void> {
  let tail = '';
  let timer: NodeJS.Timeout | undefined;
  return new Promise<void>((resolve, reject) => {
    qemu.onConsole((chunk) => {
      tail = (tail + chunk.toString('utf8')).slice(-4096);
      if (tail.includes(line)) resolve();
    });
    void qemu.exited.then((e) => reject(new Error(`the source VM's QEMU exited before "${line}" (status ${e.exitCode ?? e.signal}): ${e.stderr.trim()}`)));
    timer = setTimeout(() => reject(new Error(`no "${line}" on the source VM's console within ${GUEST_WAIT_MS / 1000} s`)), GUEST_WAIT_MS);
  }).finally(() => clearTimeout(timer));
}

/**
 * Polls `done` every 10 ms until it is true; rejects after GUEST_WAIT_MS, naming `what`. Stops
 * quietly once `stop` is aborted (its caller has moved on: the wait lost a race, or failed).
 */
async function until(done: () => Promise<boolean>, what: string, stop?: AbortSignal): Promise<void> {
  const deadline = Date.now() + GUEST_WAIT_MS;
  while (!stop?.aborted && !(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${GUEST_WAIT_MS / 1000} s waiting for ${what}`);
    await sleep(10);
  }
}

