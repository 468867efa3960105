/** The options of one direct-backend VM that the VM layer's golden tests start from. */
import type { VmOptions } from '../../src/vm/spec.js';

export const baseVmOptions: VmOptions = {
  runId: '20261122-010203-ab12',
  index: 1,
  accel: 'tcg',
  cpus: 2,
  memoryMiB: 2048,
  kernel: '/cache/kt/images/h/vmlinuz',
  initramfs: '/cache/kt/images/h/initramfs.cpio.gz',
  rootImage: '/cache/kt/images/h/root.img',
  fstestsImage: '/cache/kt/fstests/f.img',
  testSizeBytes: 5 * 2 ** 30,
  scratchSizeBytes: 5 * 2 ** 30,
  extraCmdline: [],
  baseDir: '/tmp/kt-x',
  sshKeyBlob: 'AAAAC3NzaC1lZDI1NTE5AAAAIKtKeyBlob',
  transport: 'virtio-serial',
  hungTaskTimeoutSec: 0,
  vmcore: false,
};
