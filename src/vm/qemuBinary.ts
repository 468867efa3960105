import { HostError } from '../errors.js';
import { findOnPath } from './image/hostTools.js';

/** The QEMU system emulator kt drives (x86_64 guests only, for now). */
export const QEMU_BINARY = 'qemu-system-x86_64';

/** Finds QEMU before anything is built or booted: a missing emulator is one clear error. */
export function requireQemu(pathEnv = process.env.PATH): string {
  const found = findOnPath(QEMU_BINARY, pathEnv, []);
  if (!found) {
    throw new HostError(
      'E_QEMU_MISSING',
      `${QEMU_BINARY} was not found on PATH (${pathEnv ?? 'unset'})`,
      'install QEMU (Debian/Ubuntu: apt-get install qemu-system-x86 qemu-utils), or add its directory to PATH',
    );
  }
  return found;
}
