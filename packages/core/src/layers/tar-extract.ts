import { createWriteStream } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { KitError } from '../errors.js';

export interface ExtractedEntry {
  /** Normalised posix path relative to the archive root. */
  name: string;
  type: 'file' | 'dir';
  mode: number;
}

/**
 * Check an archive entry name and return it normalised; refuse anything that could land outside
 * the target: absolute paths, '..' components, drive letters, NUL bytes.
 */
export function safeEntryName(raw: string, where: string): string {
  const name = raw.replace(/\\/g, '/');
  if (name.includes('\0')) throw unsafe(where, raw, 'contains a NUL byte');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw unsafe(where, raw, 'is an absolute path');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw unsafe(where, raw, "contains '..'");
  if (parts.length === 0) return '.';
  return parts.join('/');
}

function unsafe(where: string, name: string, why: string): KitError {
  return new KitError('UNSAFE_ARCHIVE', `${where}: entry "${name}" ${why}; refused, nothing was written outside the target directory`);
}

/**
 * Extract a tar stream into `dir` (a fresh staging directory). Only regular files and directories
 * are accepted: links and devices are refused, so nothing can point or write outside `dir`.
 */
export async function extractTar(source: Readable, dir: string, where: string): Promise<ExtractedEntry[]> {
  const extract = tar.extract();
  const entries: ExtractedEntry[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const header = entry.header;
      const name = safeEntryName(header.name, where);
      const mode = (header.mode ?? 0o644) & 0o7777;
      if (header.type === 'directory') {
        if (name !== '.') {
          await mkdir(join(dir, name), { recursive: true });
          entries.push({ name, type: 'dir', mode });
        }
        entry.resume();
      } else if (header.type === 'file' || header.type === 'contiguous-file') {
        if (name === '.') throw unsafe(where, header.name, 'is a file with no name');
        const target = join(dir, name);
        await mkdir(dirname(target), { recursive: true });
        await pipeline(entry, createWriteStream(target, { mode: mode & 0o777 | 0o200, highWaterMark: 4 << 20 }));
        entries.push({ name, type: 'file', mode });
      } else {
        throw new KitError('UNSAFE_ARCHIVE', `${where}: entry "${header.name}" is a ${header.type}; only regular files and directories are unpacked (links and devices could reach outside the target)`);
      }
    }
  })();
  await Promise.all([pipeline(source, extract), done]).catch(async (e) => {
    extract.destroy();
    await done.catch(() => {});
    throw wrapTarError(e, where);
  });
  // Directory modes last: a read-only directory must not stop its own files being written.
  for (const e of entries) if (e.type === 'file') await chmod(join(dir, e.name), e.mode);
  return entries;
}

function wrapTarError(e: unknown, where: string): unknown {
  if (e instanceof KitError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (/header|tar|unexpected end/i.test(message)) {
    return new KitError('ARCHIVE_INVALID', `${where}: not a valid tar archive (${message}); the layer is corrupt`, { cause: e });
  }
  return e;
}
