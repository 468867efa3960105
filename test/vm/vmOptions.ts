/** The options of one VM that the VM layer's golden tests start from. */
import type { VmOptions } from '../../src/vm/spec.js';

/** The run's side of one VM, the same for both backends (direct and NixOS). */
export const baseRunFields = {
  runId: '20261122-010203-ab12',
  index: 1,
  accel: 'tcg',
  extraCmdline: [],
  baseDir: '/tmp/kt-x',
  sshKeyBlob: 'AAAAC3NzaC1lZDI1NTE5AAAAIKtKeyBlob',
  transport: 'virtio-serial',
  hungTaskTimeoutSec: 0,
  vmcore: false,
} satisfies Partial<VmOptions>;

export const baseVmOptions: VmOptions = {
  ...baseRunFields,
  cpus: 2,
  memoryMiB: 2048,
  kernel: '/cache/kt/images/h/vmlinuz',
  initramfs: '/cache/kt/images/h/initramfs.cpio.gz',
  rootImage: '/cache/kt/images/h/root.img',
  fstestsImage: '/cache/kt/fstests/f.img',
  testSizeBytes: 5 * 2 ** 30,
  scratchSizeBytes: 5 * 2 ** 30,
};
