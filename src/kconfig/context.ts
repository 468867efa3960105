/**
 * The KconfigContext from command-line words, with the same errors as `kt run`'s flags. Pure.
 */
import { UsageError } from '../errors.js';
import type { KconfigContext, SuiteInfo } from './requirements.js';

export interface ContextArgs {
  backend?: string;
  rootfs?: string;
  transport?: string;
  suite: SuiteInfo;
  modulesStaged: boolean;
  extraModules?: boolean;
}

export function kconfigContext(args: ContextArgs): KconfigContext {
  const backend = args.backend ?? 'direct';
  if (backend !== 'direct' && backend !== 'nixos') {
    throw new UsageError('E_BAD_BACKEND', `--backend ${backend} is not one of direct, nixos`, "use --backend direct (kt's Debian image) or --backend nixos");
  }
  const rootfs = args.rootfs ?? 'image';
  if (rootfs !== 'image' && rootfs !== 'virtiofs') {
    throw new UsageError('E_KCONFIG_BAD_ROOTFS', `--rootfs ${rootfs} is not one of image, virtiofs`, "use --rootfs image (kt's root image, default) or --rootfs virtiofs (imageless boot)");
  }
  const transport = args.transport ?? 'virtio-serial';
  if (transport !== 'virtio-serial' && transport !== 'tcp') {
    throw new UsageError('E_BAD_TRANSPORT', `--transport ${transport} is not one of virtio-serial, tcp`, 'use --transport virtio-serial (default, no guest network)');
  }
  return {
    backend,
    rootfs,
    transport,
    suite: args.suite,
    // A NixOS guest loads the modules of its own kernel only.
    modulesStaged: backend === 'direct' && args.modulesStaged,
    extraModules: args.extraModules ?? false,
  };
}
