import {
  decompressedChunks,
  encodeTarHeader,
  KitError,
  kitfileToYaml,
  layerSelected,
  padding,
  parseFilter,
  TAR_TRAILER,
  type Kitfile,
  type LocalStore,
  type ModelKitContents,
  type ResolvedLayer,
} from '@modelkit/core';

/** One piece of a run's inputs as an uncompressed tar stream, rooted at the inputs directory. */
export interface InputArchive {
  what: string;
  tar: () => AsyncIterable<Buffer>;
}

/**
 * The selected layers of a stored ModelKit, and its Kitfile, as tar streams a host can extract
 * where the run happens: streamed from the store (verified), nothing staged on this machine.
 */
export function inputArchives(store: LocalStore, layers: ResolvedLayer[], kitfile: Kitfile): InputArchive[] {
  const archives = layers.map((layer): InputArchive => {
    const what = `${layer.kind} layer ${layer.descriptor.digest} (${layer.path})`;
    if (layer.legacyPaths) {
      throw new KitError('FORMAT_UNSUPPORTED', `${what} was packed by an old kit with parent-relative paths; repack it with a current kit to run it`);
    }
    return {
      what,
      tar: () => {
        const plain = decompressedChunks(store.blobChunks(layer.descriptor, what), layer.compression);
        return layer.layerFormat === 'raw' ? singleFileTar(layer.path, layer.descriptor.size, plain, layer.compression !== 'none') : plain;
      },
    };
  });
  const kitfileBytes = Buffer.from(kitfileToYaml(kitfile));
  archives.push({ what: 'Kitfile', tar: () => singleFileTar('Kitfile', kitfileBytes.length, [kitfileBytes], false) });
  return archives;
}

/** What a run materializes: the layers its run file's `inputs` select (every layer when it names none), and the Kitfile. */
export function runInputArchives(store: LocalStore, contents: ModelKitContents, inputs: string[] | undefined): InputArchive[] {
  const filters = (inputs ?? []).map(parseFilter);
  return inputArchives(store, contents.layers.filter((l) => layerSelected(filters, l.kind, l.element)), contents.kitfile);
}

/**
 * A tar holding one file. A compressed raw layer's plain size is unknown until read, so it is
 * buffered; raw layers of kit's own making are stored uncompressed, and those stream.
 */
async function* singleFileTar(name: string, size: number, content: AsyncIterable<Buffer> | Iterable<Buffer>, sizeUnknown: boolean): AsyncGenerator<Buffer> {
  if (sizeUnknown) {
    const chunks: Buffer[] = [];
    for await (const chunk of content) chunks.push(chunk);
    const whole = Buffer.concat(chunks);
    yield* singleFileTar(name, whole.length, [whole], false);
    return;
  }
  yield encodeTarHeader({ name, type: 'file', mode: 0o644, size });
  for await (const chunk of content) yield chunk;
  yield Buffer.alloc(padding(size));
  yield TAR_TRAILER;
}
