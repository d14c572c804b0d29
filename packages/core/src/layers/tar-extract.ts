import { chmod, mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KitError } from '../errors.js';
import { writeAll } from '../store/hash-to-file.js';
import { TarReader } from './tar-reader.js';

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
 * Extract a tar archive into `dir` (a fresh staging directory). Only regular files and directories
 * are accepted: links and devices are refused, so nothing can point or write outside `dir`. File
 * data is written as slices of the chunks read, one write in flight while the next chunk arrives.
 */
export async function extractTar(source: AsyncIterable<Buffer>, dir: string, where: string): Promise<ExtractedEntry[]> {
  const entries: ExtractedEntry[] = [];
  let file: { handle: FileHandle; pending: Promise<unknown> } | undefined;
  const reader = new TarReader(
    {
      entry: async (header) => {
        const name = safeEntryName(header.name, where);
        const mode = header.mode & 0o7777;
        if (header.typeflag === '5') {
          if (name !== '.') {
            await mkdir(join(dir, name), { recursive: true });
            entries.push({ name, type: 'dir', mode });
          }
        } else if (header.typeflag === '0' || header.typeflag === '7') {
          if (name === '.') throw unsafe(where, header.name, 'is a file with no name');
          const target = join(dir, name);
          await mkdir(dirname(target), { recursive: true });
          file = { handle: await open(target, 'w', (mode & 0o777) | 0o200), pending: Promise.resolve() };
          entries.push({ name, type: 'file', mode });
        } else {
          const kind = { '1': 'hard link', '2': 'symbolic link', '3': 'character device', '4': 'block device', '6': 'FIFO' }[header.typeflag] ?? `entry of type '${header.typeflag}'`;
          throw new KitError('UNSAFE_ARCHIVE', `${where}: entry "${header.name}" is a ${kind}; only regular files and directories are unpacked (links and devices could reach outside the target)`);
        }
      },
      data: async (chunk) => {
        if (!file) return;
        await file.pending;
        file.pending = writeAll(file.handle, chunk);
      },
      entryEnd: async () => {
        if (!file) return;
        const done = file;
        file = undefined;
        await done.pending;
        await done.handle.close();
      },
    },
    where,
  );
  try {
    for await (const chunk of source) await reader.push(chunk);
    reader.end();
  } catch (e) {
    // A name used first as a file, then as a directory (or the reverse) is a broken archive.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
      throw new KitError('ARCHIVE_INVALID', `${where}: an entry clashes with an earlier one (${code}); the layer is malformed`, { cause: e });
    }
    throw e;
  } finally {
    if (file) {
      await file.pending.catch(() => {});
      await file.handle.close();
    }
  }
  // Modes last: a read-only file or directory must not stop its own contents being written.
  for (const e of entries) if (e.type === 'file') await chmod(join(dir, e.name), e.mode);
  return entries;
}
