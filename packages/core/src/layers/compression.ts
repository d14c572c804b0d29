import { createGunzip, createGzip, constants as zlibConstants } from 'node:zlib';
import { Readable, type Transform } from 'node:stream';
import { CompressStream, DecompressStream } from 'zstd-napi';
import { KitError } from '../errors.js';
import type { Compression } from '../modelkit/mediatypes.js';

export const COMPRESSIONS: readonly Compression[] = ['none', 'gzip', 'gzip-fastest', 'zstd'];

const CHUNK = 1 << 20;

/** A compressing transform, or undefined for 'none'. Levels follow KitOps: gzip = default, gzip-fastest = best speed. */
export function createCompressor(compression: Compression): Transform | undefined {
  switch (compression) {
    case 'none':
      return undefined;
    case 'gzip':
      return createGzip({ level: zlibConstants.Z_DEFAULT_COMPRESSION, chunkSize: CHUNK });
    case 'gzip-fastest':
      return createGzip({ level: zlibConstants.Z_BEST_SPEED, chunkSize: CHUNK });
    case 'zstd':
      return new CompressStream();
    default:
      throw new KitError('INVALID_ARGUMENT', `unknown compression "${String(compression)}": use one of ${COMPRESSIONS.join(', ')}`);
  }
}

/** A decompressing transform for a layer's compression suffix, or undefined when stored plain. */
export function createDecompressor(compression: 'none' | 'gzip' | 'zstd'): Transform | undefined {
  if (compression === 'gzip') return createGunzip({ chunkSize: CHUNK });
  if (compression === 'zstd') return new DecompressStream();
  return undefined;
}

/**
 * A layer's stored bytes as its uncompressed stream. An error in the stored stream (a digest
 * mismatch found at its end) is passed on to the reader, which `pipe` alone would not do.
 */
export function decompressedChunks(stored: AsyncIterable<Buffer>, compression: 'none' | 'gzip' | 'zstd'): AsyncIterable<Buffer> {
  const decompressor = createDecompressor(compression);
  if (!decompressor) return stored;
  const source = Readable.from(stored, { objectMode: false });
  source.once('error', (e) => decompressor.destroy(e));
  return source.pipe(decompressor);
}

export function parseCompression(value: string): Compression {
  if ((COMPRESSIONS as readonly string[]).includes(value)) return value as Compression;
  throw new KitError('INVALID_ARGUMENT', `unknown compression "${value}": use one of ${COMPRESSIONS.join(', ')}`);
}
