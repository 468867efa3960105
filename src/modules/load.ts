/**
 * Loading the out-of-tree modules of --module in a booted guest, before its first test: the
 * shell command kt runs over ssh, the parser of its output, and the typed error a failed or
 * crashing load becomes. guest/init copied the .ko files to GUEST_EXTRA_MODULES_DIR. Pure.
 */
import { HostError } from '../errors.js';
import { detectCrashes } from '../crash/detector.js';
import { shellQuote } from '../util/shell.js';

/** Where the out-of-tree modules are in the running guest (a tmpfs; guest/init copies them there from the extra archive). */
export const GUEST_EXTRA_MODULES_DIR = '/run/kt/modules';

/** The list guest/init copies from the extra archive: "<name> <file>" per line, in --module order. */
export const GUEST_EXTRA_MODULES_LIST = '/run/kt/modules.list';

/** Written to the kernel log before each insmod: marks the dmesg lines of a load and names the module in a crash's console. */
export function loadMarker(name: string): string {
  return `kt: loading module ${name}`;
}

/**
 * One script that loads the guest's --module files (GUEST_EXTRA_MODULES_LIST) in order and
 * stops at the first failure; without a list it does nothing. Each module's in-tree
 * dependencies (modinfo depends=) are modprobed first from the staged module tree.
 * Output lines (stdout): "@@KT-MODULE loading|ok|present <name> <file>",
 * "@@KT-MODULE failed <name> <file> <status>" followed by "@@KT-OUT <insmod output>" and
 * "@@KT-DMESG <kernel log since the marker>" lines, and "@@KT-MODULE done" at the end.
 */
export function renderModuleLoad(): string {
  return [
    'set -u',
    `dir=${shellQuote(GUEST_EXTRA_MODULES_DIR)}`,
    `list=${shellQuote(GUEST_EXTRA_MODULES_LIST)}`,
    'if [ -r "$list" ]; then',
    '  while read -r name file; do',
    '    [ -n "$file" ] || continue',
    '    f=$dir/$file',
    // Loaded already (a reused VM): insmod would fail with "File exists".
    '    if [ -d "/sys/module/$name" ]; then echo "@@KT-MODULE present $name $file"; continue; fi',
    '    echo "@@KT-MODULE loading $name $file"',
    // The marker goes to the kernel log (and the console): a panic during the insmod follows it.
    `    echo "${loadMarker('$name')}" >/dev/kmsg`,
    '    deps=$(modinfo -F depends "$f" 2>/dev/null | tr , " ")',
    '    if [ -n "$deps" ]; then modprobe -a $deps >/dev/null 2>&1; fi',
    '    if out=$(insmod "$f" 2>&1); then echo "@@KT-MODULE ok $name $file"; else',
    '      st=$?',
    '      echo "@@KT-MODULE failed $name $file $st"',
    `      printf '%s\\n' "$out" | sed 's/^/@@KT-OUT /'`,
    `      dmesg | awk -v m="${loadMarker('$name')}" 'found { print "@@KT-DMESG " $0 } substr($0, length($0) - length(m) + 1) == m { found = 1 }' | tail -n 60`,
    '      exit 1',
    '    fi',
    '  done <"$list"',
    'fi',
    'echo "@@KT-MODULE done"',
  ].join('\n');
}

export interface ModuleLoadOutcome {
  /** Modules loaded now or found already loaded. */
  loaded: string[];
  /** The module being loaded when the output ended (crash or lost connection). */
  inProgress?: { name: string; file: string };
  failed?: { name: string; file: string; status: number; output: string[]; dmesg: string[] };
  /** The script printed its last line. */
  done: boolean;
}

/** Parses renderModuleLoad's stdout. */
export function parseModuleLoadOutput(stdout: string): ModuleLoadOutcome {
  const outcome: ModuleLoadOutcome = { loaded: [], done: false };
  let inProgress: { name: string; file: string } | undefined;
  for (const line of stdout.split('\n')) {
    if (line === '@@KT-MODULE done') {
      outcome.done = true;
      continue;
    }
    const m = /^@@KT-MODULE (loading|ok|present|failed) (\S+) (\S+)(?: (\d+))?$/.exec(line);
    if (m) {
      const [, what, name, file] = m as unknown as [string, string, string, string, string | undefined];
      if (what === 'loading') inProgress = { name, file };
      else if (what === 'failed') {
        outcome.failed = { name, file, status: Number(m[4] ?? 1), output: [], dmesg: [] };
        inProgress = undefined;
      } else {
        outcome.loaded.push(name);
        inProgress = undefined;
      }
      continue;
    }
    if (line.startsWith('@@KT-OUT ')) outcome.failed?.output.push(line.slice(9));
    else if (line.startsWith('@@KT-DMESG ')) outcome.failed?.dmesg.push(line.slice(11));
  }
  if (inProgress) outcome.inProgress = inProgress;
  return outcome;
}

/** Reports of a kernel that is stuck, not dead (src/crash/patterns.ts CrashType). */
const STALL_TYPES: ReadonlySet<string> = new Set(['hungtask', 'softlockup', 'rcustall', 'hardlockup']);

/** Every failure code starts with E_GUEST_SETUP: the runner treats those as the user's to fix and does not retry. */
export const MODULE_LOAD_FAILED = 'E_GUEST_SETUP_MODULE_LOAD';
export const MODULE_LOAD_CRASHED = 'E_GUEST_SETUP_MODULE_CRASH';
export const MODULE_LOAD_HUNG = 'E_GUEST_SETUP_MODULE_HANG';
/** Not E_GUEST_SETUP: the runner boots another VM for it (a lost VM, src/runner/supply.ts). */
export const MODULE_LOAD_LOST = 'E_GUEST_LOST';

/** A module that failed to load or crashed the kernel while loading. */
export class ModuleLoadError extends HostError {
  constructor(
    code: typeof MODULE_LOAD_FAILED | typeof MODULE_LOAD_CRASHED | typeof MODULE_LOAD_HUNG | typeof MODULE_LOAD_LOST,
    message: string,
    hint: string,
    /** The module's name. */
    readonly module: string,
    /** For a crash: the console report's title and excerpt. */
    readonly crash?: { title: string; type: string; excerpt: string },
  ) {
    super(code, message, hint);
  }
}

export interface ModuleLoadResult {
  /** Exit status of the script; null when the channel closed without one (the guest died). */
  exitCode: number | null;
  stdout: string;
  /** The VM's console since the load started (or its tail). */
  console: string;
  machine: string;
  /**
   * How the command ended when it returned no status: it ran past its deadline with the channel
   * still up, or the channel dropped; with QEMU's exit status when QEMU had exited by then.
   * Absent: not known (the load is judged as a crash, as before).
   */
  ended?:
    | { kind: 'timeout'; afterMs: number }
    | {
        kind: 'lost';
        qemuExitCode?: number | undefined;
        qemuExited: boolean;
        /** The channel dropped as ssh's keepalives went unanswered (QEMU still running): the guest wedged. */
        keepaliveLost?: boolean;
      };
}

/**
 * Undefined when every module loaded; otherwise the typed error: a load that failed (with the
 * insmod output and the module's kernel log lines), or a kernel crash during a load (titled
 * by kt's crash detector from the console after the module's marker).
 */
export function moduleLoadError(r: ModuleLoadResult): ModuleLoadError | undefined {
  const out = parseModuleLoadOutput(r.stdout);
  if (out.done && r.exitCode === 0) return undefined;
  if (out.failed) {
    const { name, file, output, dmesg } = out.failed;
    const body = [...output.map((l) => `  ${l}`), ...(dmesg.length ? ['  kernel log:', ...dmesg.map((l) => `    ${l}`)] : [])];
    return new ModuleLoadError(
      MODULE_LOAD_FAILED,
      `module ${name} (${file}) failed to load in ${r.machine}:\n${body.join('\n')}`,
      'a module must be built against the very kernel kt boots (same tree, same config): make -C <tree> M=<module dir> modules',
      name,
    );
  }
  // No failure line: the guest stopped answering mid-load. The console says why.
  const suspect = out.inProgress ?? /kt: loading module (\S+)\s*$/m.exec(lastMarkerLine(r.console))?.slice(1).map((name) => ({ name, file: `${name}.ko` }))[0];
  const name = suspect?.name ?? 'unknown';
  const file = suspect?.file ?? '?';
  const at = suspect ? r.console.lastIndexOf(loadMarker(suspect.name)) : -1;
  const consoleSinceLoad = at >= 0 ? r.console.slice(at) : r.console;
  const reports = detectCrashes(consoleSinceLoad);
  const stall = reports.find((c) => !c.fatal && STALL_TYPES.has(c.type));
  // A load that never returned, with the kernel reporting a stall and nothing fatal (insmod
  // blocked in the module's init: "INFO: task insmod:… blocked for more than 120 seconds"), or a
  // channel that timed out: the module hangs. A fatal report is its crash.
  const pvpanic = r.ended?.kind === 'lost' && r.ended.qemuExited && r.ended.qemuExitCode === 1;
  const silentEnd = r.ended?.kind === 'timeout' || (r.ended?.kind === 'lost' && r.ended.keepaliveLost === true);
  // A pvpanic exit is a panic, its report cut short or not: never a hang.
  if (r.exitCode === null && !pvpanic && !reports.some((c) => c.fatal) && (stall || (silentEnd && reports.length > 0))) {
    const why = (stall ?? reports[0])!;
    return new ModuleLoadError(
      MODULE_LOAD_HUNG,
      `module ${name} (${file}) hung while loading in ${r.machine}: ${why.title}`,
      "its init function may be waiting forever; the whole report is in the VM's console log in the run directory",
      name,
      { title: why.title, type: why.type, excerpt: why.excerpt },
    );
  }
  const report = reports.find((c) => c.fatal) ?? reports[0];
  if (report) {
    return new ModuleLoadError(
      MODULE_LOAD_CRASHED,
      `module ${name} (${file}) crashed the kernel while loading in ${r.machine}: ${report.title}`,
      "the whole report is in the VM's console log in the run directory; fix the module's init function",
      name,
      { title: report.title, type: report.type, excerpt: report.excerpt },
    );
  }
  const tail = r.console.split(/\r?\n/).slice(-20).join('\n');
  if (r.exitCode === null && r.ended?.kind === 'timeout') {
    // The channel is up and the kernel reported nothing: insmod is stuck in the module's init
    // (or a dependency's). The same on every VM: the user's to fix.
    return new ModuleLoadError(
      MODULE_LOAD_HUNG,
      `module ${name} (${file}) did not finish loading within ${Math.round(r.ended.afterMs / 1000)} s in ${r.machine}, and the kernel reported nothing; console:\n${tail}`,
      "its init function may be waiting forever; `kt shell` boots the same VM to look (cat /proc/$(pgrep insmod)/stack)",
      name,
    );
  }
  if (r.exitCode === null && r.ended?.kind === 'lost' && r.ended.keepaliveLost) {
    // QEMU runs on, and the guest stopped answering ssh's keepalives for as long as ssh waits:
    // a guest wedged in the load, silently (no hung-task detector, or not yet). The module's.
    return new ModuleLoadError(
      MODULE_LOAD_HUNG,
      `${r.machine} stopped answering while loading module ${name} (${file}), and the kernel reported nothing: the load hangs the guest; console:\n${tail}`,
      "its init function may be waiting forever with interrupts off, or spinning; see the VM's console log in the run directory",
      name,
    );
  }
  if (r.exitCode === null && r.ended?.kind === 'lost' && !(r.ended.qemuExited && r.ended.qemuExitCode === 1)) {
    // The channel dropped with no kernel report and no pvpanic exit (QEMU's exit-failure on a
    // panic): nothing says the module did it. Another VM may fare better; a module that does it
    // every time ends the run after kt's boot-failure limit, with this message.
    return new ModuleLoadError(
      MODULE_LOAD_LOST,
      `${r.machine}'s connection dropped while loading module ${name} (${file}), with no kernel report on its console${r.ended.qemuExited ? ` (qemu exited${r.ended.qemuExitCode !== undefined ? ` ${r.ended.qemuExitCode}` : ''})` : ''}; console:\n${tail}`,
      "see the VM's console log in the run directory",
      name,
    );
  }
  return new ModuleLoadError(
    MODULE_LOAD_CRASHED,
    `${r.machine} stopped answering while loading module ${name} (${file})${r.exitCode !== null ? ` (exit ${r.exitCode})` : ''}; console:\n${tail}`,
    "see the VM's console log in the run directory",
    name,
  );
}

function lastMarkerLine(console: string): string {
  const lines = console.split(/\r?\n/).filter((l) => l.includes('kt: loading module '));
  return lines[lines.length - 1] ?? '';
}
