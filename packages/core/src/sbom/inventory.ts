/**
 * The files inside a code, docs or prompt layer, read as a stream: each regular file's SHA-256 and
 * size, and the bytes of the dependency manifests among them (capped), without writing anything
 * to disk or holding more than one manifest's bytes in memory.
 */
import { createHash, type Hash } from 'node:crypto';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KitError } from '../errors.js';
import { createDecompressor } from '../layers/compression.js';
import { TarReader } from '../layers/tar-reader.js';
import { safeEntryName } from '../layers/tar-extract.js';
import type { ResolvedLayer } from '../modelkit/contents.js';
import { isDependencyManifest, type SkippedManifest } from './dependencies.js';

/** Dependency manifests larger than this are recorded as skipped rather than read: big lock files exist, unbounded memory should not. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

export interface FileRecord {
  /** Where the file lands when unpacked, relative to the context directory. */
  path: string;
  sha256: string;
  size: number;
}

export interface LayerInventory {
  /** Regular files, sorted by path (code-unit order, the same on every machine). */
  files: FileRecord[];
  /** Dependency manifests' bytes by path (only when asked for). */
  manifests: Map<string, Buffer>;
  skipped: SkippedManifest[];
}

interface OpenFile {
  path: string;
  hash: Hash;
  size: number;
  capture?: Buffer[];
}

/**
 * Read one layer's stored bytes (compressed as its media type says). Tar layers yield every
 * regular file; links and directories carry no content and are not listed. A raw layer is its
 * one file at the layer's path.
 */
export async function inventoryLayer(layer: ResolvedLayer, stored: AsyncIterable<Buffer>, captureManifests: boolean): Promise<LayerInventory> {
  const what = `${layer.kind} layer ${layer.descriptor.digest} (${layer.path})`;
  const files = new Map<string, FileRecord>();
  const manifests = new Map<string, Buffer>();
  const skipped: SkippedManifest[] = [];

  const open = (path: string, size: number): OpenFile => {
    const file: OpenFile = { path, hash: createHash('sha256'), size: 0 };
    if (captureManifests && isDependencyManifest(path)) {
      if (size > MAX_MANIFEST_BYTES) skipped.push({ path, reason: `${size} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit for dependency manifests` });
      else file.capture = [];
    }
    return file;
  };
  const update = (file: OpenFile, chunk: Buffer): void => {
    file.hash.update(chunk);
    file.size += chunk.length;
    file.capture?.push(chunk);
  };
  const close = (file: OpenFile): void => {
    files.set(file.path, { path: file.path, sha256: file.hash.digest('hex'), size: file.size }); // a later entry of the same name wins, as on unpack
    if (file.capture) manifests.set(file.path, Buffer.concat(file.capture));
  };

  await decompressed(layer, stored, what, async (plain) => {
    if (layer.layerFormat === 'raw') {
      const file = open(layer.path, 0);
      for await (const chunk of plain) update(file, chunk as Buffer);
      close(file);
      return;
    }
    let current: OpenFile | undefined;
    const reader = new TarReader(
      {
        entry: (header) => {
          current = undefined;
          if (header.typeflag !== '0' && header.typeflag !== '7') return;
          const name = safeEntryName(header.name, what);
          if (name === '.') throw new KitError('ARCHIVE_INVALID', `${what}: a file entry has no name`);
          // Old kits stored names relative to the layer path's parent, as unpack also honours.
          current = open(layer.legacyPaths ? posix.join(posix.dirname(layer.path), name) : name, header.size);
        },
        data: (chunk) => {
          if (current) update(current, chunk);
        },
        entryEnd: () => {
          if (current) close(current);
          current = undefined;
        },
      },
      what,
    );
    for await (const chunk of plain) await reader.push(chunk as Buffer);
    reader.end();
  });

  const sorted = [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files: sorted, manifests, skipped };
}

/** Run `consume` over the layer's uncompressed bytes; a stream that does not decompress is a broken archive. */
async function decompressed(layer: ResolvedLayer, stored: AsyncIterable<Buffer>, what: string, consume: (plain: AsyncIterable<unknown>) => Promise<void>): Promise<void> {
  const decompressor = createDecompressor(layer.compression);
  if (!decompressor) return consume(stored);
  let failure: unknown;
  decompressor.once('error', (e) => (failure = e));
  try {
    await pipeline(Readable.from(stored, { objectMode: false }), decompressor, consume);
  } catch (e) {
    if (e === failure && !(e instanceof KitError)) {
      throw new KitError('ARCHIVE_INVALID', `${what} does not decompress as ${layer.compression}: ${(e as Error).message}`, { cause: e });
    }
    throw e;
  }
}
