/** The `nixos` backend (docs/architecture.md): a NixOS VM built from nix/, started by its run script. */
export { resolveNixosVmSpec, sanitizeShellIdent, kernelEnvVar, systemNameFromRunScript } from './spec.js';
export type { NixosVmOptions, NixosVmSpec } from './spec.js';
export {
  renderNixosRunEnv,
  renderNixosQemuOpts,
  renderNixosKernelParams,
  renderNixosNetOpts,
  renderNixosArgv,
  renderNixosDryRun,
  NIXOS_ROOT_IMAGE,
} from './runEnv.js';
export { locateRunScript, type LocatedRunScript } from './runScript.js';
export { NixosMachine, NIXOS_BOOT_FAILURES, prepareNixosHost, type NixosMachineOptions } from './nixosMachine.js';
export { ConsoleBootedMachine, type ConsoleBootedMachineOptions, type BootFailureMarker } from '../bootedMachine.js';
