import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { meminfoMiB, openFilesSoftLimit } from '../../src/cli/hostFacts.js';
import { resolveRunSize, type HostFacts, type SizeRequest } from '../../src/config/runSize.js';

// Read on kt's build host (Debian 12, 2 cores, 24 GiB): /proc/meminfo and /proc/self/limits.
const meminfo = fs.readFileSync(new URL('./fixtures/proc-meminfo.txt', import.meta.url), 'utf8');
const limits = fs.readFileSync(new URL('./fixtures/proc-self-limits.txt', import.meta.url), 'utf8');

const GiB = 1024 ** 3;
const host: HostFacts = { cores: 2, memAvailableMiB: 21688, openFilesLimit: 20000, maxMapCount: 65530, tmpFreeBytes: 71 * GiB, tmpDir: '/tmp' };
const req: SizeRequest = { jobs: undefined, cpus: undefined, spares: undefined, memoryMiB: 2048, accel: 'tcg', diskBytesPerVm: 10 * GiB };

function usageError(f: () => unknown): UsageError {
  try {
    f();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('host facts', () => {
  it('reads MemAvailable and the open-file limit of real /proc files', () => {
    expect(meminfoMiB(meminfo, 'MemAvailable')).toBe(21689);
    expect(meminfoMiB(meminfo, 'NoSuchField')).toBeUndefined();
    expect(openFilesSoftLimit(limits)).toBe(20000);
    expect(openFilesSoftLimit('Max open files            unlimited            unlimited            files')).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('resolveRunSize', () => {
  it('keeps one VM of 2 vCPUs and no spare by default', () => {
    expect(resolveRunSize(req, host)).toEqual({ jobs: 1, cpus: 2, spares: 0, notes: [], warnings: [] });
  });

  it('gives each VM one vCPU under TCG when there are as many VMs as cores, unless --cpus was given', () => {
    const s = resolveRunSize({ ...req, jobs: 2 }, host);
    expect(s).toMatchObject({ jobs: 2, cpus: 1, spares: 1 });
    expect(s.notes).toEqual(['--cpus 1: 2 VMs on 2 core(s) under TCG (each vCPU is a host thread)']);
    expect(resolveRunSize({ ...req, jobs: 2, cpus: 2 }, host)).toMatchObject({ cpus: 2, notes: [] });
    expect(resolveRunSize({ ...req, jobs: 2, accel: 'kvm' }, host)).toMatchObject({ cpus: 2 });
  });

  it('-j auto: a VM per core of 1 vCPU under TCG, per 2 cores under KVM, bounded by memory', () => {
    expect(resolveRunSize({ ...req, jobs: 'auto' }, host)).toMatchObject({ jobs: 2, cpus: 1, spares: 1 });
    expect(resolveRunSize({ ...req, jobs: 'auto', accel: 'kvm' }, { ...host, cores: 64, memAvailableMiB: 1 << 20 })).toMatchObject({ jobs: 32, cpus: 2, spares: 1 });
    // 64 cores, 21688 MiB: (21688 - 512) / (2048 + 256) = 9 VMs, one of them the spare.
    const s = resolveRunSize({ ...req, jobs: 'auto' }, { ...host, cores: 64 });
    expect(s).toMatchObject({ jobs: 8, cpus: 1, spares: 1 });
    expect(s.notes[0]).toBe('-j auto: 8 VM(s) of 1 vCPU(s): 64 core(s) / 1, bounded by memory (21688 MiB available, 2304 MiB per VM with QEMU, 1 spare)');
  });

  it('stops a run that does not fit in memory, naming the need, the limit and a -j that fits', () => {
    const err = usageError(() => resolveRunSize({ ...req, jobs: 64 }, { ...host, cores: 64 }));
    expect(err.code).toBe('E_HOST_MEMORY');
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(
      '-j 64 and 1 spare(s) × --memory 2048 need 150272 MiB (65 VM(s) × (2048 MiB guest + 256 MiB QEMU) + 512 MiB for the host), but only 21688 MiB are available (MemAvailable in /proc/meminfo)',
    );
    expect(err.hint).toBe('use -j 8 or fewer, a smaller --memory, --spares 0, or -j auto');
    // Not even one VM fits.
    expect(usageError(() => resolveRunSize({ ...req, memoryMiB: 65536 }, host)).hint).toBe(
      'use a smaller --memory (each VM needs 65792 MiB with QEMU), or free memory on this host',
    );
  });

  it('stops at an open-file limit too low for the VMs, saying how to raise it', () => {
    const err = usageError(() => resolveRunSize({ ...req, jobs: 64, memoryMiB: 256 }, { ...host, cores: 64, memAvailableMiB: 1 << 20, openFilesLimit: 1024 }));
    expect(err.code).toBe('E_HOST_OPEN_FILES');
    expect(err.message).toBe('-j 64 and 1 spare(s) need about 1104 open files (16 per VM in kt, 256 in each QEMU), but the open-file limit is 1024 (RLIMIT_NOFILE)');
    expect(err.hint).toContain('ulimit -n 4096');
    expect(() => resolveRunSize({ ...req, jobs: 8 }, { ...host, cores: 8, openFilesLimit: 1024 })).not.toThrow();
  });

  it('stops when vm.max_map_count is below what one QEMU maps', () => {
    const err = usageError(() => resolveRunSize(req, { ...host, maxMapCount: 512 }));
    expect(err.code).toBe('E_HOST_MAX_MAP_COUNT');
    expect(err.message).toBe('each QEMU with --cpus 2 holds about 616 memory maps, but vm.max_map_count is 512');
    expect(err.hint).toContain('sysctl -w vm.max_map_count=65530');
  });

  it('stops with less than 1 GiB free per VM in TMPDIR and warns when the sparse disks could outgrow it', () => {
    const err = usageError(() => resolveRunSize({ ...req, jobs: 4 }, { ...host, cores: 4, tmpFreeBytes: 3 * GiB, tmpDir: '/scratch/tmp' }));
    expect(err.code).toBe('E_HOST_TMP_SPACE');
    expect(err.message).toBe('-j 4 and 1 spare(s) put their sparse TEST/SCRATCH images in /scratch/tmp, which has 3.0 GiB free: less than 1.0 GiB per VM');
    expect(err.hint).toContain('TMPDIR=');
    const s = resolveRunSize({ ...req, jobs: 4 }, { ...host, cores: 4, tmpFreeBytes: 20 * GiB });
    expect(s.warnings).toHaveLength(1);
    expect(s.warnings[0]).toMatch(/^\/tmp has 20\.0 GiB free; the sparse disks of 5 VM\(s\) may grow to 50\.0 GiB/);
  });

  it('skips the checks whose facts are unknown', () => {
    const { maxMapCount: _m, tmpFreeBytes: _t, ...bare } = host;
    expect(resolveRunSize({ ...req, jobs: 2 }, bare)).toMatchObject({ jobs: 2, warnings: [] });
  });
});
