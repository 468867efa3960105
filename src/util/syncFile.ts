/**
 * fsync(2) of a file or a directory by path: what is written is on the disk before a rename or a
 * manifest names it, so a host crash cannot leave a name over unwritten data.
 */
import fs from 'node:fs/promises';

export async function syncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
