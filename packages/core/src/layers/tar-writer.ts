import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { KitError } from '../errors.js';
import { encodeTarHeader, padding, TAR_TRAILER, type TarEntryType } from './tar-header.js';

/** One thing to put in a layer: its name inside the archive and where its bytes come from. */
export interface TarSourceEntry {
  name: string;
  absPath: string;
  type: TarEntryType;
  mode: number;
  size: number;
}

/** Big reads keep the hash and the disk busy rather than the event loop. */
export const READ_CHUNK = 4 << 20;

/**
 * A deterministic tar archive of `entries`, streamed from disk: headers as Go writes them and file
 * bodies read in large chunks, so nothing a model's size is held in memory. A file that changes
 * size while it is being packed is an error rather than a silently corrupt layer.
 */
export function createTarStream(entries: Iterable<TarSourceEntry>): Readable {
  return Readable.from(tarChunks(entries), { objectMode: false, highWaterMark: READ_CHUNK * 2 });
}

export async function* tarChunks(entries: Iterable<TarSourceEntry>): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield encodeTarHeader(entry);
    if (entry.type !== 'file') continue;
    yield* fileChunks(entry.absPath, entry.size);
    const pad = padding(entry.size);
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield TAR_TRAILER;
}

/** Bytes `start` to `size` of a file, in READ_CHUNK pieces; refuses files that grew or shrank. */
export async function* fileChunks(path: string, size: number, start = 0): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  try {
    let position = start;
    while (position < size) {
      const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - position));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) throw changedWhilePacking(path, size);
      position += bytesRead;
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
    if ((await handle.stat()).size !== size) throw changedWhilePacking(path, size);
  } finally {
    await handle.close();
  }
}

function changedWhilePacking(path: string, size: number): KitError {
  return new KitError('IO', `${path} changed size while it was being packed (expected ${size} bytes): pack again once nothing writes to it`);
}
