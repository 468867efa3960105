/**
 * kt run --rootfs virtiofs from the real CLI (dist/), without booting: --dry-run prints every
 * virtiofsd command line before QEMU's; a host that cannot boot over virtiofs stops an explicit
 * --rootfs virtiofs with exit 2, and turns kt.yaml's `rootfs: virtiofs` into a warning and the
 * image boot (docs/virtiofs.md).
 */
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findVirtiofsd } from '../../src/vm/virtiofs/daemon.js';
import { CLI_TIMEOUT_MS, kt } from './helpers.js';

let tmp: string;
let tree: string;
const lookup = await findVirtiofsd(process.env);
const isRoot = process.geteuid?.() === 0;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-cli-virtiofs-'));
  tree = path.join(tmp, 'fstests');
  fs.cpSync(new URL('../fixtures/fstests', import.meta.url).pathname, tree, { recursive: true });
  await execa('make', ['-s', '-C', tree]);
  fs.mkdirSync(path.join(tmp, 'data'));
}, 300_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const env = () => ({ KT_CACHE_DIR: path.join(tmp, 'cache') });

describe('kt run --rootfs virtiofs --dry-run', () => {
  it.skipIf(!lookup.found || !isRoot)('prints one virtiofsd per share, then QEMU with their sockets, and creates nothing', async () => {
    const r = await kt(['run', '--dry-run', '--rootfs', 'virtiofs', '--share', 'data:data:ro', '--fstests', tree, 'selftest/001'], { cwd: tmp, env: env() });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n').filter((l) => l.startsWith('kt: vm1: '));
    expect(lines).toHaveLength(4);
    const d = lookup.found!.path;
    expect(lines[0]).toMatch(new RegExp(`^kt: vm1: ${d} --socket-path=\\S+/vm1/virtiofs-kt-root\\.sock .*${path.join(tmp, 'cache')}/rootfs/[0-9a-f]{16}.* &$`));
    expect(lines[1]).toMatch(new RegExp(`^kt: vm1: ${d} --socket-path=\\S+/vm1/virtiofs-kt-fstests\\.sock .*${tree}.* &$`));
    expect(lines[2]).toMatch(new RegExp(`^kt: vm1: ${d} --socket-path=\\S+/vm1/virtiofs-data\\.sock .*${path.join(tmp, 'data')}.* &$`));
    expect(lines[3]).toMatch(/^kt: vm1: qemu-system-x86_64 -name kt-DRYRUN-vm1 -machine q35,memory-backend=mem /);
    expect(lines[3]).toContain('vhost-user-fs-pci,chardev=vfs2,tag=data');
    expect(lines[3]).toContain('kt.share=data:ro');
    expect(lines[3]).not.toContain('serial=kt-root');
    // Nothing unpacked, nothing packed.
    expect(fs.existsSync(path.join(tmp, 'cache', 'rootfs'))).toBe(false);
    expect(fs.existsSync(path.join(tmp, 'cache', 'fstests'))).toBe(false);
  }, CLI_TIMEOUT_MS);

  it('stops an explicit --rootfs virtiofs with exit 2 when $KT_VIRTIOFSD names no daemon', async () => {
    const r = await kt(['run', '--dry-run', '--rootfs', 'virtiofs', '--fstests', tree, 'selftest/001'], { cwd: tmp, env: { ...env(), KT_VIRTIOFSD: path.join(tmp, 'no-virtiofsd') } });
    expect(r.err).toBe(
      `kt: error E_VIRTIOFS_UNAVAILABLE: --rootfs virtiofs cannot be used on this host: $KT_VIRTIOFSD names no usable virtiofsd (${tmp}/no-virtiofsd ($KT_VIRTIOFSD): no such file)\n` +
        "  hint: point KT_VIRTIOFSD at a virtiofsd binary (QEMU's or the Rust one), or unset it to let kt look for one",
    );
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
  }, CLI_TIMEOUT_MS);

  it("warns and boots the image when kt.yaml's rootfs: virtiofs cannot be met", async () => {
    const dir = path.join(tmp, 'yaml');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'kt.yaml'), 'rootfs: virtiofs\n');
    const r = await kt(['run', '--dry-run', '--fstests', tree, 'selftest/001'], { cwd: dir, env: { ...env(), KT_VIRTIOFSD: '/bin/echo' } });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(
      new RegExp(
        `^kt: warning: ${dir}/kt\\.yaml: rootfs virtiofs cannot be used on this host: \\$KT_VIRTIOFSD names no usable virtiofsd \\(/bin/echo \\(\\$KT_VIRTIOFSD\\): its --help is neither QEMU's nor the Rust virtiofsd's\\); booting from the root image ${tmp}/cache/images/[0-9a-f]{16}/root\\.img instead \\(`,
      ),
    );
    const vm = r.out.split('\n').filter((l) => l.startsWith('kt: vm1: '));
    expect(vm).toHaveLength(1);
    expect(vm[0]).toContain('serial=kt-root');
    expect(vm[0]).not.toContain('vhost-user');
  }, CLI_TIMEOUT_MS);
});
