import {
  addManifestToRepository,
  buildModelKit,
  OCI_MANIFEST_MEDIA_TYPE,
  type BuiltModelKit,
  type InspectResult,
  type PackOptions,
  ANNOTATION_CLI_VERSION,
  describeModelKit,
  KitError,
  layerSelected,
  parseImageIndex,
  parseManifest,
  resolveLocal,
  OCI_INDEX_MEDIA_TYPE,
  DOCKER_MANIFEST_LIST_MEDIA_TYPE,
  type Descriptor,
  type LocalStore,
  type UnpackFilter,
} from '@modelkit/core';
import { forEachLimit } from './concurrency.js';
import { RegistryError } from './errors.js';
import type { RemoteRepository, UploadMode } from './repository.js';
import type { UploadJournal } from './upload-journal.js';
import { pullReferrers, pushReferrers } from './referrers.js';

export interface TransferEvent {
  digest: string;
  size: number;
  /** What happened to the blob: already there, mounted from a sibling repository, or moved. */
  outcome: 'exists' | 'mounted' | 'uploaded' | 'downloaded' | 'cached';
}

export interface PushOptions {
  store: LocalStore;
  /** Local reference of the ModelKit to push. */
  source: string;
  repository: RemoteRepository;
  /** Tags to push; none pushes by digest only. */
  tags: string[];
  concurrency?: number;
  uploadMode?: UploadMode;
  chunkSize?: number;
  /** Sibling repositories on the same registry to mount blobs from. */
  mountFrom?: string[];
  /** Keeps chunked upload sessions so that a push killed mid-blob resumes where it stopped. */
  journal?: UploadJournal;
  /** Also push what is attached to it locally: SBOMs, signatures, attestations (default true). */
  referrers?: boolean;
  onBlob?: (event: TransferEvent) => void;
}

/**
 * Push a local ModelKit: every blob the registry lacks (concurrently, mounted when a sibling
 * repository has it), then the manifest's exact bytes under each tag.
 */
export async function pushModelKit(options: PushOptions): Promise<Descriptor & { referrers: number }> {
  const kit = await resolveLocal(options.store, options.source);
  const blobs = uniqueBlobs([kit.manifest.config, ...kit.manifest.layers]);
  await forEachLimit(blobs, options.concurrency ?? 5, async (blob) => {
    if (!(await options.store.hasBlob(blob.digest))) {
      throw new KitError('NOT_FOUND', `blob ${blob.digest} of ${options.source} is not in the local store (was it pulled with --filter?): pull it whole before pushing`);
    }
    const outcome = await options.repository.pushBlob(blob, (offset) => options.store.blobFrom(blob, offset), {
      mountFrom: options.mountFrom,
      mode: options.uploadMode,
      chunkSize: options.chunkSize,
      journal: options.journal,
    });
    options.onBlob?.({ digest: blob.digest, size: blob.size, outcome });
  });
  const mediaType = kit.manifest.mediaType ?? kit.descriptor.mediaType;
  let pushed: Descriptor | undefined;
  for (const tag of options.tags.length > 0 ? options.tags : [kit.descriptor.digest]) {
    pushed = await options.repository.pushManifest(tag, kit.manifestBytes, mediaType);
  }
  const referrers = options.referrers === false ? 0 : await pushReferrers(options.store, options.repository, kit.descriptor.digest);
  return { ...pushed!, artifactType: kit.manifest.artifactType, referrers };
}

export interface PullOptions {
  store: LocalStore;
  repository: RemoteRepository;
  /** Tag or digest in the remote repository. */
  reference: string;
  /** Only these parts; the config is always fetched. */
  filters?: UnpackFilter[];
  concurrency?: number;
  /** Local repository to record it in (default: registry/repository as the transport sees it). */
  localRepository?: string;
  /** Also tag it with these local tags. */
  tags?: string[];
  /** Also bring what the registry has attached to it: SBOMs, signatures, attestations. */
  referrers?: boolean;
  onBlob?: (event: TransferEvent) => void;
}

export interface PullResult {
  descriptor: Descriptor;
  /** Name of the local repository it was stored in (registry/repository). */
  localRepository: string;
  bytesDownloaded: number;
  layersSkipped: number;
  /** Referrers brought along (with `referrers`). */
  referrers: number;
}

/**
 * Pull a ModelKit into the local store: the manifest (verified), the config, and the layers the
 * filters select, each downloaded resumably and committed only once its digest checks out. Blobs
 * already in the store are never fetched again.
 */
export async function pullModelKit(options: PullOptions): Promise<PullResult> {
  const { repository, store } = options;
  const { descriptor, bytes } = await repository.fetchManifest(options.reference);
  if (descriptor.mediaType === OCI_INDEX_MEDIA_TYPE || descriptor.mediaType === DOCKER_MANIFEST_LIST_MEDIA_TYPE) {
    return pullIndex(options, descriptor, bytes);
  }
  const where = `${repository.registry}/${repository.name}:${options.reference}`;
  const manifest = parseManifest(bytes, `manifest of ${where}`);
  const lease = await store.lease();
  let bytesDownloaded = 0;
  try {
    const fetchBlob = async (blob: Descriptor) => {
      if (await store.hasBlob(blob.digest)) {
        await store.pin(blob.digest, lease);
        options.onBlob?.({ digest: blob.digest, size: blob.size, outcome: 'cached' });
        return;
      }
      await store.ingestResumable(blob, (offset) => repository.fetchBlob(blob, offset), lease);
      bytesDownloaded += blob.size;
      options.onBlob?.({ digest: blob.digest, size: blob.size, outcome: 'downloaded' });
    };
    await fetchBlob(manifest.config);
    const config = await store.readBlob(manifest.config, 'config');
    const contents = describeModelKit(manifest, config, where);
    const filters = options.filters ?? [];
    const wanted = contents.layers.filter((l) => layerSelected(filters, l.kind, l.element)).map((l) => l.descriptor);
    await forEachLimit(uniqueBlobs(wanted), options.concurrency ?? 5, fetchBlob);
    await store.ingest([bytes], lease, { digest: descriptor.digest, size: descriptor.size });
    const localRepository = await recordPulled(options, { ...descriptor, artifactType: manifest.artifactType });
    const referrers = options.referrers ? await pullReferrers(store, repository, descriptor.digest) : 0;
    return { descriptor, localRepository, bytesDownloaded, layersSkipped: contents.layers.length - wanted.length, referrers };
  } finally {
    await lease.release();
  }
}

function uniqueBlobs(blobs: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return blobs.filter((b) => !seen.has(b.digest) && seen.add(b.digest));
}

/** `kit inspect -r`: a remote ModelKit's manifest and Kitfile, without storing anything. */
export async function inspectRemote(repository: RemoteRepository, reference: string): Promise<InspectResult> {
  const { descriptor, bytes } = await repository.fetchManifest(reference);
  const where = `${repository.registry}/${repository.name}:${reference}`;
  const manifest = parseManifest(bytes, `manifest of ${where}`);
  const config = await repository.fetchBlobBytes(manifest.config);
  const { kitfile } = describeModelKit(manifest, config, where);
  return { digest: descriptor.digest, cliVersion: manifest.annotations?.[ANNOTATION_CLI_VERSION], kitfile, manifest };
}

export interface PackToRegistryOptions extends Omit<PackOptions, 'tags'> {
  repository: RemoteRepository;
  /** Tags to push the manifest under; none pushes by digest. */
  tags: string[];
}

/**
 * `kit pack --push`: build the ModelKit and stream every blob straight into registry uploads, so
 * nothing a model's size is written to local disk (kitops #1026). Then push the manifest.
 */
export async function packToRegistry(options: PackToRegistryOptions): Promise<BuiltModelKit> {
  const { repository, tags, ...packOptions } = options;
  const built = await buildModelKit({ ...packOptions, tags: [] }, { put: (open) => pushStreamWithRetries(repository, open) });
  for (const tag of tags.length > 0 ? tags : [built.descriptor.digest]) {
    await repository.pushManifest(tag, built.manifestBytes, OCI_MANIFEST_MEDIA_TYPE);
  }
  return built;
}

/** A streamed upload cannot resume, but a layer can be produced again: start over a few times. */
async function pushStreamWithRetries(repository: RemoteRepository, open: () => AsyncIterable<Buffer> | Iterable<Buffer>, attempts = 3): Promise<{ digest: string; size: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await repository.pushStream(open());
    } catch (e) {
      const retryable = e instanceof KitError && (e.code === 'NETWORK' || (e instanceof RegistryError && e.status >= 500));
      if (!retryable || attempt >= attempts) throw e;
    }
  }
}

/**
 * An index (variants of one model, `kit index`): pull every ModelKit it lists into the same local
 * repository (each by digest), then the index itself under the tag. Unpack picks a variant by digest.
 */
async function pullIndex(options: PullOptions, descriptor: Descriptor, bytes: Buffer): Promise<PullResult> {
  const { repository, store } = options;
  const index = parseImageIndex(bytes, `index ${repository.registry}/${repository.name}:${options.reference}`);
  const localRepository = localRepositoryOf(options);
  let bytesDownloaded = 0;
  let layersSkipped = 0;
  let referrers = 0;
  for (const child of index.manifests) {
    const pulled = await pullModelKit({ ...options, reference: child.digest, localRepository, tags: [] });
    bytesDownloaded += pulled.bytesDownloaded;
    layersSkipped += pulled.layersSkipped;
    referrers += pulled.referrers;
  }
  const lease = await store.lease();
  try {
    await store.ingest([bytes], lease, { digest: descriptor.digest, size: descriptor.size });
    await recordPulled(options, { ...descriptor, artifactType: index.artifactType });
  } finally {
    await lease.release();
  }
  if (options.referrers) referrers += await pullReferrers(store, repository, descriptor.digest);
  return { descriptor, localRepository, bytesDownloaded, layersSkipped, referrers };
}

function localRepositoryOf(options: PullOptions): string {
  return options.localRepository ?? `${options.repository.registry}/${options.repository.name}`;
}

/** Record a pulled manifest or index locally, tagged with the remote tag (not a digest) and any extra tags. */
async function recordPulled(options: PullOptions, descriptor: Descriptor): Promise<string> {
  const localRepository = localRepositoryOf(options);
  const tags = [...(options.reference.includes(':') ? [] : [options.reference]), ...(options.tags ?? [])];
  await addManifestToRepository(options.store, localRepository, descriptor, tags);
  return localRepository;
}
