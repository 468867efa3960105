import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classifyVirtiofsd, findVirtiofsd, virtiofsdCandidates } from '../../../src/vm/virtiofs/daemon.js';

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-vfsd-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('classifyVirtiofsd (output of the real binaries, test/vm/virtiofs/fixtures)', () => {
  it("recognises QEMU's C virtiofsd of Debian 12", () => {
    expect(classifyVirtiofsd(fixture('qemu-7.2-virtiofsd.help.txt'), fixture('qemu-7.2-virtiofsd.version.txt'))).toEqual({ flavour: 'qemu', version: '7.2.22' });
  });

  it('recognises the Rust virtiofsd of Debian 13', () => {
    expect(classifyVirtiofsd(fixture('rust-1.13.2-virtiofsd.help.txt'), fixture('rust-1.13.2-virtiofsd.version.txt'))).toEqual({ flavour: 'rust', version: '1.13.2' });
  });

  it("recognises QEMU's C virtiofsd run by an ordinary user, which prints only its setgroups failure", () => {
    const out = fixture('qemu-7.2-virtiofsd.help-unprivileged.txt');
    expect(classifyVirtiofsd(out, out)).toEqual({ flavour: 'qemu', version: 'unknown' });
  });

  it('recognises neither in the help of another program', () => {
    expect(classifyVirtiofsd(fs.readFileSync(new URL('./fixtures/README.md', import.meta.url), 'utf8'), '')).toBeUndefined();
    expect(classifyVirtiofsd('', '')).toBeUndefined();
  });
});

describe('virtiofsdCandidates', () => {
  it('tries PATH, then the distributions\' fixed places, each once', () => {
    expect(virtiofsdCandidates({ PATH: '/usr/local/bin:relative:/usr/libexec' })).toEqual([
      { path: '/usr/local/bin/virtiofsd', from: 'PATH' },
      { path: '/usr/libexec/virtiofsd', from: 'PATH' },
      { path: '/usr/lib/qemu/virtiofsd', from: '/usr/lib/qemu/virtiofsd' },
      { path: '/usr/lib/virtiofsd', from: '/usr/lib/virtiofsd' },
    ]);
  });

  it('tries only $KT_VIRTIOFSD when it is set', () => {
    expect(virtiofsdCandidates({ PATH: '/usr/bin', KT_VIRTIOFSD: '/opt/v/virtiofsd' })).toEqual([{ path: '/opt/v/virtiofsd', from: '$KT_VIRTIOFSD' }]);
  });
});

describe('findVirtiofsd', () => {
  const qemuDaemon = '/usr/lib/qemu/virtiofsd';
  it.skipIf(!fs.existsSync(qemuDaemon))("finds Debian 12's QEMU virtiofsd outside PATH and asks it what it is", async () => {
    const r = await findVirtiofsd({ PATH: '/usr/bin:/bin' });
    expect(r.found).toMatchObject({ path: qemuDaemon, flavour: 'qemu' });
    expect(r.found!.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('says why $KT_VIRTIOFSD is not usable: missing, not executable, not a virtiofsd', async () => {
    expect(await findVirtiofsd({ KT_VIRTIOFSD: path.join(tmp, 'nope') })).toEqual({ found: undefined, forced: true, tried: [`${path.join(tmp, 'nope')} ($KT_VIRTIOFSD): no such file`] });
    const plain = path.join(tmp, 'plain');
    fs.writeFileSync(plain, '#!/bin/sh\n', { mode: 0o644 });
    expect((await findVirtiofsd({ KT_VIRTIOFSD: plain })).tried).toEqual([`${plain} ($KT_VIRTIOFSD): not executable`]);
    // /bin/echo runs and prints its argument back: a program, but no virtiofsd.
    expect((await findVirtiofsd({ KT_VIRTIOFSD: '/bin/echo' })).tried).toEqual(["/bin/echo ($KT_VIRTIOFSD): its --help is neither QEMU's nor the Rust virtiofsd's"]);
  });

  it('reads the flavour from what the program prints (the Rust daemon\'s real output, replayed)', async () => {
    // No Rust virtiofsd is packaged for Debian 12: a script prints what Debian 13's binary
    // printed (fixtures/README.md), so the exec-and-read path is the one a real binary takes.
    const script = path.join(tmp, 'virtiofsd');
    const help = path.join(tmp, 'help.txt');
    const version = path.join(tmp, 'version.txt');
    fs.writeFileSync(help, fixture('rust-1.13.2-virtiofsd.help.txt'));
    fs.writeFileSync(version, fixture('rust-1.13.2-virtiofsd.version.txt'));
    fs.writeFileSync(script, `#!/bin/sh\ncase "$1" in --help) cat '${help}' ;; --version) cat '${version}' ;; *) exit 2 ;; esac\n`, { mode: 0o755 });
    expect(await findVirtiofsd({ PATH: tmp })).toEqual({ found: { path: script, flavour: 'rust', version: '1.13.2' }, tried: [] });
  });
});
