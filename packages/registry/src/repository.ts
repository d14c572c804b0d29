import { createHash } from 'node:crypto';
import { KitError, sha256Digest, type Descriptor, type ImageIndex, OCI_INDEX_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE, DOCKER_MANIFEST_MEDIA_TYPE, DOCKER_MANIFEST_LIST_MEDIA_TYPE } from '@modelkit/core';
import { RegistryError } from './errors.js';
import { readCapped, readCappedBytes, type Transport } from './transport.js';
import { uploadKey, type UploadJournal } from './upload-journal.js';

/** Manifests and indexes above this are refused (oras-go's MaxMetadataBytes). */
export const MAX_MANIFEST_BYTES = 4 << 20;
/** Upstream kit's chunk size for PATCH uploads. */
export const DEFAULT_CHUNK_SIZE = 100 << 20;
const MANIFEST_ACCEPT = [OCI_MANIFEST_MEDIA_TYPE, OCI_INDEX_MEDIA_TYPE, DOCKER_MANIFEST_MEDIA_TYPE, DOCKER_MANIFEST_LIST_MEDIA_TYPE].join(', ');

export type UploadMode = 'auto' | 'monolithic' | 'chunked';

/** Registries known to mishandle chunked uploads (kit's upload-format.go): always monolithic there. */
export function prefersMonolithic(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return host === 'ghcr.io' || /\.pkg\.dev$/.test(host) || /(^|\.)gcr\.io$/.test(host) || /(^|\.)amazonaws\.com(\.cn)?$/.test(host);
}

export function uploadStrategy(registry: string, size: number, mode: UploadMode = 'auto', chunkSize = DEFAULT_CHUNK_SIZE): 'monolithic' | 'chunked' {
  if (mode !== 'auto') return mode;
  return prefersMonolithic(registry) || size < chunkSize ? 'monolithic' : 'chunked';
}

export type BlobSource = (offset: number) => AsyncIterable<Buffer>;

export interface PushBlobOptions {
  /** Sibling repositories on the same registry to mount from. */
  mountFrom?: string[];
  mode?: UploadMode;
  chunkSize?: number;
  /** Keeps chunked upload sessions across processes, so an interrupted push resumes. */
  journal?: UploadJournal;
}

/**
 * One repository on a remote registry, as a target: resolve references, read and write manifests
 * and blobs by digest, list tags, find referrers.
 */
export class RemoteRepository {
  constructor(readonly transport: Transport, readonly name: string) {}

  get registry(): string {
    return this.transport.registry;
  }

  private scope(push: boolean): string[] {
    return [`repository:${this.name}:${push ? 'pull,push' : 'pull'}`];
  }

  private what(action: string): string {
    return `${action} ${this.registry}/${this.name}`;
  }

  /** Tag or digest → descriptor, by HEAD (falls back to GET when the registry omits the digest). */
  async resolve(reference: string): Promise<Descriptor> {
    const res = await this.transport.request({
      method: 'HEAD',
      url: `/v2/${this.name}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      scopes: this.scope(false),
      expect: [200],
      what: this.what(`resolve ${reference} in`),
    });
    await res.body.dump();
    const digest = res.headers['docker-content-digest'];
    const size = Number(res.headers['content-length']);
    const mediaType = (res.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (digest && Number.isFinite(size) && mediaType) return { mediaType, digest, size };
    return (await this.fetchManifest(reference)).descriptor;
  }

  /** A manifest's exact bytes, capped and, when the digest is known, verified. */
  async fetchManifest(reference: string): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const res = await this.transport.request({
      method: 'GET',
      url: `/v2/${this.name}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      scopes: this.scope(false),
      expect: [200],
      what: this.what(`fetch manifest ${reference} from`),
    });
    const bytes = await readCappedBytes(res.body, MAX_MANIFEST_BYTES, `manifest ${reference}`);
    const digest = sha256Digest(bytes);
    const expected = reference.includes(':') ? reference : undefined;
    if (expected && expected !== digest) {
      throw new KitError('DIGEST_MISMATCH', `manifest ${reference} from ${this.registry}/${this.name} has digest ${digest}: refused`);
    }
    const headerDigest = res.headers['docker-content-digest'];
    if (!expected && headerDigest && headerDigest.startsWith('sha256:') && headerDigest !== digest) {
      throw new KitError('DIGEST_MISMATCH', `manifest ${reference} from ${this.registry}/${this.name} has digest ${digest}, the registry says ${headerDigest}: refused`);
    }
    let mediaType = (res.headers['content-type'] ?? '').split(';')[0]!.trim();
    try {
      mediaType = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType ?? mediaType;
    } catch {
      throw new KitError('FORMAT_UNSUPPORTED', `manifest ${reference} from ${this.registry}/${this.name} is not JSON`);
    }
    return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
  }

  async blobExists(digest: string): Promise<boolean> {
    try {
      const res = await this.transport.request({ method: 'HEAD', url: `/v2/${this.name}/blobs/${digest}`, scopes: this.scope(false), expect: [200], what: this.what(`check blob ${digest} in`) });
      await res.body.dump();
      return true;
    } catch (e) {
      if (e instanceof RegistryError && e.status === 404) return false;
      throw e;
    }
  }

  /**
   * A blob's bytes from `offset` on. With offset > 0 a Range request resumes a download; a
   * registry that ignores Range (200) has the bytes before offset skipped here.
   */
  async *fetchBlob(desc: Pick<Descriptor, 'digest' | 'size'>, offset = 0): AsyncGenerator<Buffer> {
    const res = await this.transport.request({
      method: 'GET',
      url: `/v2/${this.name}/blobs/${desc.digest}`,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      scopes: this.scope(false),
      expect: [200, 206],
      what: this.what(`fetch blob ${desc.digest} from`),
    });
    let skip = res.status === 200 ? offset : 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      yield skip > 0 ? chunk.subarray(skip) : chunk;
      skip = 0;
    }
  }

  /** A small blob (a config) read whole, capped, and verified against its digest. */
  async fetchBlobBytes(desc: Pick<Descriptor, 'digest' | 'size'>, limit = 16 << 20): Promise<Buffer> {
    if (desc.size > limit) throw new KitError('REGISTRY', `blob ${desc.digest} is ${desc.size} bytes, more than the ${limit} expected of metadata`);
    const bytes = await readCappedBytes(this.fetchBlob(desc), limit, `blob ${desc.digest}`);
    const digest = sha256Digest(bytes);
    if (digest !== desc.digest) throw new KitError('DIGEST_MISMATCH', `blob ${desc.digest} from ${this.registry}/${this.name} has digest ${digest}: refused`);
    return bytes;
  }

  /**
   * Upload a blob unless the registry has it: try a cross-repository mount from `mountFrom`
   * repositories first, then upload monolithically or in chunks. A chunked upload resumes from the
   * registry's upload status after a failed chunk, and, with a journal, after the process died.
   */
  async pushBlob(desc: Pick<Descriptor, 'digest' | 'size'>, source: BlobSource, options: PushBlobOptions = {}): Promise<'exists' | 'mounted' | 'uploaded'> {
    if (await this.blobExists(desc.digest)) return 'exists';
    let location: string | undefined;
    for (const from of options.mountFrom ?? []) {
      const res = await this.transport.request({
        method: 'POST',
        url: `/v2/${this.name}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`,
        headers: { 'content-length': '0' },
        scopes: [...this.scope(true), `repository:${from}:pull`],
        expect: [201, 202],
        what: this.what(`mount blob ${desc.digest} into`),
      });
      await res.body.dump();
      if (res.status === 201) return 'mounted';
      location = res.headers.location ? new URL(res.headers.location, res.url).toString() : undefined;
      break; // 202 started an ordinary upload: use it
    }
    const strategy = uploadStrategy(this.registry, desc.size, options.mode, options.chunkSize);
    if (strategy === 'monolithic') {
      await this.finishUpload(location ?? (await this.startUpload()), desc, () => source(0), desc.size);
      return 'uploaded';
    }
    const journal = options.journal;
    const key = uploadKey(this.registry, this.name, desc.digest);
    let offset = 0;
    const earlier = location ? undefined : await journal?.recall(key);
    if (earlier) {
      const status = await this.uploadStatus(earlier).catch(() => undefined); // expired or unknown: start over
      if (status && status.offset <= desc.size) ({ location, offset } = status);
    }
    location ??= await this.startUpload();
    const remember = journal ? (at: string) => journal.remember(key, at) : undefined;
    await remember?.(location);
    await this.chunkedUpload(location, desc, source, options.chunkSize ?? DEFAULT_CHUNK_SIZE, offset, remember);
    await journal?.forget(key);
    return 'uploaded';
  }

  private async startUpload(): Promise<string> {
    const res = await this.transport.request({
      method: 'POST',
      url: `/v2/${this.name}/blobs/uploads/`,
      headers: { 'content-length': '0' },
      scopes: this.scope(true),
      expect: [202],
      what: this.what('start an upload to'),
    });
    await res.body.dump();
    if (!res.headers.location) throw new KitError('REGISTRY', `${this.registry} started an upload without a Location header`);
    return new URL(res.headers.location, res.url).toString();
  }

  private async finishUpload(location: string, desc: Pick<Descriptor, 'digest'>, body: (() => AsyncIterable<Buffer>) | undefined, length: number): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', desc.digest);
    const res = await this.transport.request({
      method: 'PUT',
      url: url.toString(),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) },
      body: body ?? Buffer.alloc(0),
      scopes: this.scope(true),
      expect: [201, 204],
      what: this.what(`upload blob ${desc.digest} to`),
    });
    await res.body.dump();
  }

  /** Sequential PATCH chunks with Content-Range; after a failure, ask where the upload stands and go on. */
  private async chunkedUpload(
    location: string,
    desc: Pick<Descriptor, 'digest' | 'size'>,
    source: BlobSource,
    chunkSize: number,
    offset: number,
    remember?: (location: string) => Promise<void>,
  ): Promise<void> {
    let failures = 0;
    while (offset < desc.size) {
      const end = Math.min(offset + chunkSize, desc.size);
      const start = offset;
      try {
        const res = await this.transport.request({
          method: 'PATCH',
          url: location,
          headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end - 1}`, 'content-length': String(end - start) },
          body: () => limit(source(start), end - start),
          scopes: this.scope(true),
          expect: [202],
          what: this.what(`upload chunk ${start}-${end - 1} of ${desc.digest} to`),
        });
        await res.body.dump();
        if (res.headers.location) location = new URL(res.headers.location, res.url).toString();
        offset = end;
        await remember?.(location);
      } catch (e) {
        if (++failures > 5) throw e;
        const status = await this.uploadStatus(location).catch(() => undefined);
        if (!status) throw e;
        location = status.location;
        offset = status.offset;
      }
    }
    await this.finishUpload(location, desc, undefined, 0);
  }

  /**
   * Upload bytes whose digest is not known in advance (pack --push): one streaming PATCH while
   * hashing, then PUT with the digest. The stream cannot be replayed, so it is sent once; the
   * upload session is started (and any auth challenge answered) before the body flows.
   */
  async pushStream(content: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<{ digest: string; size: number }> {
    const hash = createHash('sha256');
    let size = 0;
    async function* hashed(): AsyncGenerator<Buffer> {
      for await (const chunk of content) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    }
    const location = await this.startUpload();
    const res = await this.transport.request({
      method: 'PATCH',
      url: location,
      headers: { 'content-type': 'application/octet-stream' },
      body: () => hashed(),
      retries: 1,
      scopes: this.scope(true),
      expect: [202],
      what: this.what('stream a blob to'),
    });
    await res.body.dump();
    const next = res.headers.location ? new URL(res.headers.location, res.url).toString() : location;
    const digest = `sha256:${hash.digest('hex')}`;
    await this.finishUpload(next, { digest }, undefined, 0);
    return { digest, size };
  }

  /** GET <location>: where an interrupted upload stands (Range: 0-<last byte>). */
  private async uploadStatus(location: string): Promise<{ location: string; offset: number }> {
    const res = await this.transport.request({ method: 'GET', url: location, scopes: this.scope(true), expect: [204], what: this.what('check an upload to') });
    await res.body.dump();
    const range = /^(?:bytes=)?0-(\d+)$/.exec(res.headers.range ?? '');
    return { location: res.headers.location ? new URL(res.headers.location, res.url).toString() : location, offset: range ? Number(range[1]) + 1 : 0 };
  }

  /** PUT a manifest by tag or digest, with its media type; the registry's digest must match ours. */
  async pushManifest(reference: string, bytes: Buffer, mediaType: string): Promise<Descriptor & { subjectAcknowledged?: boolean }> {
    const digest = sha256Digest(bytes);
    const res = await this.transport.request({
      method: 'PUT',
      url: `/v2/${this.name}/manifests/${reference}`,
      headers: { 'content-type': mediaType },
      body: bytes,
      scopes: this.scope(true),
      expect: [201, 200, 202],
      what: this.what(`push manifest ${reference} to`),
    });
    await res.body.dump();
    const theirs = res.headers['docker-content-digest'];
    if (theirs && theirs !== digest) throw new KitError('DIGEST_MISMATCH', `${this.registry} stored manifest ${reference} as ${theirs}, not ${digest}`);
    return { mediaType, digest, size: bytes.length, subjectAcknowledged: res.headers['oci-subject'] !== undefined };
  }

  async listTags(): Promise<string[]> {
    const tags: string[] = [];
    let url: string | undefined = `/v2/${this.name}/tags/list?n=1000`;
    while (url) {
      const res = await this.transport.request({ method: 'GET', url, scopes: this.scope(false), expect: [200], what: this.what('list tags of') });
      const page = JSON.parse(await readCapped(res.body, MAX_MANIFEST_BYTES, 'tag list')) as { tags?: string[] | null };
      tags.push(...(page.tags ?? []));
      const next = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.link ?? '')?.[1];
      url = next ? new URL(next, res.url).toString() : undefined;
    }
    return tags.sort();
  }

  /**
   * Manifests that refer to `digest` through `subject`: the referrers API, or, where the registry
   * has none (distribution 2.8.2), the `sha256-<hex>` tag schema.
   */
  async referrers(digest: string, artifactType?: string): Promise<Descriptor[]> {
    let index: ImageIndex | undefined;
    try {
      const res = await this.transport.request({
        method: 'GET',
        url: `/v2/${this.name}/referrers/${digest}${artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : ''}`,
        headers: { accept: OCI_INDEX_MEDIA_TYPE },
        scopes: this.scope(false),
        expect: [200],
        what: this.what(`list referrers of ${digest} in`),
      });
      if ((res.headers['content-type'] ?? '').startsWith(OCI_INDEX_MEDIA_TYPE)) {
        index = JSON.parse(await readCapped(res.body, MAX_MANIFEST_BYTES, 'referrers index'));
      } else {
        await res.body.dump();
      }
    } catch (e) {
      if (!(e instanceof RegistryError && e.status === 404)) throw e;
    }
    if (!index) {
      try {
        const { bytes } = await this.fetchManifest(referrersTag(digest));
        index = JSON.parse(bytes.toString('utf8'));
      } catch (e) {
        if (e instanceof RegistryError && e.status === 404) return [];
        throw e;
      }
    }
    const found = index?.manifests ?? [];
    return artifactType ? found.filter((d) => d.artifactType === artifactType) : found;
  }
}

/**
 * Attach a manifest that has a `subject` (an SBOM, a signature, provenance) to what it refers to:
 * push it by digest; if the registry does not acknowledge the subject (no OCI-Subject header, as
 * with distribution 2.8.2), maintain the `sha256-<hex>` referrers index tag ourselves.
 */
export async function pushReferrer(repository: RemoteRepository, bytes: Buffer, mediaType = OCI_MANIFEST_MEDIA_TYPE): Promise<Descriptor> {
  const manifest = JSON.parse(bytes.toString('utf8')) as { subject?: Descriptor; artifactType?: string; config?: Descriptor; annotations?: Record<string, string> };
  if (!manifest.subject) throw new KitError('INVALID_ARGUMENT', 'a referrer manifest needs a subject');
  const pushed = await repository.pushManifest(sha256Digest(bytes), bytes, mediaType);
  if (pushed.subjectAcknowledged) return pushed;
  const tag = referrersTag(manifest.subject.digest);
  let index: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX_MEDIA_TYPE, manifests: [] };
  try {
    const existing = await repository.fetchManifest(tag);
    index = JSON.parse(existing.bytes.toString('utf8')) as ImageIndex;
    if (index.mediaType !== OCI_INDEX_MEDIA_TYPE) throw new KitError('REGISTRY', `tag ${tag} in ${repository.registry}/${repository.name} is not a referrers index; refusing to overwrite it`);
  } catch (e) {
    if (!(e instanceof RegistryError && e.status === 404)) throw e;
  }
  if (!index.manifests.some((m) => m.digest === pushed.digest)) {
    index.manifests.push(referrerEntry({ mediaType, digest: pushed.digest, size: pushed.size }, manifest));
    await repository.pushManifest(tag, Buffer.from(JSON.stringify(index)), OCI_INDEX_MEDIA_TYPE);
  }
  return pushed;
}


/** A referrer's entry in its subject's referrers list: its descriptor with artifact type and annotations. */
export function referrerEntry(descriptor: Descriptor, manifest: { artifactType?: string; config?: Descriptor; annotations?: Record<string, string> }): Descriptor {
  const entry: Descriptor = { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size };
  const artifactType = manifest.artifactType ?? manifest.config?.mediaType;
  if (artifactType) entry.artifactType = artifactType;
  if (manifest.annotations && Object.keys(manifest.annotations).length > 0) entry.annotations = manifest.annotations;
  return entry;
}

/** The referrers fallback tag: `<alg>-<hex>`. */
export function referrersTag(digest: string): string {
  const [alg = '', hex = ''] = digest.split(':');
  return `${alg.slice(0, 32)}-${hex.slice(0, 64)}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
}

async function* limit(source: AsyncIterable<Buffer>, bytes: number): AsyncGenerator<Buffer> {
  let left = bytes;
  for await (const chunk of source) {
    if (left <= 0) return;
    const piece = chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= piece.length;
    yield piece;
    if (left <= 0) return;
  }
}
