import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';

const MiB = 1 << 20;

/** Write `size` bytes of incompressible data, fast: one random 64 MiB block, stamped so no two blocks are alike. */
export async function writeRandomFile(path, size) {
  const bytes = Math.floor(size);
  const block = randomBytes(64 * MiB);
  const handle = await open(path, 'w');
  for (let written = 0; written < bytes; written += block.length) {
    block.writeUInt32LE(written / MiB, 0);
    await handle.write(block, 0, Math.min(block.length, bytes - written));
  }
  await handle.close();
}
