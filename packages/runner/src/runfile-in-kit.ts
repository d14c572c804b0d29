import { decompressedChunks, KitError, sha256Digest, TarReader, type LocalStore, type ModelKitContents } from '@modelkit/core';
import { parseRunFile, RUNFILE_NAMES, type RunFile } from './runfile/index.js';

const MAX_RUNFILE_BYTES = 1 << 20;

export interface PackedRunFile {
  path: string;
  digest: string;
  text: string;
  runFile: RunFile;
}

/**
 * The run file a ModelKit carries: `kitrun.yaml` beside the Kitfile, packed in a code layer.
 * Code layers are read (verified) until it turns up; nothing else is touched.
 */
export async function findRunFile(store: LocalStore, contents: ModelKitContents, where: string): Promise<PackedRunFile> {
  for (const layer of contents.layers.filter((l) => l.kind === 'code')) {
    const what = `code layer ${layer.descriptor.digest}`;
    const plain = decompressedChunks(store.blobChunks(layer.descriptor, what), layer.compression);
    if (layer.layerFormat === 'raw') {
      if (!RUNFILE_NAMES.includes(layer.path)) continue;
      const chunks: Buffer[] = [];
      for await (const chunk of plain) chunks.push(chunk);
      return parsed(layer.path, Buffer.concat(chunks));
    }
    let found: { name: string; chunks: Buffer[] } | undefined;
    let current: { name: string; chunks: Buffer[]; size: number } | undefined;
    const reader = new TarReader(
      {
        entry: (h) => {
          const name = h.name.replace(/^\.\//, '');
          current = RUNFILE_NAMES.includes(name) && h.typeflag === '0' ? { name, chunks: [], size: 0 } : undefined;
        },
        data: (chunk) => {
          if (!current) return;
          current.size += chunk.length;
          if (current.size > MAX_RUNFILE_BYTES) throw new KitError('INVALID_ARGUMENT', `${current.name} in ${what} is over 1 MiB: a run file is a few lines of YAML`);
          current.chunks.push(Buffer.from(chunk));
        },
        entryEnd: () => {
          if (current && !found) found = current;
          current = undefined;
        },
      },
      what,
    );
    for await (const chunk of plain) await reader.push(chunk);
    reader.end();
    if (found) return parsed(found.name, Buffer.concat(found.chunks));
  }
  throw new KitError('NOT_FOUND', `${where} carries no run file: add ${RUNFILE_NAMES[0]} beside the Kitfile and list it under code (e.g. \`code: [{path: ${RUNFILE_NAMES[0]}}]\`), then pack again`);
}

function parsed(path: string, bytes: Buffer): PackedRunFile {
  const text = bytes.toString('utf8');
  return { path, digest: sha256Digest(bytes), text, runFile: parseRunFile(text, path) };
}
