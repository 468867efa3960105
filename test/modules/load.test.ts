// The --module load step as the guest prints it. The consoles are real: kt_panic.log and
// kt-fail-load.txt come from test kernels kt built (test/e2e/kernel-tree.test.ts, fixtures/README.md).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MODULE_LOAD_CRASHED, MODULE_LOAD_FAILED, MODULE_LOAD_HUNG, MODULE_LOAD_LOST, ModuleLoadError, moduleLoadError, parseModuleLoadOutput, renderModuleLoad } from '../../src/modules/load.js';

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('renderModuleLoad', () => {
  it('is a valid shell script that reads the list guest/init copied', () => {
    const script = renderModuleLoad();
    // dash: root's login shell in kt's image (guest/mmdebstrap/customize-hook.sh); bash: a NixOS guest's.
    for (const shell of ['dash', 'bash']) execFileSync(shell, ['-n'], { input: script });
    expect(script).toContain("list=/run/kt/modules.list");
    expect(script).toContain('insmod "$f"');
  });

  it('prints only "done" in a guest without --module files', () => {
    // The script only touches the guest's paths; with no list it does nothing else.
    for (const shell of ['dash', 'bash']) {
      const out = execFileSync(shell, ['-c', renderModuleLoad().replace('/run/kt/modules.list', '/nonexistent/kt-list')], { encoding: 'utf8' });
      expect(out).toBe('@@KT-MODULE done\n');
      expect(moduleLoadError({ exitCode: 0, stdout: out, console: '', machine: 'vm1' })).toBeUndefined();
    }
  });
});

describe('moduleLoadError', () => {
  it('is undefined when every module loaded', () => {
    const stdout = '@@KT-MODULE loading kt_hello kt_hello.ko\n@@KT-MODULE ok kt_hello kt_hello.ko\n@@KT-MODULE done\n';
    expect(parseModuleLoadOutput(stdout).loaded).toEqual(['kt_hello']);
    expect(moduleLoadError({ exitCode: 0, stdout, console: '', machine: 'vm1' })).toBeUndefined();
  });

  it('names a module that failed to load, with the insmod message and its kernel log lines', () => {
    const stdout = fixture('kt-fail-load.txt');
    const err = moduleLoadError({ exitCode: 1, stdout, console: '', machine: 'vm1' });
    expect(err).toBeInstanceOf(ModuleLoadError);
    expect(err!.code).toBe(MODULE_LOAD_FAILED);
    expect(err!.module).toBe('kt_fail');
    expect(err!.message).toMatch(/^module kt_fail \(kt_fail\.ko\) failed to load in vm1:\n/);
    expect(err!.message).toContain('insmod: ERROR: could not insert module /run/kt/modules/kt_fail.ko: No such device');
    expect(err!.message).toContain('kt_fail: refusing to load: no such device');
    // The runner treats E_GUEST_SETUP* as the user's to fix: no retry on another VM.
    expect(err!.code.startsWith('E_GUEST_SETUP')).toBe(true);
  });

  it('turns a panic during the load into a crash of that module, titled from the console', () => {
    const console = fixture('kt-panic-console.log');
    const stdout = '@@KT-MODULE loading kt_panic kt_panic.ko\n';
    const err = moduleLoadError({ exitCode: null, stdout, console, machine: 'vm2' });
    expect(err!.code).toBe(MODULE_LOAD_CRASHED);
    expect(err!.module).toBe('kt_panic');
    expect(err!.crash?.type).toBe('panic');
    expect(err!.message).toBe(`module kt_panic (kt_panic.ko) crashed the kernel while loading in vm2: ${err!.crash!.title}`);
    expect(err!.crash!.title).toContain('kt_panic: panic at load, as asked');
  });

  it('finds the module from the console marker when stdout was lost with the connection', () => {
    const console = fixture('kt-panic-console.log');
    const err = moduleLoadError({ exitCode: null, stdout: '', console, machine: 'vm2' });
    expect(err!.code).toBe(MODULE_LOAD_CRASHED);
    expect(err!.module).toBe('kt_panic');
  });
});

describe('moduleLoadError when the load returned no status', () => {
  const stdout = '@@KT-MODULE loading kt_slow kt_slow.ko\n';
  // The console of a VM whose load went quiet: the marker, and no kernel report after it.
  const quiet = '[    5.100000] kt: loading module kt_slow\n';

  it('is a hang of that module (the user\'s to fix) when the deadline passed with the channel up', () => {
    const err = moduleLoadError({ exitCode: null, stdout, console: quiet, machine: 'vm1', ended: { kind: 'timeout', afterMs: 300_000 } });
    expect(err?.code).toBe(MODULE_LOAD_HUNG);
    expect(err?.module).toBe('kt_slow');
    expect(err?.message).toMatch(/^module kt_slow \(kt_slow\.ko\) did not finish loading within 300 s in vm1, and the kernel reported nothing; console:\n/);
    expect(err?.code.startsWith('E_GUEST_SETUP')).toBe(true);
  });

  it('is a lost VM, not the module\'s crash, when the channel dropped with no kernel report', () => {
    const err = moduleLoadError({ exitCode: null, stdout, console: quiet, machine: 'vm1', ended: { kind: 'lost', qemuExited: false } });
    expect(err?.code).toBe(MODULE_LOAD_LOST);
    expect(err?.message).toMatch(/^vm1's connection dropped while loading module kt_slow \(kt_slow\.ko\), with no kernel report on its console; console:\n/);
    // Not E_GUEST_SETUP: the runner boots another VM (src/runner/supply.ts isFatalBootError).
    expect(err?.code.startsWith('E_GUEST_SETUP')).toBe(false);
  });

  it('stays the module\'s crash when QEMU exited through pvpanic, or the console has the report', () => {
    const pvpanic = moduleLoadError({ exitCode: null, stdout, console: quiet, machine: 'vm1', ended: { kind: 'lost', qemuExited: true, qemuExitCode: 1 } });
    expect(pvpanic?.code).toBe(MODULE_LOAD_CRASHED);
    const console = fixture('kt-panic-console.log');
    const reported = moduleLoadError({ exitCode: null, stdout: '', console, machine: 'vm2', ended: { kind: 'lost', qemuExited: false } });
    expect(reported?.code).toBe(MODULE_LOAD_CRASHED);
    expect(reported?.module).toBe('kt_panic');
  });
});

describe('moduleLoadError for a module whose init blocks', () => {
  const stdout = '@@KT-MODULE loading kt_block kt_block.ko\n';
  // kernel/hung_task.c check_hung_task: what the kernel prints for an insmod stuck in D state.
  const blocked = [
    '[    5.100000] kt: loading module kt_block',
    '[  125.500000] INFO: task insmod:211 blocked for more than 120 seconds.',
    '[  125.500100]       Not tainted 6.1.0-56-cloud-amd64 #1 Debian 6.1.192-2',
    '[  125.500200] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
    '[  125.500300] task:insmod          state:D stack:0     pid:211   ppid:200    flags:0x00004000',
    '[  125.500400] Call Trace:',
    '[  125.500500]  <TASK>',
    '[  125.500600]  __schedule+0x34d/0x9e0',
    '[  125.500700]  schedule+0x5a/0xd0',
    '[  125.500800]  kt_block_init+0x1d/0x1000 [kt_block]',
    '[  125.500900]  do_one_initcall+0x59/0x230',
    '[  125.501000]  do_init_module+0x4a/0x210',
    '[  125.501100]  __do_sys_finit_module+0x93/0xf0',
    '[  125.501200]  do_syscall_64+0x58/0xc0',
    '[  125.501300]  entry_SYSCALL_64_after_hwframe+0x64/0xce',
    '[  125.501400]  </TASK>',
    '',
  ].join('\n');

  it('is a hang of that module, titled by the hung-task report, not a crash', () => {
    for (const ended of [{ kind: 'timeout', afterMs: 300_000 } as const, { kind: 'lost', qemuExited: false } as const]) {
      const err = moduleLoadError({ exitCode: null, stdout, console: blocked, machine: 'vm1', ended });
      expect(err?.code).toBe(MODULE_LOAD_HUNG);
      expect(err?.crash?.type).toBe('hungtask');
      expect(err?.message).toMatch(/^module kt_block \(kt_block\.ko\) hung while loading in vm1: INFO: task hung in /);
    }
  });

  it('a pvpanic exit after a stall report is a crash; a WARNING and then keepalives unanswered is a hang', () => {
    const pvpanic = moduleLoadError({ exitCode: null, stdout, console: blocked, machine: 'vm1', ended: { kind: 'lost', qemuExited: true, qemuExitCode: 1 } });
    expect(pvpanic?.code).toBe(MODULE_LOAD_CRASHED);
    const warned = [
      '[    5.100000] kt: loading module kt_block',
      '[    5.200000] WARNING: CPU: 0 PID: 211 at kt_block.c:12 kt_block_init+0x1d/0x1000 [kt_block]',
      '[    5.200100] ---[ end trace 0000000000000000 ]---',
      '',
    ].join('\n');
    const wedged = moduleLoadError({ exitCode: null, stdout, console: warned, machine: 'vm1', ended: { kind: 'lost', qemuExited: false, keepaliveLost: true } });
    expect(wedged?.code).toBe(MODULE_LOAD_HUNG);
    expect(wedged?.message).toMatch(/^module kt_block \(kt_block\.ko\) hung while loading in vm1: WARNING/);
  });

  it('is a hang when the guest went silent and ssh gave up on its keepalives while QEMU ran on', () => {
    const err = moduleLoadError({ exitCode: null, stdout, console: '[    5.100000] kt: loading module kt_block\n', machine: 'vm1', ended: { kind: 'lost', qemuExited: false, keepaliveLost: true } });
    expect(err?.code).toBe(MODULE_LOAD_HUNG);
    expect(err?.message).toMatch(/^vm1 stopped answering while loading module kt_block \(kt_block\.ko\), and the kernel reported nothing: the load hangs the guest/);
  });
});
