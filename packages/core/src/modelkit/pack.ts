import { lstat, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { KitError } from '../errors.js';
import { findKitfile, loadKitfile } from '../kitfile/load.js';
import { kitfileToConfigJson } from '../kitfile/serialize.js';
import type { Kitfile } from '../kitfile/types.js';
import { createCompressor } from '../layers/compression.js';
import { IgnoreMatcher } from '../layers/ignore.js';
import { fileChunks, tarChunks } from '../layers/tar-writer.js';
import { collectLayerEntries } from '../layers/walk.js';
import { toModelPackConfig, modelPackConfigToJson } from '../modelpack/config.js';
import { HashingStream } from '../oci/hashing.js';
import type { Descriptor, Manifest } from '../oci/types.js';
import { parseReference, type Reference } from '../reference/reference.js';
import type { LocalStore } from '../store/local-store.js';
import { sha256Digest } from '../oci/digest.js';
import { cleanLayerPath, isModelReferencePath, planLayers, type PlannedLayer } from './layer-plan.js';
import { resolveModelReferences } from './model-ref.js';
import { manifestToJson } from './manifest-json.js';
import { goJsonStringify } from '../oci/go-json.js';
import {
  ANNOTATION_CLI_VERSION,
  ANNOTATION_CREATED,
  ANNOTATION_FILE_METADATA,
  ANNOTATION_FILEPATH,
  ANNOTATION_KITFILE,
  ANNOTATION_LAYER_SUBTYPE,
  KIT_CONFIG_MEDIA_TYPE,
  KIT_MANIFEST_ARTIFACT_TYPE,
  LAYER_SUBTYPE_PROMPT,
  layerMediaType,
  MODELPACK_CONFIG_MEDIA_TYPE,
  MODELPACK_MANIFEST_ARTIFACT_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  type ArtifactFormat,
  type Compression,
  type LayerFormat,
} from './mediatypes.js';
import { addManifestToRepository, UNTAGGED_REPOSITORY } from './repository.js';
import { TOOL_VERSION } from '../version.js';

export interface PackOptions {
  store: LocalStore;
  /** The context directory the Kitfile's paths are relative to. */
  contextDir: string;
  /** Kitfile path, '-' for stdin; default: Kitfile, kitfile or .kitfile in the context. */
  kitfile?: string;
  /** `registry/repo:tag[,tag2]` references to tag the result with. */
  tags?: string[];
  compression?: Compression;
  /** Write CNCF ModelPack instead of KitOps' own format. */
  modelPack?: boolean;
  /** Store single-file layers verbatim ('raw') instead of as tar; ModelPack weights default to raw. */
  layerFormat?: LayerFormat;
  /** Seconds since the epoch for the created annotation; default from SOURCE_DATE_EPOCH, else now. */
  sourceDateEpoch?: string;
  onWarning?: (message: string) => void;
  onLayer?: (info: { kind: string; path: string; digest: string; size: number }) => void;
  /** Bytes of the current layer read so far, for progress bars on long packs. */
  onProgress?: (progress: TransferProgress) => void;
  /**
   * Layers already stored (by digest) to use as they are for the Kitfile entries they match by
   * kind and path, without reading files: a run's output kit reuses its input's code and data.
   */
  reuse?: ReusedLayer[];
}

/** An existing layer standing in for one Kitfile entry. */
export interface ReusedLayer {
  kind: string;
  path: string;
  descriptor: Descriptor;
  /** Digest of the uncompressed content (the descriptor's digest when stored uncompressed). */
  diffId?: string;
}

export interface PackResult {
  descriptor: Descriptor;
  manifest: Manifest;
  kitfile: Kitfile;
  references: Reference[];
}

/** Where pack puts blobs: the local store, or (for pack --push) straight into a registry upload. */
export interface BlobSink {
  /** Store what `open` streams; a sink may call `open` again to retry (layers are deterministic). */
  put(open: () => AsyncIterable<Buffer> | Iterable<Buffer>): Promise<{ digest: string; size: number }>;
}

/** A built ModelKit: every blob is in the sink; the manifest bytes are the caller's to store or push. */
export interface BuiltModelKit extends PackResult {
  manifestBytes: Buffer;
}

/**
 * Pack a context directory into the local store: one deterministic layer per Kitfile element,
 * streamed from disk and hashed once; then the config, the manifest and the tags. Same inputs,
 * same manifest digest. If anything fails, no tag points at a partial ModelKit.
 */
export async function pack(options: PackOptions): Promise<PackResult> {
  const lease = await options.store.lease();
  try {
    const sink: BlobSink = { put: (open) => options.store.ingest(open(), lease) };
    const built = await buildModelKit(options, sink);
    await sink.put(() => [built.manifestBytes]);
    if (built.references.length === 0) {
      await addManifestToRepository(options.store, UNTAGGED_REPOSITORY, built.descriptor, []);
    }
    for (const [name, tags] of groupByRepository(built.references)) {
      await addManifestToRepository(options.store, name, built.descriptor, tags);
    }
    return { descriptor: built.descriptor, manifest: built.manifest, kitfile: built.kitfile, references: built.references };
  } finally {
    await lease.release();
  }
}

/**
 * Everything pack does short of storing the manifest: layers, config, manifest bytes, with every
 * blob streamed once into `sink`. The local store is still read for model references.
 */
export async function buildModelKit(options: PackOptions, sink: BlobSink): Promise<BuiltModelKit> {
  const contextDir = resolve(options.contextDir);
  const contextInfo = await stat(contextDir).catch(() => undefined);
  if (!contextInfo?.isDirectory()) {
    throw new KitError('NOT_FOUND', `context directory ${options.contextDir} does not exist or is not a directory`);
  }
  const kitfilePath = options.kitfile === '-' ? '-' : options.kitfile ? resolve(options.kitfile) : findKitfile(contextDir);
  const { kitfile, warnings } = await loadKitfile(await kitfilePath);
  const references = (options.tags ?? []).flatMap(expandTags);
  const format: ArtifactFormat = options.modelPack ? 'modelpack' : 'kit';
  const compression = options.compression ?? 'none';
  const warn = options.onWarning ?? (() => {});
  warnings.forEach(warn);

  if (format === 'modelpack' && isModelReferencePath(kitfile.model?.path)) {
    throw new KitError('INVALID_ARGUMENT', `model.path ${kitfile.model!.path} refers to another ModelKit, which ModelPack cannot express: pack without --use-model-pack`);
  }
  await resolveModelReferences(options.store, kitfile, options.tags ?? []);
  const planned = planLayers(kitfile);
  const reused = new Map((options.reuse ?? []).map((r) => [`${r.kind}:${cleanLayerPath(r.path)}`, r]));
  const reusedFor = (layer: PlannedLayer) => reused.get(`${layer.kind}:${layer.path}`);
  await checkLayerPaths(contextDir, planned.filter((l) => !reusedFor(l)));
  const ignore = await IgnoreMatcher.fromContext(contextDir);
  const allPaths = planned.map((l) => l.path);
  const created = createdTimestamp(options.sourceDateEpoch ?? process.env.SOURCE_DATE_EPOCH);

  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const layer of planned) {
    const reuse = reusedFor(layer);
    if (reuse) {
      layer.element.digest = reuse.descriptor.digest;
      layer.element.diffId = reuse.diffId ?? reuse.descriptor.digest;
      diffIds.push(layer.element.diffId);
      layers.push(reuse.descriptor);
      options.onLayer?.({ kind: layer.kind, path: layer.path, digest: reuse.descriptor.digest, size: reuse.descriptor.size });
      continue;
    }
    const layerFormat = await chooseLayerFormat(contextDir, layer, format, options.layerFormat);
    const layerCompression = layer.kind === 'mcpserver' ? 'none' : compression;
    const mediaType = layerMediaType(layer.kind, { format, layerFormat, compression: layerCompression });
    const annotations: Record<string, string> = { [ANNOTATION_FILEPATH]: layer.path };
    if (layer.kind === 'prompt') annotations[ANNOTATION_LAYER_SUBTYPE] = LAYER_SUBTYPE_PROMPT;
    let plain: () => AsyncIterable<Buffer>;
    if (layerFormat === 'raw') {
      const file = join(contextDir, layer.path);
      const info = await stat(file);
      annotations[ANNOTATION_FILE_METADATA] = fileMetadataJson(layer.path, info, created.epoch);
      plain = () => counted(fileChunks(file, info.size), layer, info.size, options.onProgress);
    } else {
      const entries = await collectLayerEntries(contextDir, layer.path, allPaths, ignore, warn);
      const total = entries.reduce((sum, e) => sum + e.size, 0);
      plain = () => counted(tarChunks(entries), layer, total, options.onProgress);
    }
    const written = await storeLayer(sink, plain, layerCompression);
    layer.element.digest = written.digest;
    layer.element.diffId = written.diffId;
    diffIds.push(written.diffId);
    layers.push({ mediaType, digest: written.digest, size: written.size, annotations });
    options.onLayer?.({ kind: layer.kind, path: layer.path, digest: written.digest, size: written.size });
  }

  const kitfileJson = kitfileToConfigJson(kitfile);
  const manifestAnnotations: Record<string, string> = {
    [ANNOTATION_CLI_VERSION]: TOOL_VERSION,
    [ANNOTATION_CREATED]: created.rfc3339,
  };
  let configBytes: Buffer;
  let configMediaType: string;
  let artifactType: string;
  if (format === 'modelpack') {
    configBytes = Buffer.from(modelPackConfigToJson(toModelPackConfig(kitfile, diffIds, created.rfc3339)));
    configMediaType = MODELPACK_CONFIG_MEDIA_TYPE;
    artifactType = MODELPACK_MANIFEST_ARTIFACT_TYPE;
    manifestAnnotations[ANNOTATION_KITFILE] = kitfileJson;
  } else {
    configBytes = Buffer.from(kitfileJson);
    configMediaType = KIT_CONFIG_MEDIA_TYPE;
    artifactType = KIT_MANIFEST_ARTIFACT_TYPE;
  }
  const config = await sink.put(() => [configBytes]);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    artifactType,
    config: { mediaType: configMediaType, digest: config.digest, size: config.size },
    layers,
    annotations: manifestAnnotations,
  };
  const manifestBytes = Buffer.from(manifestToJson(manifest));
  const descriptor: Descriptor = { mediaType: OCI_MANIFEST_MEDIA_TYPE, digest: sha256Digest(manifestBytes), size: manifestBytes.length, artifactType };
  return { descriptor, manifest, manifestBytes, kitfile, references };
}

/** Progress of one layer's transfer. */
export interface TransferProgress {
  kind: string;
  path: string;
  done: number;
  total: number;
}

/** Pass chunks through, reporting how far through the layer they are. */
export async function* counted(chunks: AsyncIterable<Buffer>, layer: { kind: string; path: string }, total: number, report?: (p: TransferProgress) => void): AsyncGenerator<Buffer> {
  let done = 0;
  for await (const chunk of chunks) {
    done += chunk.length;
    report?.({ kind: layer.kind, path: layer.path, done: Math.min(done, total), total });
    yield chunk;
  }
}

/** Stream one layer into the store: diffId over the plain bytes, digest over what is stored. */
async function storeLayer(sink: BlobSink, plain: () => AsyncIterable<Buffer>, compression: Compression) {
  if (compression === 'none') {
    const { digest, size } = await sink.put(plain);
    return { digest, diffId: digest, size };
  }
  // Each attempt compresses afresh; the diffId is that of the attempt the sink kept.
  let diffHasher = new HashingStream();
  const { digest, size } = await sink.put(() => {
    const compressor = createCompressor(compression)!;
    diffHasher = new HashingStream();
    const hasher = diffHasher;
    const source = Readable.from(plain(), { objectMode: false });
    source.on('error', (e) => hasher.destroy(e));
    hasher.on('error', (e) => compressor.destroy(e));
    return source.pipe(hasher).pipe(compressor);
  });
  return { digest, diffId: diffHasher.digest(), size };
}

/**
 * Raw (verbatim) layers only make sense for one regular file. ModelPack weights default to raw,
 * as modctl does; everything else is tar unless the caller asks for raw.
 */
async function chooseLayerFormat(contextDir: string, layer: PlannedLayer, format: ArtifactFormat, requested?: LayerFormat): Promise<LayerFormat> {
  if (layer.kind === 'mcpserver') return 'raw';
  const isFile = (await stat(join(contextDir, layer.path)).catch(() => undefined))?.isFile() ?? false;
  if (requested === 'raw') {
    if (!isFile) throw new KitError('INVALID_ARGUMENT', `raw layers hold one file, but ${layer.kind} path ${layer.path} is a directory: use --layer-format tar`);
    return 'raw';
  }
  if (requested === 'tar') return 'tar';
  return format === 'modelpack' && isFile && (layer.kind === 'model' || layer.kind === 'modelpart') ? 'raw' : 'tar';
}

/** Every local layer path must exist and resolve (symlinks followed) inside the context. */
async function checkLayerPaths(contextDir: string, layers: PlannedLayer[]): Promise<void> {
  const realContext = await realpath(contextDir);
  for (const layer of layers) {
    const full = join(contextDir, layer.path);
    if (!(await lstat(full).catch(() => undefined))) {
      throw new KitError('NOT_FOUND', `${layer.kind} path "${layer.element.path}" does not exist in ${contextDir}: fix the path in the Kitfile or add the files`);
    }
    const real = await realpath(full);
    const rel = relative(realContext, real);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new KitError('PATH_OUTSIDE_CONTEXT', `${layer.kind} path "${layer.element.path}" resolves to ${real}, outside the context ${contextDir}: move the files into the context`);
    }
  }
}

/** The metadata KitOps and ModelPack put on raw layers (pkg/lib/filesystem/util.go field order). */
function fileMetadataJson(name: string, info: { mode: number; size: number; mtime: Date }, epoch?: number): string {
  const mtime = epoch !== undefined ? new Date(epoch * 1000) : info.mtime;
  return goJsonStringify({
    name: name.split('/').pop(),
    mode: info.mode & 0o7777,
    uid: 0,
    gid: 0,
    size: info.size,
    mtime: mtime.toISOString().replace('.000Z', 'Z'),
    typeflag: 48,
  });
}

function createdTimestamp(sourceDateEpoch: string | undefined): { rfc3339: string; epoch?: number } {
  if (sourceDateEpoch !== undefined && sourceDateEpoch !== '') {
    if (!/^\d+$/.test(sourceDateEpoch)) {
      throw new KitError('INVALID_ARGUMENT', `SOURCE_DATE_EPOCH "${sourceDateEpoch}" is not a whole number of seconds since 1970`);
    }
    const epoch = Number(sourceDateEpoch);
    return { rfc3339: toRfc3339(new Date(epoch * 1000)), epoch };
  }
  return { rfc3339: toRfc3339(new Date()) };
}

/** RFC 3339 in UTC without fractional seconds, as Go's time.RFC3339 formats it. */
function toRfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `repo:tag1,tag2` is shorthand for several tags of one repository, as in kit. */
function expandTags(input: string): Reference[] {
  const ref = parseReference(input);
  if (ref.digest && !ref.tag) throw new KitError('INVALID_ARGUMENT', `cannot tag with a digest (${input}): give repository:tag`);
  return [ref.tag ?? 'latest', ...ref.extraTags].map((tag) => ({ ...ref, tag, digest: undefined, extraTags: [] }));
}

function groupByRepository(refs: Reference[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const ref of refs) {
    const name = `${ref.registry}/${ref.repository}`;
    groups.set(name, [...(groups.get(name) ?? []), ref.tag!]);
  }
  return groups;
}

