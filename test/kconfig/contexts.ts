/** The KconfigContext of a default `kt run` (xfs, kt's image, the virtio-serial channel), for the kconfig tests. */
import type { KconfigContext } from '../../src/kconfig/requirements.js';

export const XFS_IMAGE_CONTEXT: KconfigContext = {
  backend: 'direct',
  rootfs: 'image',
  transport: 'virtio-serial',
  suite: { name: 'xfs', sections: [{ name: 'xfs', fstyp: 'xfs', mkfsOptions: '', mountOptions: '', env: {} }] },
  modulesStaged: true,
  extraModules: false,
};
